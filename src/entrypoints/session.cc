#include "entrypoints/session.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstring>
#include <memory>
#include <tuple>
#include <utility>

#include "common/ip_text.h"
#include "common/log.h"
#include "common/record_pool.h"
#include "entrypoints/body_reader.h"
#include "entrypoints/h2_connection.h"
#include "entrypoints/prelude.h"
#include "entrypoints/request_end.h"
#include "entrypoints/worker.h"
#include "proxy/buffer.h"
#include "proxy/forwarder.h"
#include "proxy/http/message.h"
#include "proxy/http/parser.h"
#include "proxy/routing_table.h"
#include "rules/rule.h"
#include "tcp/client_hello.h"
#include "tls/context.h"

namespace portier::entrypoints {

using namespace std::string_view_literals;
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// After an error response the client may still be sending (a huge head, a body we refused).
// Closing with unread bytes makes the kernel send RST, which can destroy the response before the
// client reads it. So: half-close, then read and drop for a bounded time and amount (nginx's
// lingering close), then close.
asio::awaitable<void> linger_close(proxy::ClientStream& socket, proxy::Deadline& deadline,
                                   proxy::Buffer& buffer) {
  boost::system::error_code ec;
  socket.shutdown(tcp::socket::shutdown_send, ec);
  deadline.arm(std::chrono::seconds(2));
  std::size_t dropped = 0;
  while (dropped < 1024 * 1024) {
    buffer.clear();
    auto [rec, n] = co_await socket.async_read_some(buffer.prepare(), kNoThrow);
    if (rec) break;
    dropped += n;
  }
  deadline.disarm();
}

// A request that ended with an exception: logged at error level (it is a bug, or memory ran
// out); the client gets a 500 when no answer to the request has begun (`may_answer`), and the
// connection closes, since what was left half-read or half-written is unknown.
asio::awaitable<void> answer_failure(Worker& worker, const EntryPointSpec& ep,
                                     proxy::ClientStream& socket, std::string& scratch,
                                     proxy::Deadline& deadline, proxy::Buffer& buffer,
                                     std::exception_ptr failure, const std::string& peer_ip,
                                     bool may_answer, bool head_request, bool one_request) {
  log::error("request failed: internal error", {{"entrypoint", ep.name},
                                                {"client", peer_ip},
                                                {"error", log::describe(failure)},
                                                {"answered", may_answer ? "500" : "no"}});
  deadline.disarm();
  if (!may_answer) co_return;
  std::string().swap(scratch);  // memory may be short: the answer needs little
  co_await proxy::respond_status(worker.state(), socket, scratch, 500, true,
                                 ep.config.responding_timeouts.write_timeout, {}, {}, head_request);
  if (!one_request) co_await linger_close(socket, deadline, buffer);
}

// Registers the session with its worker for the session's lifetime.
struct Registration {
  Worker& w;
  SessionHandle& h;
  Registration(Worker& worker, SessionHandle& handle) : w(worker), h(handle) { w.add(h); }
  ~Registration() { w.remove(h); }
};

constexpr std::string_view kChallengePrefix = "/.well-known/acme-challenge/";

// http.underscoreHeadersStrategy, applied before anything reads the fields, so that rules,
// middlewares and servers all see the same set.
http::Error screen_fields(const EntryPointSpec& ep, http::RequestHead& head,
                          const std::string& peer_ip) {
  switch (ep.config.http.underscore_headers) {
    case config::UnderscoreHeaders::Keep:
      return http::Error::None;
    case config::UnderscoreHeaders::Reject:
      return http::has_underscore_field(head.fields) ? http::Error::UnderscoreField
                                                     : http::Error::None;
    case config::UnderscoreHeaders::Delete:
      if (std::size_t n = http::remove_underscore_fields(head.fields); n > 0) {
        log::debug("request fields with '_' in the name dropped",
                   {{"entrypoint", ep.name}, {"client", peer_ip}, {"count", std::to_string(n)}});
      }
      return http::Error::None;
  }
  return http::Error::None;
}

// "OPTIONS *" asks about the server, not a resource: answered here as Go's net/http (and so
// Traefik) answers it, 200 with no body, and never forwarded.
asio::awaitable<proxy::Outcome> answer_options(Worker& worker, proxy::ClientStream& stream,
                                               std::string& scratch, bool close,
                                               std::chrono::milliseconds timeout) {
  scratch = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n";
  scratch += close ? "Connection: close\r\n\r\n" : "\r\n";
  proxy::Deadline dl(worker.state().wheel(), proxy::cancel_client, &stream);
  dl.arm(timeout);
  auto [ec, n] = co_await asio::async_write(stream, asio::buffer(scratch), kNoThrow);
  co_return ec || close ? proxy::Outcome::Close : proxy::Outcome::KeepAlive;
}

// The answer to an HTTP-01 challenge: the key authorization, byte for byte (no newline).
asio::awaitable<proxy::Outcome> answer_challenge(Worker& worker, proxy::ClientStream& stream,
                                                 std::string& scratch, std::string_view token,
                                                 bool close, std::chrono::milliseconds timeout,
                                                 bool head_request) {
  auto key_auth = worker.tls().tokens->find(token);
  if (!key_auth) {
    co_return co_await proxy::respond_status(worker.state(), stream, scratch, 404, close, timeout,
                                             "404 page not found", {}, head_request);
  }
  scratch = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ";
  scratch += std::to_string(key_auth->size());
  scratch += close ? "\r\nConnection: close\r\n\r\n" : "\r\n\r\n";
  if (!head_request) scratch += *key_auth;
  proxy::Deadline dl(worker.state().wheel(), proxy::cancel_client, &stream);
  dl.arm(timeout);
  auto [ec, n] = co_await asio::async_write(stream, asio::buffer(scratch), kNoThrow);
  co_return ec || close ? proxy::Outcome::Close : proxy::Outcome::KeepAlive;
}

// On-demand certificates (tls/on_demand.h): a ClientHello naming a host that no certificate
// covers may wait, up to the resolver's bound, while its certificate is ordered. The coroutine
// polls the published store (and whether the name is still wanted) every 25 ms on a timer, so
// the worker keeps serving everyone else; the ClientHello stays in `buffer` for the handshake.
asio::awaitable<void> await_on_demand(Worker& worker, const EntryPointSpec& ep,
                                      proxy::ClientStream& stream, proxy::Buffer& buffer,
                                      proxy::Deadline& deadline) {
  portier::tcp::ClientHello hello;
  auto st = portier::tcp::parse_client_hello(buffer.readable(), hello);
  deadline.arm(ep.config.responding_timeouts.read_header_timeout);
  while (st == portier::tcp::HelloStatus::Partial && !buffer.full()) {
    auto [ec, n] = co_await stream.async_read_some(buffer.prepare(), kNoThrow);
    if (ec) break;
    buffer.commit(n);
    st = portier::tcp::parse_client_hello(buffer.readable(), hello);
  }
  deadline.disarm();
  if (st != portier::tcp::HelloStatus::Tls || hello.sni.empty()) co_return;
  auto covered = [&] {
    TableLease t = worker.acquire_table();
    return t->tls_store() == nullptr || t->tls_store()->find(hello.sni) != nullptr;
  };
  if (covered() || !worker.tls().on_demand->want(hello.sni)) co_return;
  const auto until = std::chrono::steady_clock::now() + worker.tls().on_demand->wait();
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (std::chrono::steady_clock::now() < until && stream.socket().is_open()) {
    timer.expires_after(std::chrono::milliseconds(25));
    co_await timer.async_wait(kNoThrow);
    // Stop at once when the name is refused (ask, rate limit) rather than at the bound.
    if (covered() || !worker.tls().on_demand->want(hello.sni)) co_return;
  }
}

// A TLS handshake over the bytes already read (the ClientHello's start) and the rest. The
// store comes from the current table and is held only for the handshake.
asio::awaitable<bool> handshake(Worker& worker, const EntryPointSpec& ep,
                                proxy::ClientStream& stream, proxy::Buffer& buffer,
                                proxy::Deadline& deadline, const std::string& peer_ip) {
  if (worker.tls().on_demand != nullptr) {
    co_await await_on_demand(worker, ep, stream, buffer, deadline);
  }
  TableLease table = worker.acquire_table();
  const tls::Store* store = table->tls_store();
  if (store == nullptr) co_return false;
  auto& tls_stream = stream.start_tls(worker.tls().context->native());
  tls::ServerContext::attach(tls_stream.native_handle(), store);
  deadline.arm(ep.config.responding_timeouts.read_header_timeout);
  auto [ec, used] = co_await tls_stream.async_handshake(asio::ssl::stream_base::server,
                                                        asio::buffer(buffer.readable()), kNoThrow);
  deadline.disarm();
  tls::ServerContext::attach(tls_stream.native_handle(), nullptr);
  buffer.clear();  // no application data can precede the end of the handshake (no 0-RTT)
  if (ec) {
    log::debug("tls handshake failed",
               {{"entrypoint", ep.name}, {"client", peer_ip}, {"error", ec.message()}});
    co_return false;
  }
  if (tls::ServerContext::is_acme_tls(tls_stream.native_handle())) {
    // A TLS-ALPN-01 validation: the handshake was the answer; nothing follows (RFC 8737 §3).
    log::debug("acme-tls/1 challenge answered", {{"entrypoint", ep.name}, {"client", peer_ip}});
    co_return false;
  }
  co_return true;
}

// Did the TLS handshake choose HTTP/2?
bool alpn_h2(proxy::ClientStream& socket) {
  if (!socket.is_tls()) return false;
  const unsigned char* p = nullptr;
  unsigned int n = 0;
  SSL_get0_alpn_selected(socket.tls().native_handle(), &p, &n);
  return n == 2 && p[0] == 'h' && p[1] == '2';
}

}  // namespace

asio::awaitable<Ended> serve_requests(Worker& worker, const EntryPointSpec& ep,
                                     proxy::ClientStream& socket, proxy::Buffer& buffer,
                                     SessionHandle& handle, const Peer& peer_info,
                                     RequestScratch& rs, bool one_request, bool resumed) {
  const tcp::endpoint& peer = peer_info.endpoint;
  const std::string& peer_ip = peer_info.ip;
  const bool trusted = peer_info.trusted;
  const auto& timeouts = ep.config.responding_timeouts;
  std::string& scratch = rs.scratch;
  if (scratch.capacity() < 1024) scratch.reserve(1024);
  proxy::Deadline deadline(worker.state().wheel(), proxy::cancel_client, &socket);
  http::RequestHead& head = rs.head;
  http::RequestInfo& info = rs.info;
  std::string& decoded_path = rs.decoded_path;
  std::string& path_buf = rs.path_buf;
  std::string& target_buf = rs.target_buf;
  std::string& send_target_buf = rs.send_target_buf;
  proxy::Stream& stream = rs.stream;
  RequestCapture& capture = rs.capture;
  char host_buf[256];
  bool peer_gone = false;  // the client closed or failed: no TLS close_notify to send
  const bool tls = socket.is_tls();
  // The name the client asked for in its handshake (lower case), for the Host check below.
  std::string sni;
  if (tls) {
    if (const char* n =
            SSL_get_servername(socket.tls().native_handle(), TLSEXT_NAMETYPE_host_name)) {
      sni = n;
      for (char& c : sni) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (!sni.empty() && sni.back() == '.') sni.pop_back();
    }
  }

  bool first_request = !resumed;
  // Only a connection's first bytes may be the HTTP/2 preface.
  bool h2c_possible = !tls && !one_request && !resumed && ep.config.http2.h2c;
  // An exception from any part of a request (none is expected: each one found became an
  // error code) is logged and ends the connection, with a 500 when no answer has begun.
  std::exception_ptr failure;
  bool head_request_now = false;  // the request in the works is a HEAD: a 500 gets no body
  try {
    for (;;) {
      head_request_now = false;
      // A request head, within readHeaderTimeout once its first byte is in; idleTimeout before,
      // between keep-alive requests. A new connection gets no idle time: readHeaderTimeout runs
      // from the accept (as Go's server, and so Traefik, start the read deadline there), so
      // connections that never send a byte cannot sit for the whole idleTimeout.
      handle.idle = buffer.empty();
      if (handle.idle && worker.draining() && !one_request) break;
      bool idle_wait = handle.idle && !first_request;  // the clock restarts at the first byte
      if (resumed && idle_wait) {
        deadline.arm_until(handle.idle_until);  // the idle time spent parked counts
      } else {
        deadline.arm(idle_wait ? timeouts.idle_timeout : timeouts.read_header_timeout);
      }
      resumed = false;
      first_request = false;
      http::ParseResult pr;
      bool read_failed = false;
      for (;;) {
        if (h2c_possible && !buffer.empty()) {
          // HTTP/2 with prior knowledge (h2c): the connection preface instead of a request.
          const std::string_view got = buffer.readable();
          const std::size_t k = std::min(got.size(), kH2Preface.size());
          if (got.substr(0, k) != kH2Preface.substr(0, k)) {
            h2c_possible = false;
          } else if (k == kH2Preface.size()) {
            deadline.disarm();
            co_return Ended::H2Preface;
          }
        }
        if (!buffer.empty() && !h2c_possible) {
          pr = http::parse_request_head(buffer.readable(), ep.limits, head);
          if (pr.status != http::ParseStatus::Partial) break;
          if (buffer.full() && !buffer.grow()) {  // a growing buffer (HTTP/2 streams) grows
            pr = {http::ParseStatus::Failed, http::Error::HeadTooLarge, 0};
            break;
          }
        }
        boost::system::error_code rec;
        std::size_t n = 0;
        // Read as nginx does (proxy/reactor_hint.h): no failed recv before the client sent
        // again, and no trip through the worker's queue for bytes that are there.
        const asio::mutable_buffer room = buffer.prepare();
        if (!socket.read_now(room, n, rec)) {
          // Between requests, a keep-alive connection that waits through a whole tick of the
          // worker has its read cancelled (SessionHandle::waiting); the connection is then parked:
          // its coroutines end and its buffers go back (run_session's park()).
          handle.waiting =
              handle.idle && handle.may_park && buffer.empty() && socket.can_wait_idle();
          std::tie(rec, n) = co_await socket.async_read_some(room, kNoThrow);
          handle.waiting = false;
          handle.waiting_ticks = 0;
          const bool release = std::exchange(handle.release, false);
          if (release && rec == asio::error::operation_aborted && !deadline.expired() &&
              !worker.draining()) {
            handle.idle_until = deadline.expiry();
            deadline.disarm();
            co_return Ended::Parked;
          }
          if (!rec) socket.read_done(n, room.size());
        }
        if (rec) {
          if (deadline.expired() && !handle.idle) {
            log::debug("request head timeout", {{"entrypoint", ep.name}, {"client", peer_ip}});
          }
          // A TLS client that ended with close_notify (eof) still reads ours; one that just
          // dropped the connection (or a plain one) gets none.
          peer_gone = !deadline.expired() && !(tls && rec == asio::error::eof);
          read_failed = true;
          break;
        }
        if (handle.idle) {
          handle.idle = false;
          if (idle_wait) deadline.arm(timeouts.read_header_timeout);  // from the first byte
        }
        buffer.commit(n);
      }
      deadline.disarm();
      handle.idle = false;
      if (read_failed) break;

      http::Error err =
          pr.status == http::ParseStatus::Failed ? pr.error : screen_fields(ep, head, peer_ip);
      if (err == http::Error::None) err = http::analyze_request(head, info);
      // What rules look at and what is forwarded: the path normalized (http/path.h: escapes of
      // unreserved characters decoded, refused escapes a 400, dot segments removed), the query as
      // sent. The common path needs none of it and is only scanned.
      std::string_view target = info.target;
      std::string_view raw_path = target.substr(0, target.find('?'));
      std::string_view path = raw_path;
      bool normalized = false;
      if (err == http::Error::None && !info.asterisk) {
        http::PathResult np = http::normalize_path(raw_path, ep.path_policy, path_buf);
        err = np.error;
        normalized = np.path.data() != raw_path.data();
        if (normalized && err == http::Error::None) {
          target_buf.assign(np.path).append(target.substr(raw_path.size()));
          target = target_buf;
          raw_path = target.substr(0, np.path.size());
          path = raw_path;
        }
      }
      if (err != http::Error::None) {
        log::debug("bad request",
                   {{"entrypoint", ep.name}, {"client", peer_ip}, {"error", http::describe(err)}});
        co_await proxy::respond_status(worker.state(), socket, scratch, http::status_for(err), true,
                                       timeouts.write_timeout, http::describe(err));
        if (!one_request) co_await linger_close(socket, deadline, buffer);
        break;
      }
      buffer.consume(pr.head_size);  // the head's views stay valid: consume moves no bytes
      if (info.asterisk) {
        bool close =
            info.framing.kind != http::BodyKind::None || !info.persistent || worker.draining();
        auto o = co_await answer_options(worker, socket, scratch, close, timeouts.write_timeout);
        if (o == proxy::Outcome::Close) break;
        continue;
      }
      std::string_view query =
          raw_path.size() < target.size() ? target.substr(raw_path.size() + 1) : std::string_view();
      if (normalized && raw_path.find('%') != std::string_view::npos) {
        // Only escapes of reserved and non-ASCII bytes are left, all well-formed.
        decoded_path.resize(raw_path.size());
        std::size_t n = rules::percent_decode(raw_path, decoded_path.data());
        if (n != std::string_view::npos) path = std::string_view(decoded_path.data(), n);
      }
      // The protocol-neutral view of the request, for the route's filters, the forwarder, and the
      // metrics and access log when it ends (report()).
      stream.reset();
      head_request_now = head.method == "HEAD";
      stream.record.start = std::chrono::steady_clock::now();
      capture_request(worker, head, tls ? socket.tls().native_handle() : nullptr, trusted, capture);
      capture.http2 = socket.is_stream();
      stream.response_copies = capture.response_copies();
      stream.time_upstream = capture.log;
      auto report = [&] { report_request(worker, ep, stream, capture, peer); };
      // A status answered here, before any middleware: what report() will say of it.
      auto answered = [&](int status, std::size_t body_bytes) {
        stream.record.status = status;
        stream.record.response_body_bytes = head.method == "HEAD" ? 0 : body_bytes;
      };
      // ACME HTTP-01 challenges come first, on every plain-HTTP entrypoint: before any router and
      // any redirect (Let's Encrypt follows redirects, but only to ports 80 and 443).
      if (!tls && worker.tls().tokens != nullptr && raw_path.starts_with(kChallengePrefix)) {
        bool close =
            info.framing.kind != http::BodyKind::None || !info.persistent || worker.draining();
        auto o = co_await answer_challenge(worker, socket, scratch,
                                           raw_path.substr(kChallengePrefix.size()), close,
                                           timeouts.write_timeout, head.method == "HEAD");
        if (o == proxy::Outcome::Close) break;
        continue;
      }
      const std::size_t host_len = proxy::normalize_host(info.host, host_buf);
      const rules::Request match_req{
          std::string_view(host_buf, host_len),
          head.method,
          path,
          query,
          std::span<const HeaderView>(head.fields.begin(), head.fields.count),
          peer.address()};
      // The scheme the client used: ours, or a trusted proxy's X-Forwarded-Proto.
      std::string_view scheme = tls ? "https" : "http";
      if (const auto* xfp = head.fields.find("x-forwarded-proto");
          !tls && trusted && xfp != nullptr && http::iequals(xfp->value, "https")) {
        scheme = "https";
      }
      TableLease table = worker.acquire_table();
      // No SNI means the default options; a Host that needs others (clientAuth, say) gets 421 too.
      if (tls && match_req.host != sni && table->tls_store() != nullptr &&
          &table->tls_store()->options_for(match_req.host) !=
              &table->tls_store()->options_for(sni)) {
        // The handshake was made under other TLS options than this Host's (say, a sniStrict or
        // TLS 1.3-only name reached through a laxer one): Traefik's answer, 421.
        bool close =
            info.framing.kind != http::BodyKind::None || !info.persistent || worker.draining();
        answered(421, sizeof "Misdirected Request");
        auto o = co_await proxy::respond_status(worker.state(), socket, scratch, 421, close,
                                                timeouts.write_timeout, "Misdirected Request", {},
                                                head.method == "HEAD");
        report();
        if (o == proxy::Outcome::Close) break;
        continue;
      }
      const proxy::EntryPointRoutes* routes = table->entrypoint(ep.index, tls);
      const proxy::Route* route = routes ? routes->match(match_req) : nullptr;
      std::string location;
      if (route != nullptr && route->entrypoint_redirect && !info.host.empty()) {
        location = proxy::redirect_location(*route->entrypoint_redirect, scheme, info.host, target);
        // Already on the target scheme (behind a TLS-terminating proxy): route normally.
        if (location.empty()) route = routes->match(match_req, true);
      }
      const bool body_unread_close =
          info.framing.kind != http::BodyKind::None || !info.persistent || worker.draining();
      if (route == nullptr || (route->service == nullptr && location.empty())) {
        // Traefik's answer. A body we will not read means the connection cannot be reused.
        answered(404, sizeof "404 page not found");
        auto o = co_await proxy::respond_status(worker.state(), socket, scratch, 404,
                                                body_unread_close, timeouts.write_timeout,
                                                "404 page not found", {}, head.method == "HEAD");
        report();
        if (o == proxy::Outcome::Close) break;
        continue;
      }
      if (tls && !route->tls_options.empty() && table->tls_store() != nullptr &&
          route->tls_options != table->tls_store()->options_for(sni).name) {
        // The router asks for TLS options this handshake was not made under (Traefik's snicheck).
        answered(421, sizeof "Misdirected Request");
        auto o = co_await proxy::respond_status(worker.state(), socket, scratch, 421,
                                                body_unread_close, timeouts.write_timeout,
                                                "Misdirected Request", {}, head.method == "HEAD");
        report();
        if (o == proxy::Outcome::Close) break;
        continue;
      }
      if (!location.empty()) {
        // Entrypoint redirects are answered here, before any middleware and any server.
        location = "Location: " + location + "\r\n";
        int status = proxy::redirect_status(*route->entrypoint_redirect, head.method);
        stream.record.route = route;
        answered(status, http::reason_phrase(status).size() + 1);
        auto o = co_await proxy::respond_status(worker.state(), socket, scratch, status,
                                                body_unread_close, timeouts.write_timeout, {},
                                                location, head.method == "HEAD");
        report();
        if (o == proxy::Outcome::Close) break;
        continue;
      }
      // The protocol-neutral view of the request, for the route's filters and the forwarder.
      stream.worker = &worker.state();
      stream.entrypoint = &ep.config;
      stream.entrypoint_name = ep.name;
      stream.method = head.method;
      stream.scheme = scheme;
      stream.host = info.host;
      stream.path = raw_path;
      stream.query = query;
      stream.fields = &head.fields;
      stream.peer_ip = peer_ip;
      stream.peer = peer.address();
      stream.trusted_peer = trusted;
      stream.tls = tls;
      stream.ssl = tls ? socket.tls().native_handle() : nullptr;
      stream.has_body = info.framing.kind != http::BodyKind::None;
      if (info.framing.kind == http::BodyKind::Length) stream.body_length = info.framing.length;
      stream.version_minor = head.version_minor;
      stream.record.route = route;
      H1BodyReader body_reader(socket, buffer, worker.state().wheel(), info, timeouts.read_timeout);
      stream.body_reader = &body_reader;
      const proxy::Chain& chain = route->chain;
      proxy::RequestResult rr;
      if (!chain.empty()) rr = co_await proxy::run_request(chain, stream);
      const bool head_request = head.method == "HEAD";  // the head's views may not outlive the body
      proxy::Outcome o;
      std::size_t upto = rr.ran;  // the filters whose response hooks see the answer
      if (rr.verdict == proxy::Verdict::Respond) {
        o = proxy::Outcome::Local;
        upto = rr.ran - 1;
        // A body nobody read (or read only in part) leaves the connection unusable.
        if (stream.has_body && !stream.body) stream.local.close = true;
      } else if (route->service->kind == proxy::ServiceKind::Internal) {
        // api@internal: answered in process, as a local answer all the chain's response hooks see.
        stream.record.service = route->service;
        stream.respond(200);
        route->service->internal(stream, stream.local);
        o = proxy::Outcome::Local;
        if (stream.has_body && !stream.body) stream.local.close = true;  // a body nobody reads
      } else {
        std::string_view send_target = target;
        if (stream.new_path) {
          send_target_buf.assign(*stream.new_path);
          if (!query.empty()) send_target_buf.append("?"sv).append(query);
          send_target = send_target_buf;
        }
        proxy::ClientContext ctx{socket,    buffer,  head,    info,    send_target,
                                 stream,    chain,   rr.ran,  ep.config, ep.port,
                                 peer_ip,   trusted, &worker.draining(), scratch,
                                 &handle.upstream};
        o = co_await proxy::forward(worker.state(), ctx, *route->service);
      }
      while (o == proxy::Outcome::Local) {
        // A local answer (a middleware's, an error, or a replacement): the response hooks of the
        // filters before the one that answered see it, and one of them may replace it in turn.
        if (stream.replace_by >= 0) {
          const auto k = static_cast<std::size_t>(stream.replace_by);
          const bool close = stream.local.close;
          stream.replace_by = -1;
          stream.response_edits.clear();  // the replaced response's edits go with it
          stream.transforms.clear();
          co_await chain.filters[k]->replace(stream, stream.record.status);
          stream.local.close = stream.local.close || close;
          upto = k;
        }
        stream.record.status = stream.local.status;
        proxy::ResponseView view{stream.local.status, nullptr, &stream.local.fields};
        if (int r = proxy::run_response(chain, upto, stream, view); r >= 0) {
          stream.replace_by = r;
          continue;
        }
        o = co_await proxy::write_local(worker.state(), socket, scratch, stream,
                                        worker.draining() || !info.persistent,
                                        timeouts.write_timeout, head_request);
      }
      proxy::run_complete(chain, rr.ran, stream);
      report();
      if (!body_reader.surplus.empty() && o != proxy::Outcome::Close) {
        // Bytes of the next request read with a buffered chunked body.
        buffer.clear();
        buffer.reserve_capacity();
        auto room = buffer.prepare();
        const std::size_t n = std::min(room.size(), body_reader.surplus.size());
        std::memcpy(room.data(), body_reader.surplus.data(), n);
        buffer.commit(n);
      }
      if (o == proxy::Outcome::Close || worker.draining() || one_request) break;
    }
  } catch (...) {
    failure = std::current_exception();
  }
  if (failure) {
    co_await answer_failure(worker, ep, socket, scratch, deadline, buffer, failure, peer_ip,
                            !handle.idle && stream.record.status == 0, head_request_now,
                            one_request);
    co_return Ended::Closed;
  }
  co_return peer_gone ? Ended::PeerGone : Ended::Closed;
}

namespace {

// A ConnectionMemory while a connection is served: a spare one of the worker's when its buffer
// has the capacity asked for, else a new one; back to the spares (up to kSpareConnections) when
// the connection ends or is parked.
class ConnectionLease {
 public:
  explicit ConnectionLease(Worker& worker) : worker_(worker) {}
  ~ConnectionLease() { give_back(); }
  ConnectionLease(const ConnectionLease&) = delete;
  ConnectionLease& operator=(const ConnectionLease&) = delete;

  proxy::Buffer& take(std::size_t capacity) {
    auto& spare = worker_.spare_connections();
    if (!spare.empty() && spare.back()->buffer.capacity() == capacity) {
      memory_ = std::move(spare.back());
      spare.pop_back();
    } else {
      memory_ = std::make_unique<ConnectionMemory>(capacity);
    }
    return memory_->buffer;
  }
  void give_back() {
    if (!memory_) return;
    auto& spare = worker_.spare_connections();
    if (spare.size() >= Worker::kSpareConnections) {
      memory_.reset();
      return;
    }
    ConnectionMemory& m = *memory_;
    if (m.scratch) {
      constexpr std::size_t kKeptHeads = 16 * 1024;  // a larger head's string is not kept
      if (m.scratch->scratch.capacity() <= kKeptHeads) m.spare_heads.swap(m.scratch->scratch);
      m.scratch.reset();
    }
    m.spare_heads.clear();
    m.buffer.clear();
    spare.push_back(std::move(memory_));
  }

  proxy::Buffer& buffer() { return memory_->buffer; }
  // A fresh RequestScratch, with the last connection's head string memory.
  RequestScratch& scratch() {
    ConnectionMemory& m = *memory_;
    m.scratch.emplace();
    m.scratch->scratch.swap(m.spare_heads);
    return *m.scratch;
  }

 private:
  Worker& worker_;
  std::unique_ptr<ConnectionMemory> memory_;
};

// traefik_open_connections: counted from the accept to the close, whatever ends the session.
struct OpenCount {
  observability::Shard* m;
  std::uint32_t ep;
  OpenCount(observability::Shard* shard, std::uint32_t e) : m(shard), ep(e) {
    if (m) m->connection_opened(ep);
  }
  ~OpenCount() {
    if (m) m->connection_closed(ep);
  }
  OpenCount(const OpenCount&) = delete;
  OpenCount& operator=(const OpenCount&) = delete;
};

// A client connection from the accept to the close. It lives in a record of the worker's pool
// (record_pool.h), not in a coroutine frame, so that an idle keep-alive connection can be
// parked: its coroutines end and its buffers and request state go back to the worker, and what
// waits for the client's next request is this record and one readiness wait (park()), both in
// the worker's record slabs, beside the other idle connections' and away from the heap's churn.
// nginx keeps an idle connection about as small.
struct Connection {
  Connection(Worker& w, const EntryPointSpec& e, tcp::socket s)
      : worker(w),
        ep(e),
        socket(std::move(s)),
        open_count(w.metrics(), static_cast<std::uint32_t>(e.index)),
        registration(w, handle),
        deadline(w.state().wheel(), proxy::cancel_client, &socket),
        memory(w) {
    handle.client = &socket.socket();
    handle.may_park = true;  // serve_requests parks only an HTTP/1.1 connection's own handle
  }

  Worker& worker;
  const EntryPointSpec& ep;
  proxy::ClientStream socket;
  OpenCount open_count;
  SessionHandle handle;
  Registration registration;
  // The handshake's and the close's, and the idle timeout's while parked (serve_requests has
  // its own while it runs).
  proxy::Deadline deadline;
  Peer peer;
  ConnectionLease memory;

  std::size_t buffer_capacity() const {
    return std::max<std::size_t>(ep.limits.max_head_bytes, 16 * 1024);
  }
};

// The end of a TLS connection whose client is still there: close_notify, so the client can tell
// a complete response from a cut one. Bounded: the shutdown waits for the client's close_notify
// or its FIN.
bool wants_close_notify(Connection& c, Ended end) {
  return c.socket.is_tls() && end != Ended::PeerGone && c.socket.socket().is_open();
}
asio::awaitable<void> close_notify(Connection& c) {
  c.deadline.arm(std::chrono::seconds(1));
  co_await c.socket.tls().async_shutdown(kNoThrow);
  c.deadline.disarm();
}

void park(RecordPtr<Connection> c);

// A parked connection's wait ended (park()): the client sent again, or `woke` says the idle
// timeout (close_notify then), a drain or an abort ended it.
asio::awaitable<void> resume(RecordPtr<Connection> c, boost::system::error_code woke) {
  Connection& conn = *c;
  Ended end = conn.deadline.expired() ? Ended::Closed : Ended::PeerGone;
  if (!woke) {
    proxy::Buffer& buffer = conn.memory.take(conn.buffer_capacity());
    end = co_await serve_requests(conn.worker, conn.ep, conn.socket, buffer, conn.handle,
                                  conn.peer, conn.memory.scratch(), false, true);
    if (end == Ended::Parked) {
      park(std::move(c));
      co_return;
    }
  }
  if (wants_close_notify(conn, end)) co_await close_notify(conn);
  boost::system::error_code ec;
  conn.socket.socket().close(ec);
}

// An idle keep-alive connection waits for its client with no coroutine and no buffer: the
// memory lease goes back to the worker, TLS gives its record buffers back, and one readiness
// wait owns the connection. The idle timeout keeps running (on the connection's deadline); a
// drain or an abort cancels the wait as they cancel a read. The wait's operation is a record of
// the worker's pool too (its memory is given back before its handler runs or is destroyed).
void park(RecordPtr<Connection> c) {
  Connection& conn = *c;
  conn.memory.give_back();
  if (conn.socket.is_tls()) conn.socket.tls().release_buffers();
  conn.handle.idle = true;
  conn.deadline.arm_until(conn.handle.idle_until);
  RecordAllocator<void> records(conn.worker.records());
  conn.socket.async_wait_readable(asio::bind_allocator(
      records, [c = std::move(c)](const boost::system::error_code& ec) mutable {
        c->deadline.disarm();
        auto ex = c->socket.get_executor();
        asio::co_spawn(ex, resume(std::move(c), ec),
                       log::Escaped{"connection failed: internal error"});
      }));
}

}  // namespace

asio::awaitable<void> run_session(Worker& worker, const EntryPointSpec& ep, tcp::socket sock,
                                  tcp::endpoint peer_endpoint) {
  // TCP_NODELAY came from the listening socket (entrypoints/accept.h).
  auto c = make_record<Connection>(worker.records(), worker, ep, std::move(sock));
  Connection& conn = *c;
  proxy::ClientStream& socket = conn.socket;
  const auto& timeouts = ep.config.responding_timeouts;
  proxy::Buffer& buffer = conn.memory.take(conn.buffer_capacity());
  boost::system::error_code ec;
  // The PROXY protocol and TCP routers (entrypoints/prelude.h): one test for the others. The
  // PROXY header may replace the peer.
  if (ep.proxy_protocol || worker.acquire_table()->tcp_enabled(ep.index)) {
    const bool http = co_await prelude(worker, ep, socket, buffer, peer_endpoint, conn.handle);
    if (!http) {
      socket.socket().close(ec);
      co_return;
    }
  }
  conn.peer = Peer{peer_endpoint, ip_text(peer_endpoint.address()),
                   ep.is_trusted(peer_endpoint.address())};
  proxy::Deadline& deadline = conn.deadline;

  // An entrypoint with TLS routers takes both TLS and plain HTTP (as Traefik's): the first byte
  // tells (a TLS record starts with 22, a request line with a letter). So does one with TCP
  // routers only: a ClientHello none of them took (one offering acme-tls/1, for a TLS-ALPN-01
  // challenge, or one no router matches) goes to the HTTPS side (docs/tcp.md).
  const bool tls_side = [&] {
    TableLease t = worker.acquire_table();
    return t->tls_enabled(ep.index) || t->tcp_enabled(ep.index);
  }();
  if (worker.tls().context != nullptr && tls_side) {
    if (buffer.empty()) {  // the prelude may have read the start already
      conn.handle.idle = true;
      deadline.arm(timeouts.read_header_timeout);  // a new connection: see serve_requests
      auto [rec, n] = co_await socket.async_read_some(buffer.prepare(), kNoThrow);
      deadline.disarm();
      conn.handle.idle = false;
      if (rec) {
        socket.socket().close(ec);
        co_return;
      }
      buffer.commit(n);
    }
    if (buffer.readable()[0] == 0x16 &&
        !co_await handshake(worker, ep, socket, buffer, deadline, conn.peer.ip)) {
      socket.socket().close(ec);
      co_return;
    }
  }
  Ended end = Ended::H2Preface;
  if (!alpn_h2(socket)) {
    // OpenSSL keeps its record buffers between reads and writes of an HTTP/1.1 connection:
    // freeing and making them again for every request cost 5 % of an HTTPS keep-alive
    // request's instructions. They go back when the connection is parked (park()). HTTP/2
    // connections are not parked and keep the context's SSL_MODE_RELEASE_BUFFERS.
    if (socket.is_tls()) SSL_clear_mode(socket.tls().native_handle(), SSL_MODE_RELEASE_BUFFERS);
    end = co_await serve_requests(worker, ep, socket, buffer, conn.handle, conn.peer,
                                  conn.memory.scratch(), false);
    if (end == Ended::Parked) {
      park(std::move(c));
      co_return;
    }
  }
  if (end == Ended::H2Preface) {
    // HTTP/2 reads into a buffer of its own, and the connection's memory lease (HTTP/1.1's
    // request state, 2.6 KB, and its buffer) goes back to the worker for the next connection:
    // an HTTP/2 connection's streams have theirs (h2_connection.cc), and it is not parked.
    proxy::Buffer h2_buffer(conn.buffer_capacity());
    const std::string_view got = buffer.readable();
    if (!got.empty()) {
      std::memcpy(h2_buffer.prepare().data(), got.data(), got.size());
      h2_buffer.commit(got.size());
    }
    conn.memory.give_back();  // `buffer` is the lease's: not used after this
    end = co_await serve_h2(worker, ep, socket, h2_buffer, conn.handle, conn.peer);
  }
  if (wants_close_notify(conn, end)) co_await close_notify(conn);
  // No shutdown() first: close() sends the FIN, and the one syscall less per connection shows
  // in the new-connection-per-request benchmark. (Error responses linger-close above.)
  socket.socket().close(ec);
}

}  // namespace portier::entrypoints
