#include "tcp/serve.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <tuple>

#include "common/log.h"
#include "proxy/connect.h"
#include "proxy/reactor_hint.h"
#include "proxy/send_now.h"
#include "tcp/client_hello.h"
#include "tcp/proxy_header.h"

namespace portier::tcp {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
using boost::system::error_code;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

void cancel_client(void* p) {
  error_code ec;
  static_cast<proxy::ClientStream*>(p)->cancel(ec);
}

void cancel_tcp(void* p) {
  error_code ec;
  static_cast<tcp::socket*>(p)->cancel(ec);
}

// One more read into the buffer (the caller's deadline bounds it); false on error, timeout or a full buffer.
asio::awaitable<bool> read_more(Connection& c) {
  if (c.buffer.full()) co_return false;
  if (c.idle) *c.idle = c.buffer.empty();
  auto [ec, n] = co_await c.client.async_read_some(c.buffer.prepare(), kNoThrow);
  if (c.idle) *c.idle = false;
  if (ec) co_return false;
  c.buffer.commit(n);
  co_return true;
}

// entryPoints.<ep>.proxyProtocol: the header, if any, is read and dropped; its source becomes the
// peer. A header from a peer outside trustedIPs closes the connection (go-proxyproto's REJECT).
asio::awaitable<bool> read_proxy_header(Connection& c) {
  for (;;) {
    ProxyHeader h;
    ProxyStatus st = c.buffer.empty() ? ProxyStatus::Partial
                                      : parse_proxy_header(c.buffer.readable(), h);
    if (st == ProxyStatus::None) co_return true;
    if (st == ProxyStatus::Invalid) {
      log::debug("malformed PROXY protocol header",
                 {{"entrypoint", std::string(c.entrypoint)}, {"client", c.peer.address().to_string()}});
      co_return false;
    }
    if (st == ProxyStatus::Ok) {
      const bool trusted =
          c.proxy_insecure || (c.proxy_trusted && *c.proxy_trusted &&
                               (*c.proxy_trusted)->contains(c.peer.address()));
      if (!trusted) {
        log::debug("PROXY protocol header from an untrusted peer: connection refused",
                   {{"entrypoint", std::string(c.entrypoint)},
                    {"client", c.peer.address().to_string()}});
        co_return false;
      }
      c.buffer.consume(h.size);
      if (!h.local) c.peer = h.source;
      co_return true;
    }
    if (!co_await read_more(c)) co_return false;
  }
}

// A TCP middleware chain: ipAllowList refuses, inFlightConn counts until the connection ends.
class Admission {
 public:
  Admission(const Route& r, const std::string& ip) : ip_(ip) {
    for (const Middleware* m : r.middlewares) {
      if (m->allow && !m->allow->contains(ip)) {
        ok_ = false;
        return;
      }
      if (m->in_flight) {
        if (!m->in_flight->acquire(ip, m->amount)) {
          ok_ = false;
          return;
        }
        held_.push_back(m->in_flight.get());
      }
    }
  }
  ~Admission() {
    for (InFlight* f : held_) f->release(ip_);
  }
  Admission(const Admission&) = delete;
  Admission& operator=(const Admission&) = delete;
  bool ok() const { return ok_; }

 private:
  std::string ip_;
  std::vector<InFlight*> held_;
  bool ok_ = true;
};

asio::awaitable<bool> dial(Connection& c, const Service& service, tcp::socket& up) {
  std::vector<const Server*> order;
  service.order(order);
  auto ex = co_await asio::this_coro::executor;
  for (const Server* s : order) {
    error_code ec;
    proxy::Deadline dl(c.wheel, cancel_tcp, &up);
    dl.arm(service.dial_timeout);
    if (s->endpoint) {
      ec = co_await proxy::connect(up, *s->endpoint);  // TCP_NODELAY set (proxy/connect.h)
    } else {
      tcp::resolver resolver(ex);
      auto [rec, results] = co_await resolver.async_resolve(s->host, s->port, kNoThrow);
      ec = rec ? rec : asio::error::host_not_found;
      // Each address in turn, as asio::async_connect would try them.
      for (const auto& entry : results) {
        ec = co_await proxy::connect(up, entry.endpoint());
        if (!ec || ec == asio::error::operation_aborted) break;
      }
    }
    if (!ec) co_return true;
    log::debug("tcp server unreachable, trying the next one",
               {{"service", service.name}, {"server", s->address}, {"error", ec.message()}});
  }
  co_return false;
}

// Both directions until each has ended; an end half-closes the other side, which then has the
// service's terminationDelay to finish (Traefik's). One idle deadline covers both directions.
// At-once reads and writes for pipe's two directions: the client (plain or TLS) and the server.
bool write_now(proxy::ClientStream& s, asio::const_buffer& b, error_code& ec) {
  return s.write_now({&b, 1}, ec);
}
bool write_now(tcp::socket& s, asio::const_buffer& b, error_code& ec) {
  return proxy::send_now(&s, b, ec);
}
bool read_now(proxy::ClientStream& s, asio::mutable_buffer b, std::size_t& n, error_code& ec) {
  return s.read_now(b, n, ec);
}
bool read_now(tcp::socket& s, asio::mutable_buffer b, std::size_t& n, error_code& ec) {
  return proxy::read_now(s, b, n, ec);
}
void read_done(proxy::ClientStream& s, std::size_t n, std::size_t room) { s.read_done(n, room); }
void read_done(tcp::socket& s, std::size_t n, std::size_t room) { proxy::read_done(s, n, room); }

asio::awaitable<void> pipe(Connection& c, tcp::socket& up, const Service& service) {
  struct Ctx {
    proxy::ClientStream* a;
    tcp::socket* b;
  } ctx{&c.client, &up};
  proxy::Deadline idle(
      c.wheel,
      [](void* p) {
        auto* x = static_cast<Ctx*>(p);
        error_code ec;
        x->a->cancel(ec);
        x->b->cancel(ec);
      },
      &ctx);
  idle.arm(c.idle_timeout);
  bool one_done = false;
  auto rearm = [&] {
    if (one_done && service.termination_delay.count() >= 0) {
      idle.arm(service.termination_delay.count() == 0 ? std::chrono::milliseconds(1)
                                                       : service.termination_delay);
    } else {
      idle.arm(c.idle_timeout);
    }
  };
  proxy::Buffer back(16 * 1024);
  // Written and read at once when they can be (proxy/send_now.h, proxy/reactor_hint.h,
  // proxy/tls_socket.h: no trip through the worker's queue, no recv that fails because the
  // last one emptied the socket); what cannot be done at once waits in Asio as before.
  // Writes to one socket that had to wait (the other pump's), for read_done's condition: a
  // read that completed while none was queued on its socket completed in the turn of its
  // event, so a short one may mark the socket drained (proxy/reactor_hint.h).
  struct Writes {
    unsigned waited = 0;
    bool waiting = false;
  };
  Writes to_client, to_server;
  auto pump = [&](auto& src, Writes& src_writes, proxy::Buffer& buf, auto& dst,
                  Writes& dst_writes) -> asio::awaitable<void> {
    for (;;) {
      if (!buf.empty()) {
        asio::const_buffer out = asio::buffer(buf.readable());
        error_code ec;
        if (!write_now(dst, out, ec)) {
          dst_writes.waiting = true;
          ++dst_writes.waited;
          std::tie(ec, std::ignore) = co_await asio::async_write(dst, out, kNoThrow);
          dst_writes.waiting = false;
        }
        if (ec) break;
        buf.clear();
      }
      error_code ec;
      std::size_t n = 0;
      const asio::mutable_buffer room = buf.prepare();
      if (!read_now(src, room, n, ec)) {
        const bool quiet = !src_writes.waiting;
        const unsigned waited = src_writes.waited;
        std::tie(ec, n) = co_await src.async_read_some(room, kNoThrow);
        if (!ec && quiet && waited == src_writes.waited) read_done(src, n, room.size());
      }
      if (ec) break;
      buf.commit(n);
      if (!one_done) rearm();
    }
    // The first direction to end half-closes the other side. The second needs no shutdown:
    // both sockets are closed right after pipe() (take(), then the session), and close()
    // sends the FIN, one system call less per connection.
    if (!one_done) {
      error_code ec;
      dst.shutdown(tcp::socket::shutdown_send, ec);
      one_done = true;
      rearm();
    }
  };
  co_await (pump(c.client, to_client, c.buffer, up, to_server) &&
            pump(up, to_server, back, c.client, to_client));
}

asio::awaitable<Next> take(Connection& c, const Route& route, std::string_view sni) {
  const std::string ip = c.peer.address().to_string();
  Admission admission(route, ip);
  if (!admission.ok()) {
    log::debug("tcp connection refused by a middleware",
               {{"entrypoint", std::string(c.entrypoint)}, {"router", route.name}, {"client", ip}});
    co_return Next::Done;
  }
  if (route.tls == TlsMode::Terminate) {
    if (c.tls_context == nullptr || c.store == nullptr) co_return Next::Done;
    // The router's own tls.options, as Traefik's TLSHandler; a name the store does not hold
    // (its options failed there) closes the connection rather than serve weaker defaults.
    const tls::CompiledOptions* options = c.store->options_named(route.tls_options);
    if (options == nullptr) {
      log::debug("tcp router's tls.options are not in the certificate store",
                 {{"router", route.name}, {"options", route.tls_options}});
      co_return Next::Done;
    }
    auto& tls_stream = c.client.start_tls(c.tls_context->native());
    tls::ServerContext::attach(tls_stream.native_handle(), c.store, options);
    proxy::Deadline dl(c.wheel, cancel_client, &c.client);
    dl.arm(c.first_bytes_timeout);
    auto [ec, used] = co_await tls_stream.async_handshake(
        asio::ssl::stream_base::server, asio::buffer(c.buffer.readable()), kNoThrow);
    dl.disarm();
    tls::ServerContext::attach(tls_stream.native_handle(), nullptr);
    c.buffer.clear();
    if (ec) {
      log::debug("tls handshake failed", {{"entrypoint", std::string(c.entrypoint)},
                                          {"router", route.name}, {"client", ip},
                                          {"error", ec.message()}});
      co_return Next::Done;
    }
  }
  tcp::socket up(co_await asio::this_coro::executor);
  if (!co_await dial(c, *route.service, up)) {
    log::debug("no tcp server reachable", {{"router", route.name},
                                          {"service", route.service->name}});
    co_return Next::Done;
  }
  if (c.upstream) *c.upstream = &up;
  if (route.service->proxy_protocol != 0) {
    error_code ec;
    tcp::endpoint local = c.client.socket().local_endpoint(ec);
    std::string header = make_proxy_header(route.service->proxy_protocol, c.peer, local);
    auto [wec, n] = co_await asio::async_write(up, asio::buffer(header), kNoThrow);
    if (wec) {
      if (c.upstream) *c.upstream = nullptr;
      co_return Next::Done;
    }
  }
  log::debug("tcp connection routed", {{"entrypoint", std::string(c.entrypoint)},
                                       {"router", route.name}, {"client", ip},
                                       {"sni", std::string(sni)}});
  co_await pipe(c, up, *route.service);
  if (c.upstream) *c.upstream = nullptr;
  error_code ec;
  up.close(ec);
  co_return Next::Done;
}

const Route* first_match(const std::vector<const Route*>& routes, const ConnInfo& info) {
  for (const Route* r : routes) {
    if (r->rule.matches(info)) return r;
  }
  return nullptr;
}

}  // namespace

asio::awaitable<Next> serve(Connection& c) {
  proxy::Deadline dl(c.wheel, cancel_client, &c.client);
  dl.arm(c.first_bytes_timeout);
  const EntryPointRoutes* routes = c.routes;
  // Only plain TCP routers (and no HTTPS ones): the client may be waiting for the server to
  // speak first (SMTP, MySQL, SSH banners), so nothing is read before matching.
  const bool server_first = routes != nullptr && !routes->plain.empty() && routes->tls.empty() &&
                            !routes->https_any();
  // From a trusted peer the header comes first; from another one, a header is refused, which
  // needs a read, except where the client may wait for the server: then a TCP router that takes
  // the connection without reading gets a header an untrusted peer sends as data.
  bool proxy_pending = c.proxy_enabled;
  if (proxy_pending) {
    const bool trusted = c.proxy_insecure || (c.proxy_trusted && *c.proxy_trusted &&
                                              (*c.proxy_trusted)->contains(c.peer.address()));
    if (trusted || !server_first) {
      proxy_pending = false;
      const bool ok = co_await read_proxy_header(c);  // (GCC 12: no co_await inside &&)
      if (!ok) co_return Next::Done;
    }
  }
  if (routes == nullptr) co_return Next::Http;
  ConnInfo info{{}, {}, c.peer.address()};
  if (server_first) {
    if (const Route* r = first_match(routes->plain, info)) {
      dl.disarm();
      co_return co_await take(c, *r, {});
    }
  }
  if (proxy_pending) {
    const bool ok = co_await read_proxy_header(c);
    if (!ok) co_return Next::Done;
  }
  ClientHello hello;
  HelloStatus st = HelloStatus::Partial;
  for (;;) {
    if (!c.buffer.empty()) st = parse_client_hello(c.buffer.readable(), hello);
    if (st != HelloStatus::Partial) break;
    if (!co_await read_more(c)) co_return Next::Done;
  }
  dl.disarm();
  if (st == HelloStatus::Invalid) co_return Next::Http;  // the TLS handshake will say why
  if (st == HelloStatus::NotTls) {
    if (const Route* r = first_match(routes->plain, info)) co_return co_await take(c, *r, {});
    co_return Next::Http;
  }
  if (std::find(hello.alpn.begin(), hello.alpn.end(), "acme-tls/1") != hello.alpn.end()) {
    co_return Next::Http;
  }
  info.sni = hello.sni;
  info.alpn = hello.alpn;
  // Traefik's order: an HTTPS router naming this host, a TCP router that is not the catch-all,
  // the HTTPS catch-all, the TCP catch-all, then the HTTPS side's 404.
  if (routes->https_host(hello.sni)) co_return Next::Http;
  const Route* r = first_match(routes->tls, info);
  if (r != nullptr && !r->rule.catch_all()) co_return co_await take(c, *r, hello.sni);
  if (routes->https_catch_all) co_return Next::Http;
  if (r != nullptr) co_return co_await take(c, *r, hello.sni);
  co_return Next::Http;
}

}  // namespace portier::tcp
