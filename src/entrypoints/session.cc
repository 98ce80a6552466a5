#include "entrypoints/session.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/log.h"
#include "entrypoints/worker.h"
#include "proxy/buffer.h"
#include "proxy/forwarder.h"
#include "proxy/http/message.h"
#include "proxy/http/parser.h"
#include "proxy/routing_table.h"
#include "rules/rule.h"

namespace portier::entrypoints {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// The origin-form of a request target: "http://h/p?q" becomes "/p?q".
std::string_view origin_form(std::string_view target) {
  if (!target.empty() && target.front() != '/') {
    std::size_t scheme = target.find("://");
    std::size_t slash =
        scheme == std::string_view::npos ? std::string_view::npos : target.find('/', scheme + 3);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  return target;
}

// After an error response the client may still be sending (a huge head, a body we refused).
// Closing with unread bytes makes the kernel send RST, which can destroy the response before the
// client reads it. So: half-close, then read and drop for a bounded time and amount (nginx's
// lingering close), then close.
asio::awaitable<void> linger_close(tcp::socket& socket, proxy::Deadline& deadline,
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

// Registers the session with its worker for the session's lifetime.
struct Registration {
  Worker& w;
  SessionHandle& h;
  Registration(Worker& worker, SessionHandle& handle) : w(worker), h(handle) { w.add(h); }
  ~Registration() { w.remove(h); }
};

}  // namespace

asio::awaitable<void> run_session(Worker& worker, const EntryPointSpec& ep, tcp::socket socket,
                                  tcp::endpoint peer) {
  boost::system::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  const std::string peer_ip = peer.address().to_string();
  const bool trusted = ep.is_trusted(peer.address());
  const auto& timeouts = ep.config.responding_timeouts;

  SessionHandle handle;
  handle.client = &socket;
  Registration registration(worker, handle);
  proxy::Buffer buffer(std::max<std::size_t>(ep.limits.max_head_bytes, 16 * 1024));
  std::string scratch;
  scratch.reserve(1024);
  proxy::Deadline deadline(worker.state().wheel(), proxy::cancel_socket, &socket);
  http::RequestHead head;
  http::RequestInfo info;
  std::string decoded_path;  // only used when a path has %-escapes
  proxy::Rewrite rewrite;    // only used by routes whose middlewares change the path
  char host_buf[256];

  for (;;) {
    // A request head, within readHeaderTimeout once its first byte is in; idleTimeout before.
    handle.idle = buffer.empty();
    if (handle.idle && worker.draining()) break;
    deadline.arm(handle.idle ? timeouts.idle_timeout : timeouts.read_header_timeout);
    http::ParseResult pr;
    bool read_failed = false;
    for (;;) {
      if (!buffer.empty()) {
        pr = http::parse_request_head(buffer.readable(), ep.limits, head);
        if (pr.status != http::ParseStatus::Partial) break;
        if (buffer.full()) {
          pr = {http::ParseStatus::Failed, http::Error::HeadTooLarge, 0};
          break;
        }
      }
      auto [rec, n] = co_await socket.async_read_some(buffer.prepare(), kNoThrow);
      if (rec) {
        if (deadline.expired() && !handle.idle) {
          log::debug("request head timeout", {{"entrypoint", ep.name}, {"client", peer_ip}});
        }
        read_failed = true;
        break;
      }
      if (handle.idle) {
        handle.idle = false;
        deadline.arm(timeouts.read_header_timeout);
      }
      buffer.commit(n);
    }
    deadline.disarm();
    handle.idle = false;
    if (read_failed) break;

    http::Error err =
        pr.status == http::ParseStatus::Failed ? pr.error : http::analyze_request(head, info);
    if (err != http::Error::None) {
      log::debug("bad request",
                 {{"entrypoint", ep.name}, {"client", peer_ip}, {"error", http::describe(err)}});
      co_await proxy::respond_status(worker.state(), socket, scratch, http::status_for(err), true,
                                     timeouts.write_timeout, http::describe(err));
      co_await linger_close(socket, deadline, buffer);
      break;
    }
    buffer.consume(pr.head_size);  // the head's views stay valid: consume moves no bytes

    // What rules look at: the host normalized, the path percent-decoded, the query raw.
    std::string_view target = origin_form(head.target);
    std::string_view raw_path = target.substr(0, target.find('?'));
    std::string_view query =
        raw_path.size() < target.size() ? target.substr(raw_path.size() + 1) : std::string_view();
    std::string_view path = raw_path;
    if (raw_path.find('%') != std::string_view::npos) {
      decoded_path.resize(raw_path.size());
      std::size_t n = rules::percent_decode(raw_path, decoded_path.data());
      if (n == std::string_view::npos) {
        co_await proxy::respond_status(worker.state(), socket, scratch, 400, true,
                                       timeouts.write_timeout, "malformed percent-encoding");
        co_await linger_close(socket, deadline, buffer);
        break;
      }
      path = std::string_view(decoded_path.data(), n);
    }
    const std::size_t host_len = proxy::normalize_host(info.host, host_buf);
    const rules::Request match_req{
        std::string_view(host_buf, host_len),
        head.method,
        path,
        query,
        std::span<const HeaderView>(head.fields.begin(), head.fields.count),
        peer.address()};
    TableLease table = worker.acquire_table();
    const proxy::EntryPointRoutes* routes = table->entrypoint(ep.index);
    const proxy::Route* route = routes ? routes->match(match_req) : nullptr;
    if (route == nullptr) {
      // Traefik's answer. A body we will not read means the connection cannot be reused.
      bool close =
          info.framing.kind != http::BodyKind::None || !info.persistent || worker.draining();
      auto o = co_await proxy::respond_status(worker.state(), socket, scratch, 404, close,
                                              timeouts.write_timeout, "404 page not found");
      if (o == proxy::Outcome::Close) break;
      continue;
    }
    const proxy::Actions& actions = route->actions;
    if (actions.redirect && !info.host.empty()) {
      // redirectScheme answers here, before anything reaches a server. A trusted peer's
      // X-Forwarded-Proto tells the scheme the client really used.
      std::string_view scheme = "http";
      if (const auto* xfp = head.fields.find("x-forwarded-proto");
          trusted && xfp != nullptr && http::iequals(xfp->value, "https")) {
        scheme = "https";
      }
      std::string location = proxy::redirect_location(*actions.redirect, scheme, info.host, target);
      if (!location.empty()) {
        bool close =
            info.framing.kind != http::BodyKind::None || !info.persistent || worker.draining();
        location = "Location: " + location + "\r\n";
        int status = proxy::redirect_status(*actions.redirect, head.method);
        auto o = co_await proxy::respond_status(worker.state(), socket, scratch, status, close,
                                                timeouts.write_timeout, {}, location);
        if (o == proxy::Outcome::Close) break;
        continue;
      }
    }
    std::string_view send_target = target;
    rewrite.added.clear();
    if (!actions.path_steps.empty()) {
      proxy::apply_path_steps(actions, raw_path, query, rewrite);
      send_target = rewrite.target;
    }
    proxy::ClientContext ctx{
        socket,    buffer,  head,    info,    send_target,        &actions, &rewrite.added,
        ep.config, ep.port, peer_ip, trusted, &worker.draining(), scratch,  &handle.upstream};
    proxy::Outcome o = co_await proxy::forward(worker.state(), ctx, *route->service);
    if (o == proxy::Outcome::Close || worker.draining()) break;
  }
  // No shutdown() first: close() sends the FIN, and the one syscall less per connection shows
  // in the new-connection-per-request benchmark. (Error responses linger-close above.)
  socket.close(ec);
}

}  // namespace portier::entrypoints
