#include "proxy/reactor_hint.h"

#include <sys/socket.h>

#include <boost/asio/detail/reactor.hpp>
#include <boost/asio/error.hpp>
#include <cerrno>
#include <type_traits>

#include "proxy/asio_access.h"

namespace portier::proxy {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Reactor = asio::detail::epoll_reactor;

static_assert(std::is_same_v<asio::detail::reactor, Reactor>,
              "mark_drained is written for Asio's epoll reactor");

// The reactor's per-descriptor flags are private: their address is taken in an explicit
// instantiation, where the language does not check access ([temp.spec.general]).
struct SpeculativeFlags {
  using type = bool (Reactor::descriptor_state::*)[Reactor::max_ops];
  friend type member(SpeculativeFlags);
};
template <typename Tag, typename Tag::type M>
struct Expose {
  friend typename Tag::type member(Tag) { return M; }
};
template struct Expose<SpeculativeFlags, &Reactor::descriptor_state::try_speculative_>;

}  // namespace

void mark_drained(tcp::socket& socket) {
  Reactor::per_descriptor_data state = socket_impl(socket).reactor_data_;
  if (state == nullptr) return;  // not registered (closed)
  (state->*member(SpeculativeFlags{}))[Reactor::read_op] = false;
}

bool read_now(tcp::socket& socket, asio::mutable_buffer buf, std::size_t& n,
              boost::system::error_code& ec) {
  n = 0;
  ec.clear();
  auto& impl = socket_impl(socket);
  if (impl.socket_ == -1) {
    ec = asio::error::bad_descriptor;
    return true;
  }
  bool* flags = impl.reactor_data_ ? (impl.reactor_data_->*member(SpeculativeFlags{})) : nullptr;
  if (flags != nullptr && !flags[Reactor::read_op]) return false;  // no event since it was empty
  ssize_t got;
  do {
    got = ::recv(impl.socket_, buf.data(), buf.size(), MSG_DONTWAIT);
  } while (got < 0 && errno == EINTR);
  if (got < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (flags != nullptr) flags[Reactor::read_op] = false;
      return false;
    }
    ec.assign(errno, asio::error::get_system_category());
    return true;
  }
  if (got == 0) {
    ec = buf.size() == 0 ? boost::system::error_code() : asio::error::eof;
    return true;
  }
  n = static_cast<std::size_t>(got);
  if (n < buf.size() && flags != nullptr) flags[Reactor::read_op] = false;  // emptied it
  return true;
}

void read_done(tcp::socket& socket, std::size_t n, std::size_t room) {
  if (n < room) mark_drained(socket);
}

}  // namespace portier::proxy
