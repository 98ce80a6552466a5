#include "proxy/reactor_hint.h"

#include <boost/asio/detail/reactor.hpp>
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

}  // namespace portier::proxy
