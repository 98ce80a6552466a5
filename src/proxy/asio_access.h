// The one place portier reaches into Asio's details: a TCP socket's implementation (its state
// bits and its reactor registration), which basic_socket keeps protected. Used by the accept
// path (entrypoints/accept.cc: the state bits after accept4) and by the reactor hint
// (proxy/reactor_hint.cc). Written for Boost 1.81 (Debian 12's libboost1.81-dev): the
// static_assert stops a build against another Boost until the users are checked again
// (detail/socket_ops.hpp's state bits, detail/epoll_reactor.hpp's descriptor_state).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/version.hpp>

namespace portier::proxy {

static_assert(BOOST_VERSION / 100 == 1081,
              "check the users of proxy/asio_access.h against this Boost's Asio");

namespace asio_access_detail {
// A pointer to the protected member, taken in a derived class, is the lawful way to it.
struct SocketImpl : boost::asio::ip::tcp::socket {
  static auto& of(boost::asio::ip::tcp::socket& s) {
    constexpr auto impl = &SocketImpl::impl_;
    return (s.*impl).get_implementation();
  }
};
}  // namespace asio_access_detail

// The socket's reactive_socket_service implementation: state_ (socket_ops state bits),
// socket_ (the descriptor), reactor_data_ (the reactor's per-descriptor state).
inline auto& socket_impl(boost::asio::ip::tcp::socket& s) {
  return asio_access_detail::SocketImpl::of(s);
}

}  // namespace portier::proxy
