#include "server.h"

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <chrono>
#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "auth.h"
#include "proxy/http/parser.h"
#include "request.h"
#include "websocket.h"

namespace whoami {
namespace {

namespace http = portier::http;
using asio::awaitable;

constexpr std::uint64_t kMaxSlowMs = 24ull * 3600 * 1000;
constexpr std::string_view kTextPlain = "text/plain; charset=utf-8";
constexpr std::string_view kOctets = "application/octet-stream";

class Session {
 public:
  Session(Conn& conn, Shared& shared) : conn_(conn), shared_(shared) {}

  awaitable<void> run() {
    // The watchdog ends this coroutine by closing the socket; see errors, not exceptions.
    co_await asio::this_coro::throw_if_cancelled(false);
    if (shared_.tls && co_await conn_.start_tls(*shared_.tls)) {
      co_return;  // a failed handshake: nothing to answer over
    }
    for (;;) {
      Next next = co_await serve_one();
      if (next == Next::KeepAlive) {
        continue;
      }
      if (next == Next::Close) {
        co_await conn_.lingering_close();
      }
      co_return;
    }
  }

 private:
  enum class Next : std::uint8_t { KeepAlive, Close, Closed };
  // NoBody: 204 and 304, which carry neither body nor length. Upgrade: 101, which carries its own
  // Connection field.
  enum class Framing : std::uint8_t { Length, Chunked, UntilClose, NoBody, Upgrade };

  awaitable<Next> serve_one();
  awaitable<Next> serve_health(BodyReader& body);
  awaitable<Next> serve_echo(BodyReader& body);
  awaitable<Next> serve_websocket(BodyReader& body);
  awaitable<Next> serve_auth(BodyReader& body);
  awaitable<Next> send_data(std::uint64_t size, Framing framing);

  // A response head; `extra` holds more field lines, each ending in CRLF.
  std::string head(int status, std::string_view content_type, Framing framing, std::uint64_t length,
                   std::string_view extra = {});
  // Sends a whole response with a Content-Length body (no body for HEAD).
  awaitable<Next> respond(int status, std::string_view content_type, std::string_view body,
                          std::string_view extra = {});
  // Answers a malformed message (or body) and closes.
  awaitable<Next> fail(std::error_code ec) {
    keep_alive_ = false;
    if (ec.category() != http::error_category()) {
      co_return Next::Close;  // an I/O error: nobody to answer
    }
    auto error = static_cast<http::Error>(ec.value());
    co_return co_await respond(http::status_for(error), kTextPlain,
                               std::string(http::describe(error)) + "\n");
  }
  std::string whoami_text() const;
  Next after_response() const { return keep_alive_ ? Next::KeepAlive : Next::Close; }

  Conn& conn_;
  Shared& shared_;
  http::Limits limits_;
  http::RequestHead head_;
  http::RequestInfo info_;
  bool keep_alive_ = true;
  bool http10_ = false;
  bool head_only_ = false;
};

awaitable<Session::Next> Session::serve_one() {
  http::ParseResult parsed;
  for (;;) {
    parsed = http::parse_request_head(conn_.buffered(), limits_, head_);
    if (parsed.status == http::ParseStatus::Complete) {
      break;
    }
    if (parsed.status == http::ParseStatus::Failed) {
      head_only_ = false;
      co_return co_await fail(parsed.error);
    }
    if (conn_.buffer_full()) {
      co_return co_await fail(http::Error::HeadTooLarge);
    }
    if (co_await conn_.read_more()) {
      co_return Next::Close;
    }
  }
  shared_.requests.fetch_add(1, std::memory_order_relaxed);
  conn_.consume(parsed.head_size);
  head_only_ = head_.method == "HEAD";
  http10_ = head_.version_minor == 0;
  info_ = {};
  if (http::Error error = http::analyze_request(head_, info_); error != http::Error::None) {
    co_return co_await fail(error);
  }
  keep_alive_ = info_.persistent && !shared_.draining.load(std::memory_order_relaxed);

  auto [path, query] = split_target(head_.target);
  Route route = route_for(path);
  BodyReader body(conn_, info_, head_.version_minor);
  switch (route) {
    case Route::Health:
      co_return co_await serve_health(body);
    case Route::Echo:
      co_return co_await serve_echo(body);
    case Route::WebSocket:
      co_return co_await serve_websocket(body);
    case Route::Auth:
      co_return co_await serve_auth(body);
    default:
      break;
  }

  // The remaining endpoints ignore the body. Reading it overwrites the head, so take what they
  // need from the head first.
  std::string text;
  std::string_view bad_query;
  std::uint64_t number = 0;
  Framing framing = Framing::Length;
  if (route == Route::Whoami || route == Route::Slow) {
    text = whoami_text();
  }
  Answer answer;
  if (route == Route::Status) {
    answer = status_answer(query);
  } else if (route == Route::LastAuth) {
    std::lock_guard lock(shared_.auth_mu);
    answer.body = shared_.last_auth;
  }
  if (route == Route::Whoami && shared_.delay_ms > 0) {
    route = Route::Slow;  // the same answer, after --delay
    number = shared_.delay_ms;
  } else if (route == Route::Slow) {
    std::optional<std::uint64_t> ms = parse_u64(query_param(query, "ms").value_or("0"));
    if (!ms || *ms > kMaxSlowMs) {
      bad_query = "ms must be a number of milliseconds up to 86400000\n";
    } else {
      number = *ms;
    }
  } else if (route == Route::Data) {
    std::optional<std::uint64_t> size = parse_u64(query_param(query, "size").value_or("0"));
    if (!size) {
      bad_query = "size must be a number of bytes\n";
    } else {
      number = *size;
    }
    if (query_flag(query, "close")) {
      framing = Framing::UntilClose;
    } else if (query_flag(query, "chunked")) {
      // HTTP/1.0 clients do not know chunked: end the body by closing instead.
      framing = http10_ ? Framing::UntilClose : Framing::Chunked;
    }
  }

  if (std::error_code ec = co_await body.discard(); ec) {
    co_return co_await fail(ec);
  }
  if (!bad_query.empty()) {
    co_return co_await respond(400, kTextPlain, bad_query);
  }
  switch (route) {
    case Route::Reset:
      conn_.reset();
      co_return Next::Closed;
    case Route::Stats: {
      std::string json =
          "{\"connections\":" +
          std::to_string(shared_.connections.load(std::memory_order_relaxed)) +
          ",\"requests\":" + std::to_string(shared_.requests.load(std::memory_order_relaxed)) + "}";
      co_return co_await respond(200, "application/json", json);
    }
    case Route::Data:
      co_return co_await send_data(number, framing);
    case Route::Status:
    case Route::LastAuth:
      co_return co_await respond(answer.status, kTextPlain, answer.body, answer.extra);
    case Route::Slow: {
      asio::steady_timer timer(co_await asio::this_coro::executor);
      conn_.touch(std::chrono::milliseconds(number));
      timer.expires_after(std::chrono::milliseconds(number));
      if (auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable)); ec) {
        co_return Next::Close;
      }
      co_return co_await respond(200, kTextPlain, text);
    }
    default:
      co_return co_await respond(200, kTextPlain, text);
  }
}

awaitable<Session::Next> Session::serve_health(BodyReader& body) {
  bool set = head_.method == "POST" || head_.method == "PUT";
  if (!set && head_.method != "GET" && !head_only_) {
    if (std::error_code ec = co_await body.discard(); ec) {
      co_return co_await fail(ec);
    }
    co_return co_await respond(405, kTextPlain, "use GET, HEAD, POST or PUT\n",
                               "Allow: GET, HEAD, POST, PUT\r\n");
  }
  // Keep the first bytes of the body (a status code) and drop the rest.
  std::string value;
  while (!body.done()) {
    auto [ec, data] = co_await body.next();
    if (ec) {
      co_return co_await fail(ec);
    }
    value.append(data.substr(0, 16 - std::min<std::size_t>(16, value.size())));
  }
  if (!set) {
    int status = shared_.health.load(std::memory_order_relaxed);
    co_return co_await respond(status, kTextPlain, status == 200 ? "OK" : reason(status));
  }
  std::string_view trimmed = value;
  while (!trimmed.empty() && (trimmed.back() == '\n' || trimmed.back() == '\r' ||
                              trimmed.back() == ' ' || trimmed.back() == '\t')) {
    trimmed.remove_suffix(1);
  }
  std::optional<std::uint64_t> status = parse_u64(trimmed);
  if (!status || *status < 200 || *status > 599) {
    co_return co_await respond(400, kTextPlain, "the body must be a status code from 200 to 599\n");
  }
  shared_.health.store(static_cast<int>(*status), std::memory_order_relaxed);
  co_return co_await respond(200, kTextPlain, "OK");
}

awaitable<Session::Next> Session::serve_echo(BodyReader& body) {
  const http::Field* type_field = head_.fields.find("Content-Type");
  std::string type(type_field != nullptr ? type_field->value : kOctets);
  Framing framing = Framing::Length;
  if (info_.framing.kind == http::BodyKind::Chunked) {
    framing = http10_ ? Framing::UntilClose : Framing::Chunked;
  }
  if (co_await body.start()) {
    co_return Next::Close;
  }
  std::string response_head = head(200, type, framing, info_.framing.length);
  bool head_sent = false;
  if (head_only_ || conn_.buffered().empty()) {
    // Answer at once rather than after the first body bytes: the client may wait for the head.
    if (co_await conn_.write(asio::buffer(response_head))) {
      co_return Next::Close;
    }
    head_sent = true;
  }
  if (head_only_) {
    if (std::error_code ec = co_await body.discard(); ec) {
      co_return Next::Close;
    }
    co_return after_response();
  }
  bool chunked = framing == Framing::Chunked;
  while (!head_sent || !body.done()) {
    std::string_view data;
    if (!body.done()) {
      auto [ec, piece] = co_await body.next();
      if (ec) {
        // Mid-response: the head may be out already, so the only signal left is closing.
        keep_alive_ = false;
        if (head_sent) {
          co_return Next::Close;
        }
        co_return co_await fail(ec);
      }
      data = piece;
    }
    std::array<char, 24> size_line;
    std::array<asio::const_buffer, 5> pieces = {
        asio::buffer(head_sent ? std::string_view{} : std::string_view(response_head)),
        asio::buffer(chunked && !data.empty() ? chunk_size_line(data.size(), size_line)
                                              : std::string_view{}),
        asio::buffer(data),
        asio::buffer(chunked && !data.empty() ? std::string_view("\r\n") : std::string_view{}),
        asio::buffer(chunked && body.done() ? std::string_view("0\r\n\r\n") : std::string_view{}),
    };
    if (co_await conn_.write(pieces)) {
      co_return Next::Close;
    }
    head_sent = true;
  }
  co_return after_response();
}

awaitable<Session::Next> Session::serve_auth(BodyReader& body) {
  // The head's views do not survive reading the body: answer and record from it first.
  Answer answer = auth_answer(head_);
  std::string seen = whoami_text();
  std::string data;
  while (!body.done()) {
    auto [ec, piece] = co_await body.next();
    if (ec) {
      co_return co_await fail(ec);
    }
    data.append(piece.substr(0, 64 * 1024 - std::min<std::size_t>(64 * 1024, data.size())));
  }
  seen.append("Body: ").append(data).append("\n");
  {
    std::lock_guard lock(shared_.auth_mu);
    shared_.last_auth = std::move(seen);
  }
  co_return co_await respond(answer.status, kTextPlain, answer.body, answer.extra);
}

awaitable<Session::Next> Session::serve_websocket(BodyReader& body) {
  const http::Field* upgrade = head_.fields.find("Upgrade");
  const http::Field* key = head_.fields.find("Sec-WebSocket-Key");
  const http::Field* version = head_.fields.find("Sec-WebSocket-Version");
  bool websocket = false;
  if (upgrade != nullptr) {
    http::for_each_token(upgrade->value, [&websocket](std::string_view token) {
      websocket = websocket || http::iequals(token, "websocket");
    });
  }
  std::string_view problem;
  if (head_.method != "GET" || http10_) {
    problem = "a WebSocket handshake is a GET over HTTP/1.1\n";
  } else if (!websocket || !info_.connection.upgrade) {
    problem = "expected Upgrade: websocket and Connection: upgrade\n";
  } else if (key == nullptr || key->value.size() != 24) {
    problem = "missing or malformed Sec-WebSocket-Key\n";
  }
  bool bad_version = problem.empty() && (version == nullptr || version->value != "13");
  std::string accept = problem.empty() && !bad_version ? websocket_accept(key->value) : "";
  if (std::error_code ec = co_await body.discard(); ec) {
    co_return co_await fail(ec);
  }
  if (!problem.empty()) {
    co_return co_await respond(400, kTextPlain, problem);
  }
  if (bad_version) {
    co_return co_await respond(426, kTextPlain, "only Sec-WebSocket-Version 13 is supported\n",
                               "Sec-WebSocket-Version: 13\r\n");
  }
  std::string response_head =
      head(101, {}, Framing::Upgrade, 0,
           "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept + "\r\n");
  if (co_await conn_.write(asio::buffer(response_head))) {
    co_return Next::Close;
  }
  co_await websocket_echo(conn_);
  co_return Next::Closed;
}

awaitable<Session::Next> Session::send_data(std::uint64_t size, Framing framing) {
  if (framing == Framing::UntilClose) {
    keep_alive_ = false;
  }
  std::string response_head = head(200, kOctets, framing, size);
  bool chunked = framing == Framing::Chunked;
  std::uint64_t remaining = head_only_ ? 0 : size;
  bool head_sent = false;
  // One write per kPatternBufferSize bytes, the head riding with the first one; the same pattern
  // buffer is sent again and again, so memory stays flat whatever the size.
  while (!head_sent || remaining > 0) {
    std::size_t n =
        static_cast<std::size_t>(std::min<std::uint64_t>(remaining, kPatternBufferSize));
    remaining -= n;
    std::array<char, 24> size_line;
    std::array<asio::const_buffer, 5> pieces = {
        asio::buffer(head_sent ? std::string_view{} : std::string_view(response_head)),
        asio::buffer(chunked && n > 0 ? chunk_size_line(n, size_line) : std::string_view{}),
        asio::buffer(data_pattern(), n),
        asio::buffer(chunked && n > 0 ? std::string_view("\r\n") : std::string_view{}),
        asio::buffer(chunked && !head_only_ && remaining == 0 ? std::string_view("0\r\n\r\n")
                                                              : std::string_view{}),
    };
    if (co_await conn_.write(pieces)) {
      co_return Next::Close;
    }
    head_sent = true;
  }
  co_return after_response();
}

std::string Session::head(int status, std::string_view content_type, Framing framing,
                          std::uint64_t length, std::string_view extra) {
  std::string h;
  h.reserve(256 + extra.size());
  h.append("HTTP/1.1 ").append(std::to_string(status)).append(" ");
  h.append(reason(status)).append("\r\n");
  if (!content_type.empty()) {
    h.append("Content-Type: ").append(content_type).append("\r\n");
  }
  if (framing == Framing::Length) {
    h.append("Content-Length: ").append(std::to_string(length)).append("\r\n");
  } else if (framing == Framing::Chunked) {
    h.append("Transfer-Encoding: chunked\r\n");
  }
  h.append("X-Whoami-Name: ").append(shared_.name).append("\r\n");
  h.append("X-Whoami-Conn: ").append(std::to_string(conn_.seq())).append("\r\n");
  if (const TlsInfo* tls = conn_.tls_info()) {
    h.append("X-Whoami-Tls-Sni: ").append(tls->sni.empty() ? "-" : tls->sni).append("\r\n");
    h.append("X-Whoami-Tls-Resumed: ").append(tls->resumed ? "yes" : "no").append("\r\n");
    h.append("X-Whoami-Client-Cert: ")
        .append(tls->client_cert.empty() ? "none" : tls->client_cert)
        .append("\r\n");
  }
  h.append(extra);
  if (framing != Framing::Upgrade) {
    if (!keep_alive_) {
      h.append("Connection: close\r\n");
    } else if (http10_) {
      h.append("Connection: keep-alive\r\n");
    }
  }
  h.append("\r\n");
  return h;
}

awaitable<Session::Next> Session::respond(int status, std::string_view content_type,
                                          std::string_view body, std::string_view extra) {
  bool no_body = status == 204 || status == 304;
  std::string response_head = head(status, no_body ? std::string_view{} : content_type,
                                   no_body ? Framing::NoBody : Framing::Length, body.size(), extra);
  std::array<asio::const_buffer, 2> pieces = {
      asio::buffer(response_head), asio::buffer(head_only_ || no_body ? std::string_view{} : body)};
  if (co_await conn_.write(pieces)) {
    co_return Next::Close;
  }
  co_return after_response();
}

std::string Session::whoami_text() const {
  std::string t;
  t.reserve(512);
  t.append("Name: ").append(shared_.name).append("\n");
  t.append("Hostname: ").append(shared_.hostname).append("\n");
  t.append("IP: ").append(conn_.local_ip()).append("\n");
  t.append("RemoteAddr: ").append(conn_.remote_addr()).append("\n");
  if (const TlsInfo* tls = conn_.tls_info()) {
    t.append("TLS: ")
        .append(tls->version)
        .append(" sni=")
        .append(tls->sni.empty() ? "-" : tls->sni);
    t.append(" resumed=").append(tls->resumed ? "yes" : "no");
    t.append(" client-cert=").append(tls->client_cert.empty() ? "none" : tls->client_cert);
    t.append("\n");
  }
  t.append(head_.method).append(" ").append(head_.target).append(" HTTP/1.");
  t.append(std::to_string(head_.version_minor)).append("\n");
  for (const http::Field& field : head_.fields) {
    t.append(field.name).append(": ").append(field.value).append("\n");
  }
  return t;
}

awaitable<void> serve_connection(tcp::socket socket, Shared& shared, std::uint64_t seq) {
  using namespace asio::experimental::awaitable_operators;
  Conn conn(std::move(socket), seq);
  Session session(conn, shared);
  co_await (session.run() || conn.watchdog());
}

}  // namespace

awaitable<void> accept_loop(tcp::acceptor& acceptor, Shared& shared) {
  auto executor = co_await asio::this_coro::executor;
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
      co_return;
    }
    if (ec) {
      // Out of descriptors and the like: back off instead of spinning.
      std::cerr << "whoami: accept: " << ec.message() << std::endl;
      asio::steady_timer pause(executor, std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    std::uint64_t seq = shared.connections.fetch_add(1, std::memory_order_relaxed) + 1;
    asio::co_spawn(executor, serve_connection(std::move(socket), shared, seq),
                   [](std::exception_ptr e) {
                     if (!e) {
                       return;
                     }
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& ex) {
                       std::cerr << "whoami: connection: " << ex.what() << std::endl;
                     }
                   });
  }
}

}  // namespace whoami
