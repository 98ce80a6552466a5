#include "admin/server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <optional>
#include <thread>

#include "admin/api.h"
#include "common/log.h"
#include "proxy/http/message.h"
#include "proxy/http/parser.h"

namespace portier::admin {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr auto kTimeout = std::chrono::seconds(5);  // to send a head, a body, or read a response
constexpr std::size_t kMaxBody = 64 * 1024;         // the API reads none: dropped up to this
constexpr std::size_t kMaxConnections = 256;
constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);

// The response's bytes. `persistent`: whether the connection stays open after it; an HTTP/1.0
// client is told so, an HTTP/1.1 one is told when it does not.
std::string response_bytes(const ApiResponse& r, bool head_only, bool persistent,
                           int version_minor) {
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " ";
  out.append(http::reason_phrase(r.status));
  out += "\r\n";
  if (!r.content_type.empty()) out += "Content-Type: " + r.content_type + "\r\n";
  out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  if (!r.allow.empty()) out += "Allow: " + r.allow + "\r\n";
  for (const auto& [name, value] : r.fields) out += name + ": " + value + "\r\n";
  if (!persistent) {
    out += "Connection: close\r\n";
  } else if (version_minor == 0) {
    out += "Connection: keep-alive\r\n";
  }
  out += "\r\n";
  if (!head_only) out += r.body;
  return out;
}

ApiResponse plain_text(int status, std::string text) {
  ApiResponse r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(text) + "\n";
  return r;
}

}  // namespace

struct ApiServer::Impl {
  Impl(const RuntimeStore& s, std::string v) : store(s), version(std::move(v)) {}

  const RuntimeStore& store;
  std::string version;
  std::function<std::string()> metrics;
  std::size_t connections = 0;  // outlives io: a connection's frame counts down when destroyed
  asio::io_context io{1};       // destroys the coroutines still waiting, and their sockets
  // Declared after io: destroyed before it.
  std::optional<tcp::acceptor> acceptor;
  std::thread thread;

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve(tcp::socket s);
  ApiResponse answer(const http::RequestHead& head, const http::RequestInfo& info) const;
};

asio::awaitable<void> ApiServer::Impl::accept_loop() {
  for (;;) {
    auto [ec, s] = co_await acceptor->async_accept(kAwait);
    if (ec == asio::error::operation_aborted || !acceptor->is_open()) co_return;
    if (ec) {  // out of descriptors, say: try again shortly
      asio::steady_timer pause(io, std::chrono::milliseconds(100));
      co_await pause.async_wait(kAwait);
      continue;
    }
    if (connections >= kMaxConnections) continue;  // `s` closes here
    asio::co_spawn(io, serve(std::move(s)), log::Escaped{"api: connection failed: internal error"});
  }
}

ApiResponse ApiServer::Impl::answer(const http::RequestHead& head,
                                    const http::RequestInfo& info) const {
  // The target as sent (an absolute-form one's origin-form), split at '?'.
  std::string_view target = info.asterisk ? head.target : info.target, query;
  if (target.empty()) target = "/";
  if (auto q = target.find('?'); q != std::string_view::npos) {
    query = target.substr(q + 1);
    target = target.substr(0, q);
  }
  // An exception (a name that is not UTF-8 in a JSON answer, memory) answers this request with
  // 500 and leaves the listener serving, as cpp-httplib did.
  try {
    if (metrics && target == "/metrics" && (head.method == "GET" || head.method == "HEAD")) {
      ApiResponse r;
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      r.body = metrics();
      return r;
    }
    return handle_api(store, version, head.method, target, query);
  } catch (const std::exception& e) {
    return plain_text(500, e.what());
  }
}

asio::awaitable<void> ApiServer::Impl::serve(tcp::socket s) {
  ++connections;
  struct Count {
    std::size_t& n;
    ~Count() { --n; }
  } count{connections};
  // Deadlines: kTimeout for a whole head (from the end of the last response: the keep-alive
  // wait counts), for a whole body and for each response; the timer closes the socket, which
  // ends the operation. It holds the socket by shared_ptr, so its handler never outlives what
  // it closes.
  auto sock = std::make_shared<tcp::socket>(std::move(s));
  asio::steady_timer timer(io);
  using Clock = std::chrono::steady_clock;
  const auto arm = [&](Clock::time_point until) {
    timer.expires_at(until);
    timer.async_wait([sock](const boost::system::error_code& ec) {
      if (ec) return;
      boost::system::error_code ignored;
      sock->close(ignored);
    });
  };
  const auto write = [&](const std::string& bytes) -> asio::awaitable<bool> {
    arm(Clock::now() + kTimeout);
    auto [ec, n] = co_await asio::async_write(*sock, asio::buffer(bytes), kAwait);
    timer.cancel();
    co_return !ec;
  };
  // Reads more into `buf`; false at the end of the connection, an error or the timeout.
  std::string buf;
  const auto read_more = [&](Clock::time_point until) -> asio::awaitable<bool> {
    char chunk[4096];
    arm(until);
    auto [ec, n] = co_await sock->async_read_some(asio::buffer(chunk), kAwait);
    timer.cancel();
    if (ec || n == 0) co_return false;
    buf.append(chunk, n);
    co_return true;
  };

  // A refusal ends the connection: the answer, the FIN, then what the client still sends is
  // read and dropped for a second, so that the close does not reset the connection (and lose
  // the answer) while the client's bytes are unread.
  const auto refuse = [&](int status, std::string text) -> asio::awaitable<void> {
    if (!co_await write(response_bytes(plain_text(status, std::move(text)), false, false, 1))) {
      co_return;
    }
    boost::system::error_code ignored;
    sock->shutdown(tcp::socket::shutdown_send, ignored);
    arm(Clock::now() + std::chrono::seconds(1));
    char chunk[4096];
    for (int i = 0; i < 64; ++i) {
      auto [ec, n] = co_await sock->async_read_some(asio::buffer(chunk), kAwait);
      if (ec) break;
    }
    timer.cancel();
  };

  const http::Limits limits;
  for (;;) {
    http::RequestHead head;
    http::ParseResult parsed;
    const auto head_until = Clock::now() + kTimeout;
    for (;;) {
      parsed = http::parse_request_head(buf, limits, head);
      if (parsed.status != http::ParseStatus::Partial) break;
      if (buf.size() > limits.max_head_bytes) {
        parsed = {http::ParseStatus::Failed, http::Error::HeadTooLarge, 0};
        break;
      }
      if (!co_await read_more(head_until)) co_return;
    }
    http::RequestInfo info;
    http::Error error = parsed.error;
    if (parsed.status == http::ParseStatus::Complete) error = http::analyze_request(head, info);
    if (error != http::Error::None) {
      co_await refuse(http::status_for(error), http::make_error_code(error).message());
      co_return;
    }
    // The body: none is used. Up to kMaxBody read and dropped; a chunked or a larger one ends
    // the connection after its refusal, unread.
    if (info.framing.kind == http::BodyKind::Chunked) {
      co_await refuse(411, "the API takes no chunked body");
      co_return;
    }
    const std::size_t body = info.framing.kind == http::BodyKind::Length ? info.framing.length : 0;
    if (body > kMaxBody) {
      co_await refuse(413, "the API takes no body");
      co_return;
    }
    // The head's views point into buf: answer before anything moves it.
    const bool head_only = head.method == "HEAD";
    const bool persistent = info.persistent;
    const int version_minor = head.version_minor;
    const std::size_t head_size = parsed.head_size;
    if (body > 0 && info.expect_continue && buf.size() < head_size + body &&
        !co_await write("HTTP/1.1 100 Continue\r\n\r\n")) {
      co_return;
    }
    const std::string out =
        response_bytes(answer(head, info), head_only, persistent, version_minor);
    const auto body_until = Clock::now() + kTimeout;
    while (buf.size() < head_size + body) {
      if (!co_await read_more(body_until)) co_return;
    }
    buf.erase(0, head_size + body);
    if (!co_await write(out) || !persistent) co_return;
  }
}

ApiServer::ApiServer(const RuntimeStore& store, std::string version)
    : impl_(std::make_unique<Impl>(store, std::move(version))) {}

ApiServer::~ApiServer() { stop(); }

void ApiServer::set_metrics(std::function<std::string()> text) { impl_->metrics = std::move(text); }

Result<int> ApiServer::start(const std::string& host, int port) {
  const auto fail = [&](const boost::system::error_code& ec) {
    return Error{"api: cannot listen on " + host + ":" + std::to_string(port) + ": " +
                 ec.message()};
  };
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) return fail(ec);
  const tcp::endpoint at(address, static_cast<unsigned short>(port));
  auto& a = impl_->acceptor.emplace(impl_->io);
  // SO_REUSEADDR only, never SO_REUSEPORT: another process of the same user (another portier's
  // entrypoint) must not be able to share this port and take half its connections.
  a.open(at.protocol(), ec);
  if (!ec) a.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) a.bind(at, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    impl_->acceptor.reset();
    return fail(ec);
  }
  const int bound = a.local_endpoint(ec).port();
  if (ec) return fail(ec);
  asio::co_spawn(impl_->io, impl_->accept_loop(),
                 log::Escaped{"api: listener stopped: internal error"});
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
  return bound;
}

void ApiServer::stop() {
  if (!impl_->thread.joinable()) return;
  // The loop ends; the connections' coroutines are destroyed with the io_context, closing
  // their sockets.
  impl_->io.stop();
  impl_->thread.join();
}

}  // namespace portier::admin
