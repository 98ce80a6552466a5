#include "proxy/health_checker.h"
#include "proxy/connect.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <sstream>

#include "common/log.h"
#include "proxy/http/parser.h"
#include "proxy/upstream_tls.h"

namespace portier::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

struct HealthChecker::Check {
  Check(asio::any_io_executor ex) : timer(ex) {}
  std::shared_ptr<ServerHealth> health = std::make_shared<ServerHealth>();
  std::string service, url;
  tcp::endpoint endpoint;
  std::string request;
  config::HealthCheck cfg;
  std::shared_ptr<const Transport> tls;  // set: probes speak TLS
  std::string tls_host;
  asio::steady_timer timer;
  bool stopped = false;
};

namespace {

// One probe: connect, send, read the status line, all within cfg.timeout. The timer's handler
// may run after the probe returned (it had already fired when the probe finished), so what it
// touches is shared with it, not borrowed from the probe's frame.
asio::awaitable<std::string> probe(const HealthChecker::Check& c) {
  struct Shared {
    explicit Shared(const asio::any_io_executor& ex) : stream(ex) {}
    UpstreamStream stream;
    bool timed_out = false;
  };
  auto ex = co_await asio::this_coro::executor;
  auto shared = std::make_shared<Shared>(ex);
  UpstreamStream& stream = shared->stream;
  asio::steady_timer deadline(ex);
  deadline.expires_after(c.cfg.timeout);
  deadline.async_wait([shared](const boost::system::error_code& ec) {
    if (ec) return;  // cancelled: the probe ended first
    shared->timed_out = true;
    boost::system::error_code ignored;
    shared->stream.socket().close(ignored);
  });
  auto fail = [&](const std::string& why) {
    deadline.cancel();
    return shared->timed_out ? std::string("timeout") : why;
  };
  const auto cec = co_await proxy::connect(stream.socket(), c.endpoint);
  if (cec) co_return fail("connect: " + cec.message());
  if (c.tls) {
    std::string why = co_await tls_handshake(stream, *c.tls, c.tls_host, nullptr, nullptr);
    if (!why.empty()) co_return fail("TLS handshake: " + why);
  }
  auto [wec, wn] = co_await asio::async_write(stream, asio::buffer(c.request), kNoThrow);
  if (wec) co_return fail("write: " + wec.message());
  std::string buf;
  char chunk[2048];
  for (;;) {
    auto [rec, n] = co_await stream.async_read_some(asio::buffer(chunk), kNoThrow);
    if (rec) co_return fail("no response head");
    buf.append(chunk, n);
    http::ResponseHead head;
    auto r = http::parse_response_head(buf, http::Limits{}, head);
    if (r.status == http::ParseStatus::Partial) continue;
    deadline.cancel();
    if (r.status == http::ParseStatus::Failed) co_return std::string("malformed response");
    bool ok =
        c.cfg.status != 0 ? head.status == c.cfg.status : head.status >= 200 && head.status < 400;
    co_return ok ? std::string() : "status " + std::to_string(head.status);
  }
}

asio::awaitable<void> run(std::shared_ptr<HealthChecker::Check> c) {
  while (!c->stopped) {
    std::string failure = co_await probe(*c);
    if (c->stopped) co_return;
    const bool ok = failure.empty();
    if (ok) c->health->passes.fetch_add(1, std::memory_order_relaxed);
    c->health->last_check_ms.store(std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count(),
                                   std::memory_order_relaxed);
    if (ok != c->health->up.load(std::memory_order_relaxed)) {
      c->health->up.store(ok, std::memory_order_relaxed);
      if (ok) {
        log::info("server healthy again", {{"service", c->service}, {"server", c->url}});
      } else {
        log::warn("server unhealthy; out of rotation",
                  {{"service", c->service}, {"server", c->url}, {"error", failure}});
      }
    }
    auto next =
        !ok && c->cfg.unhealthy_interval.count() > 0 ? c->cfg.unhealthy_interval : c->cfg.interval;
    c->timer.expires_after(next);
    co_await c->timer.async_wait(kNoThrow);
  }
}

std::string key_of(const std::string& service, const std::string& url,
                   const config::HealthCheck& h) {
  std::string k = service + "|" + url + "|" + h.method + " " + h.path + "|" + h.hostname + "|" +
                  std::to_string(h.port) + "|" + std::to_string(h.status) + "|" +
                  std::to_string(h.interval.count()) + "|" +
                  std::to_string(h.unhealthy_interval.count()) + "|" +
                  std::to_string(h.timeout.count());
  for (const auto& [n, v] : h.headers) k += "|" + n + ":" + v;
  return k;
}

}  // namespace

HealthChecker::~HealthChecker() {
  for (auto& [k, c] : checks_) {
    c->stopped = true;
    c->timer.cancel();
  }
}

std::shared_ptr<const ServerHealth> HealthChecker::track(
    const std::string& service, const std::string& url, const tcp::endpoint& endpoint,
    const std::string& host_header, const config::HealthCheck& check, const ProbeVia& via) {
  // The address is part of the key: a name that resolves elsewhere gets a check of its own;
  // so is the transport (another one, or the same one changed, is another check).
  std::ostringstream addr;
  addr << endpoint;
  const bool tls = check.scheme == "https" || (check.scheme != "http" && via.tls);
  std::string key = key_of(service, url, check) + "|" + addr.str();
  if (tls && via.transport) {
    key += "|tls " + via.transport->name + "#" + std::to_string(via.transport->serial);
  }
  tracked_.insert(key);
  auto it = checks_.find(key);
  if (it != checks_.end()) return it->second->health;
  auto c = std::make_shared<Check>(ex_);
  c->service = service;
  c->url = url;
  c->endpoint = endpoint;
  if (check.port != 0) c->endpoint.port(static_cast<unsigned short>(check.port));
  c->cfg = check;
  if (tls && via.transport) {
    c->tls = via.transport;
    c->tls_host = via.host;
  }
  c->request = check.method + " " + (check.path.empty() ? "/" : check.path) +
               " HTTP/1.1\r\nHost: " + (check.hostname.empty() ? host_header : check.hostname) +
               "\r\nUser-Agent: portier-healthcheck\r\nConnection: close\r\n";
  for (const auto& [n, v] : check.headers) c->request += n + ": " + v + "\r\n";
  c->request += "\r\n";
  checks_[key] = c;
  asio::co_spawn(ex_, run(c), log::Escaped{"health check stopped: internal error"});
  return c->health;
}

void HealthChecker::sweep() {
  for (auto it = checks_.begin(); it != checks_.end();) {
    if (tracked_.count(it->first)) {
      ++it;
      continue;
    }
    it->second->stopped = true;
    it->second->timer.cancel();
    it = checks_.erase(it);
  }
  tracked_.clear();
}

}  // namespace portier::proxy
