#include "proxy/forwarder.h"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <charconv>
#include <optional>
#include <span>

#include "common/log.h"
#include "proxy/body_copy.h"
#include "proxy/connect.h"
#include "proxy/http/chunked.h"
#include "proxy/h1_serialize.h"
#include "proxy/h2_upstream.h"
#include "proxy/mirror.h"
#include "proxy/upstream_tls.h"

namespace portier::proxy {

using namespace std::string_view_literals;
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using namespace asio::experimental::awaitable_operators;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
using std::chrono::milliseconds;
// Passive health: how long a server that refused a connection stays out of a worker's picks.
constexpr auto kPassiveDownTime = std::chrono::seconds(10);
// The retry middleware's longest wait between two tries.
constexpr milliseconds kMaxRetryWait{5000};
// A TLS handshake with a server, once connected (Go's TLSHandshakeTimeout).
constexpr milliseconds kTlsHandshakeTimeout{10000};
// An HTTP/2 connection whose server reads nothing for this long is closed (its streams fail).
constexpr milliseconds kH2WriteStall{30000};
// Interim (1xx) responses relayed per request; the next one is a 502.
constexpr int kMaxInterimResponses = 5;

// Methods whose repetition has the same effect as one request (RFC 9110 9.2.2).
bool idempotent(std::string_view m) {
  return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "PUT" || m == "DELETE" || m == "TRACE";
}

// One exchange. Lives on the forward() coroutine frame; its member coroutines borrow it.
class Exchange {
 public:
  // `set_cookie`: whole "Set-Cookie: ...\r\n" lines added to the final response, or empty.
  // `pooled`: may take an idle pooled connection (first try only: a later one dials, so a dead
  // server is told from a stale idle connection). `may_retry`: when the request cannot have
  // been processed, run() gives up without answering and retry() tells the caller to send it
  // again. `any_method`: the retry middleware allows that for non-idempotent methods too.
  Exchange(WorkerState& w, ClientContext& c, const ServiceTarget& svc, const ServerTarget& server,
           std::string_view set_cookie, bool pooled, bool may_retry, bool any_method,
           bool may_retry_status = false)
      : w_(w),
        c_(c),
        svc_(svc),
        server_(server),
        timeouts_(c.entrypoint.responding_timeouts),
        fwd_(server.transport ? server.transport->timeouts : w.transport().forwarding_timeouts),
        client_read_(w.wheel(), cancel_client, &c.socket),
        client_write_(w.wheel(), cancel_client, &c.socket),
        set_cookie_(set_cookie),
        pooled_(pooled),
        may_retry_(may_retry),
        head_request_(c.head.method == "HEAD"),
        idempotent_(any_method || idempotent(c.head.method)),
        buffered_(c.stream.body.has_value()),
        network_retry_(c.stream.retry == nullptr || c.stream.retry->network_errors),
        status_retry_(may_retry_status && c.stream.retry != nullptr && !c.stream.retry->statuses.empty() &&
                      (c.info.framing.kind == http::BodyKind::None || buffered_) &&
                      (c.stream.retry->any_method ||
                       (c.head.method != "POST" && c.head.method != "PATCH" &&
                        c.head.method != "LOCK"))) {}

  asio::awaitable<Outcome> run();
  // Nothing was answered: the request never reached the server (connect failed) or is
  // idempotent (any method with the retry middleware), bodiless and got no response byte.
  // The caller may send it again (only when `may_retry` was given).
  bool retry() const { return retry_; }
  // The server itself failed (refused, or reset a fresh connection): passive health takes it out.
  bool server_failed() const { return server_failed_; }

 private:
  asio::awaitable<bool> connect();
  void use_h2(H2Session& session);  // a new stream of `session` as this exchange's connection
  void serialize_request();
  asio::awaitable<bool> send_request();
  asio::awaitable<Outcome> handle_response();
  // Reads until up_->head holds a whole response head (or a malformed one). On a read failure
  // it says how the exchange ends instead: a retry (retry_ set), or fail() with `fail_status`,
  // `fail_why`.
  struct HeadRead {
    http::ParseResult pr;
    int fail_status = 502;
    const char* fail_why = nullptr;
  };
  asio::awaitable<HeadRead> read_response_head();
  void serialize_response(const http::ResponseHead& head, const http::ResponseInfo& info,
                          bool chunk_out, bool close_client);
  asio::awaitable<Outcome> tunnel();
  asio::awaitable<Outcome> fail(int status, std::string_view why);
  // Records whether the upstream connection may go back to the pool. It is released only when
  // both halves of the exchange are done (send_request may still hold it).
  void release_upstream(bool reusable) { reusable_ = reusable; }
  void stop_request_body();
  void finish();
  // May the request go to another server after it was sent? Only an idempotent request without
  // a body, before any byte of the response, and never after a timeout (the server may still be
  // working on it).
  bool retryable_after_send() const {
    // disableRetryOnNetworkError: a failed server is not retried; a pooled connection the
    // server had closed still is (the server never saw the request).
    return may_retry_ && idempotent_ && (network_retry_ || !fresh_conn_) &&
           (c_.info.framing.kind == http::BodyKind::None || buffered_) && !response_started_ &&
           up_ && up_->buffer.empty();
  }

  WorkerState& w_;
  ClientContext& c_;
  const ServiceTarget& svc_;
  const ServerTarget& server_;
  const config::RespondingTimeouts& timeouts_;
  const config::ForwardingTimeouts& fwd_;
  Deadline client_read_;
  Deadline client_write_;
  std::unique_ptr<UpstreamConn> up_;
  std::optional<Deadline> up_read_;  // optional, not heap: no allocation per request
  std::optional<Deadline> up_write_;
  bool request_sent_ = false;    // whole request (head and body) written upstream
  bool request_failed_ = false;  // the request body could not be read or was malformed
  http::Error request_bad_ = http::Error::None;
  bool response_started_ = false;  // some byte was written to the client
  bool response_head_seen_ = false;
  bool response_done_ = false;
  bool reusable_ = false;
  bool fresh_conn_ = false;  // dialled for this exchange, not taken from the pool
  bool retry_ = false;
  bool server_failed_ = false;
  std::string_view set_cookie_;
  const bool pooled_;
  const bool may_retry_;
  // Taken before the body is read: c_.head's views point into the client buffer, which the
  // request-body pump reuses, so they must not be read once the exchange has started.
  const bool head_request_;
  const bool idempotent_;  // or the retry middleware allows any method
  const bool buffered_;    // a middleware read the whole body: it is sent from stream.body
  const bool network_retry_;  // retry.disableRetryOnNetworkError is not set
  const bool status_retry_;   // retry.status applies to this request
 public:
  // The response's status is one retry.status lists: the caller tries again (its body was
  // dropped, nothing reached the client).
  bool retried_status() const { return retried_status_; }

 private:
  bool retried_status_ = false;
};

asio::awaitable<bool> Exchange::connect() {
  // HTTP/2 when the server speaks it (h2c://, or https:// that chose h2 by ALPN); an Upgrade
  // needs a connection of its own, so it always goes over HTTP/1.1.
  const bool upgrade = c_.info.connection.upgrade;
  const bool may_h2 =
      !upgrade && (server_.h2c || (server_.tls && server_.transport && server_.transport->http2));
  if (pooled_ && may_h2) {
    if (auto session = w_.pool(server_).h2_take(server_.generation)) {
      use_h2(*session);
      co_return true;
    }
  }
  if (pooled_ && !server_.h2c) up_ = w_.pool(server_).take(server_.generation);
  if (!up_) {
    up_ = std::make_unique<UpstreamConn>(w_.executor(), 32 * 1024, server_.generation);
    Deadline dial(w_.wheel(), cancel_socket, &up_->socket());
    dial.arm(fwd_.dial_timeout);
    const error_code ec = co_await proxy::connect(up_->socket(), server_.endpoint);
    dial.disarm();
    if (ec) {
      bool timed_out = dial.expired();
      log::warn("upstream connect failed", {{"service", svc_.name},
                                            {"server", server_.url},
                                            {"error", timed_out ? "timeout" : ec.message()}});
      up_.reset();
      co_return false;
    }
    // TCP_NODELAY came with the socket (proxy/connect.h).
    bool h2 = server_.h2c && may_h2;
    if (server_.tls && server_.transport) {
      // Only new connections pay a handshake; the pool's last session makes it an abbreviated
      // one when the server still knows it.
      up_->transport = server_.transport;
      dial.arm(kTlsHandshakeTimeout);
      // The pool is looked up again after the connect: a table swap may have replaced it.
      std::string why = co_await tls_handshake(up_->stream, *server_.transport, server_.tls_host,
                                               w_.pool(server_).session(), &up_->session,
                                               may_h2);
      dial.disarm();
      if (!why.empty()) {
        log::warn("upstream TLS handshake failed",
                  {{"service", svc_.name},
                   {"server", server_.url},
                   {"error", dial.expired() ? std::string("timeout") : why}});
        up_.reset();
        co_return false;
      }
      h2 = may_h2 && alpn_h2(up_->stream);
    }
    fresh_conn_ = true;
    if (h2) {
      // The connection becomes an HTTP/2 session in the pool; this request is its first stream.
      w_.pool(server_).keep_session(*up_);
      auto session = H2Session::start(std::move(up_), server_.tls, w_.wheel(), kH2WriteStall);
      if (!session) co_return false;
      w_.pool(server_).h2_add(session, server_.generation);
      use_h2(*session);
      co_return true;
    }
  }
  up_read_.emplace(w_.wheel(), cancel_upstream, &up_->stream);
  up_write_.emplace(w_.wheel(), cancel_upstream, &up_->stream);
  if (c_.upstream_slot) *c_.upstream_slot = &up_->stream;
  co_return true;
}

void Exchange::use_h2(H2Session& session) {
  up_ = std::make_unique<UpstreamConn>(w_.executor(), 32 * 1024, server_.generation);
  up_->h2 = session.open();
  up_->stream.attach(*up_->h2);
  up_read_.emplace(w_.wheel(), cancel_upstream, &up_->stream);
  up_write_.emplace(w_.wheel(), cancel_upstream, &up_->stream);
  if (c_.upstream_slot) *c_.upstream_slot = &up_->stream;
}

void Exchange::serialize_request() {
  std::string& out = c_.scratch;
  out.clear();
  append_request_head(c_, svc_, server_, w_.hostname(), false, out);
  const auto& info = c_.info;
  if (buffered_) {
    if (info.framing.kind != http::BodyKind::None) {
      append_field(out, "Content-Length", std::to_string(c_.stream.body->size()));
    }
  } else if (info.framing.kind == http::BodyKind::Chunked) {
    out.append("Transfer-Encoding: chunked\r\n"sv);
  }
  if (info.connection.upgrade) {
    const http::Field* up = c_.head.fields.find("upgrade");
    out.append("Connection: Upgrade\r\n"sv);
    append_field(out, "Upgrade", up ? up->value : "");
  }
  out.append("\r\n"sv);
}

asio::awaitable<bool> Exchange::send_request() {
  Pipe<ClientStream, UpstreamStream> pipe{c_.socket,
                                          c_.buffer,
                                          client_read_,
                                          timeouts_.read_timeout,
                                          up_->stream,
                                          *up_write_,
                                          fwd_.response_header_timeout,
                                          c_.tee};
  CopyResult r = co_await copy_body(pipe, c_.info.framing, true, c_.scratch);
  c_.stream.record.request_body_bytes += r.bytes;
  if (r.done) {
    request_sent_ = true;
    // The response-header timeout runs from the end of the request, as in Go's transport.
    if (!response_head_seen_ && !response_done_) up_read_->arm(fwd_.response_header_timeout);
    co_return true;
  }
  if (!response_done_) {
    // The client went away, stalled, or sent a malformed body: the server must not take a
    // truncated request as complete, so its connection goes.
    request_failed_ = !r.dst_failed;
    request_bad_ = r.bad;
    error_code ec;
    up_->stream.cancel(ec);
  }
  co_return false;
}

asio::awaitable<Outcome> Exchange::run() {
  if (c_.stream.time_upstream) {
    c_.stream.record.upstream_start = std::chrono::steady_clock::now();
    c_.stream.record.upstream_end = {};
  }
  if (!co_await connect()) {
    server_failed_ = true;
    if (may_retry_ && network_retry_) {
      retry_ = true;  // nothing was sent: any method may go elsewhere
      co_return Outcome::Close;
    }
    Outcome o = co_await fail(502, "connect");
    finish();
    co_return o;
  }
  serialize_request();
  if (c_.info.framing.kind == http::BodyKind::None || buffered_) {
    // The common case: one write, then the response.
    std::array<asio::const_buffer, 2> bufs = {
        asio::buffer(c_.scratch),
        buffered_ ? asio::buffer(*c_.stream.body) : asio::const_buffer()};
    boost::system::error_code ec;
    if (!up_->stream.write_now(bufs, ec)) {
      up_write_->arm(fwd_.response_header_timeout);
      auto [wec, n] = co_await asio::async_write(up_->stream, bufs, kNoThrow);
      up_write_->disarm();
      ec = wec;
    }
    Outcome o;
    if (ec && !up_write_->expired() && retryable_after_send()) {
      retry_ = true;
      server_failed_ = fresh_conn_;
      o = Outcome::Close;
    } else if (ec) {
      o = co_await fail(502, "write");
    } else {
      request_sent_ = true;
      o = co_await handle_response();
    }
    finish();
    co_return o;
  }
  // With a body: send it while reading the response, so 100-continue, early answers and echoing
  // servers all work.
  auto [sent, outcome] = co_await (send_request() && handle_response());
  finish();
  // A failure answered locally (a malformed body's 400, say) is still to be written.
  co_return sent || outcome == Outcome::Local ? outcome : Outcome::Close;
}

asio::awaitable<Outcome> Exchange::fail(int status, std::string_view why) {
  response_done_ = true;
  release_upstream(false);
  stop_request_body();
  if (request_failed_ && request_bad_ == http::Error::None) {
    co_return Outcome::Close;  // the client is gone or stalled: nobody to answer
  }
  if (request_bad_ != http::Error::None) status = http::status_for(request_bad_);
  if (response_started_) co_return Outcome::Close;
  log::debug("upstream exchange failed",
             {{"service", svc_.name}, {"server", server_.url}, {"stage", why}});
  bool body_pending =
      c_.info.framing.kind != http::BodyKind::None && !request_sent_ && !buffered_;
  c_.stream.respond(status);
  c_.stream.local.close = body_pending || *c_.draining || !c_.info.persistent;
  co_return Outcome::Local;
}

void Exchange::stop_request_body() {
  // The response is over (or failed) while the request body was still flowing: stop reading the
  // client and writing the server. Neither connection is in a known state any more.
  if (request_sent_) return;
  error_code ec;
  c_.socket.cancel(ec);
  if (up_) up_->stream.cancel(ec);
  reusable_ = false;
}

void Exchange::finish() {
  if (c_.upstream_slot) *c_.upstream_slot = nullptr;
  up_read_.reset();
  up_write_.reset();
  if (up_ && up_->h2) {
    up_->h2->finish();  // resets the stream unless both halves completed
    up_.reset();
    return;
  }
  if (up_ && reusable_ && request_sent_) {
    w_.pool(server_).put(std::move(up_));
  } else if (up_ && up_->session != nullptr) {
    w_.pool(server_).keep_session(*up_);  // not reusable, but its session still is
  }
  up_.reset();
}

void Exchange::serialize_response(const http::ResponseHead& head, const http::ResponseInfo& info,
                                  bool chunk_out, bool close_client) {
  (void)info;
  if (ResponseCopies* rc = c_.stream.response_copies) {
    rc->origin.count = rc->downstream.count = 0;
    const auto& edits = c_.stream.response_edits;
    const http::HopByHop hop(head.fields);
    for (const auto& f : head.fields) {
      rc->origin.add(f.name, f.value);
      if (!hop(f.name) && !replaces(edits, f.name)) {
        rc->downstream.add(f.name, f.value);
      }
    }
    for (const auto& e : edits) {
      if (!e.value.empty() && (e.append || find_edit(edits, e.name) == &e)) {
        rc->downstream.add(e.name, e.value);
      }
    }
  }
  append_response_head(head, c_.stream.response_edits, set_cookie_, c_.head.version_minor,
                       chunk_out, close_client, c_.scratch);
}

asio::awaitable<Exchange::HeadRead> Exchange::read_response_head() {
  static const http::Limits limits;  // response heads: the same 16 KiB bound as requests
  HeadRead r;
  for (;;) {
    if (!up_->buffer.empty()) {
      r.pr = http::parse_response_head(up_->buffer.readable(), limits, up_->head);
      if (r.pr.status != http::ParseStatus::Partial) co_return r;
      if (up_->buffer.full() && !up_->buffer.grow()) {
        r.pr = {http::ParseStatus::Failed, http::Error::HeadTooLarge, 0};
        co_return r;
      }
    }
    // send_request may have failed before this read began (its cancel() found nothing to
    // cancel then), so look before waiting.
    if (request_failed_) {
      r.fail_why = "client";
      co_return r;
    }
    auto [ec, n] = co_await up_->stream.async_read_some(up_->buffer.prepare(), kNoThrow);
    if (ec) {
      up_read_->disarm();
      response_done_ = true;
      if (request_failed_) {
        r.fail_why = "client";
        co_return r;
      }
      if (!up_read_->expired() && fresh_conn_ && up_->buffer.empty() && !response_started_) {
        server_failed_ = true;  // a fresh connection refused or reset without an answer
      }
      if (!up_read_->expired() && retryable_after_send()) {
        // Refused or reset before any response byte. On a pooled connection that is most
        // likely the server closing an idle connection as we reused it: the server is fine.
        retry_ = true;
        co_return r;
      }
      r.fail_status = up_read_->expired() ? 504 : 502;
      r.fail_why = up_read_->expired() ? "response timeout" : "read response head";
      co_return r;
    }
    up_->buffer.commit(n);
  }
}

asio::awaitable<Outcome> Exchange::handle_response() {
  if (request_sent_) up_read_->arm(fwd_.response_header_timeout);
  int interim = 0;  // 1xx responses relayed so far
  // Every failure below leaves the loop for the one fail() at the end: each co_await site
  // takes its own room in the coroutine frame, which must stay small enough for Asio to
  // recycle (1020 bytes).
  int fail_status = 502;
  const char* failed = nullptr;
  for (;;) {
    const http::ResponseHead& head = up_->head;
    const HeadRead read = co_await read_response_head();
    if (retry_) co_return Outcome::Close;
    if (read.fail_why != nullptr) {
      fail_status = read.fail_status;
      failed = read.fail_why;
      break;
    }
    const http::ParseResult& pr = read.pr;
    if (pr.status == http::ParseStatus::Failed) {
      response_done_ = true;
      log::warn(
          "malformed response from upstream",
          {{"service", svc_.name}, {"server", server_.url}, {"error", http::describe(pr.error)}});
      failed = "parse response head";
      break;
    }
    http::ResponseInfo info;
    if (http::Error e = http::analyze_response(head, head_request_ ? "HEAD" : "GET", info);
        e != http::Error::None) {
      response_done_ = true;
      log::warn("malformed response from upstream",
                {{"service", svc_.name}, {"server", server_.url}, {"error", http::describe(e)}});
      failed = "analyze response";
      break;
    }
    if (head.status == 101 && !c_.info.connection.upgrade) {
      response_done_ = true;
      failed = "unrequested 101";
      break;
    }
    if (head.status >= 100 && head.status < 200 && head.status != 101) {
      // 100 Continue, 103 Early Hints: relay to HTTP/1.1 clients, then wait for the final one.
      // A server that sends them without end would hold the client forever: Go's transport
      // (and so Traefik) gives up after 5, and so does portier.
      if (++interim > kMaxInterimResponses) {
        response_done_ = true;
        log::warn("too many 1xx responses from upstream",
                  {{"service", svc_.name}, {"server", server_.url}});
        failed = "too many 1xx";
        break;
      }
      if (c_.head.version_minor == 1) {
        serialize_response(head, info, false, false);
        up_->buffer.consume(pr.head_size);
        client_write_.arm(timeouts_.write_timeout);
        auto [ec, n] = co_await asio::async_write(c_.socket, asio::buffer(c_.scratch), kNoThrow);
        client_write_.disarm();
        response_started_ = true;
        if (ec) {
          response_done_ = true;
          failed = "write 1xx";
          break;
        }
      } else {
        up_->buffer.consume(pr.head_size);
      }
      if (request_sent_) up_read_->arm(fwd_.response_header_timeout);
      continue;
    }
    response_head_seen_ = true;
    up_read_->disarm();
    c_.stream.record.upstream_status = head.status;
    c_.stream.record.status = head.status;
    if (may_retry_ && status_retry_ && request_sent_ && c_.stream.retry->retries_status(head.status)) {
      // retry.status: this answer is dropped and the request goes again (maybe elsewhere).
      response_done_ = true;
      release_upstream(false);
      retry_ = true;
      retried_status_ = true;
      co_return Outcome::Close;
    }
    if (c_.chain.hooks & Filter::kResponse) {
      ResponseView view{head.status, &head.fields, nullptr};
      if (int r = run_response(c_.chain, c_.ran, c_.stream, view); r >= 0) {
        // A middleware replaces this response (errors): its body is not read; the connection
        // cannot be reused then.
        response_done_ = true;
        release_upstream(false);
        stop_request_body();
        c_.stream.replace_by = r;
        c_.stream.local.close = !request_sent_ || !c_.info.persistent || *c_.draining;
        co_return Outcome::Local;
      }
    }

    const bool client_http11 = c_.head.version_minor == 1;
    // A filter rewrites the body (compress): its length is unknown until the end, so it goes
    // chunked to HTTP/1.1 clients and until close to HTTP/1.0 ones.
    // A copy kept aside (the cache's) changes nothing on the wire.
    const bool transformed = !c_.stream.transforms.empty() && !head_request_ &&
                             head.status != 101 && info.framing.kind != http::BodyKind::None;
    bool same_length = true;
    for (const auto& t : c_.stream.transforms) same_length = same_length && t->keeps_length();
    const bool reframed = transformed && !same_length;
    if (reframed) set_edit(c_.stream.response_edits, "Content-Length", "");
    const bool chunk_out =
        client_http11 && (reframed || info.framing.kind == http::BodyKind::Chunked);
    // The client connection survives when both sides frame the message and nobody asked to close.
    const bool framed = reframed ? client_http11
                                 : info.framing.kind != http::BodyKind::UntilClose &&
                                       (info.framing.kind != http::BodyKind::Chunked ||
                                        client_http11);
    bool close_client = !c_.info.persistent || *c_.draining || !framed;
    if (head.status == 101) close_client = true;
    serialize_response(head, info, chunk_out, close_client);
    up_->buffer.consume(pr.head_size);
    response_started_ = true;

    if (head.status == 101) {
      client_write_.arm(timeouts_.write_timeout);
      auto [ec, n] = co_await asio::async_write(c_.socket, asio::buffer(c_.scratch), kNoThrow);
      client_write_.disarm();
      response_done_ = true;
      if (ec) {
        release_upstream(false);
        stop_request_body();
        co_return Outcome::Close;
      }
      co_return co_await tunnel();
    }

    Pipe<UpstreamStream, ClientStream> pipe{up_->stream,
                                            up_->buffer,
                                            *up_read_,
                                            fwd_.response_header_timeout,
                                            c_.socket,
                                            client_write_,
                                            timeouts_.write_timeout};
    CopyResult r;
    const std::string_view avail = up_->buffer.readable();
    if (!transformed && (info.framing.kind == http::BodyKind::None ||
                         (info.framing.kind == http::BodyKind::Length &&
                          avail.size() >= info.framing.length))) {
      // The whole body is buffered already (a small response: the common case): head and body
      // go in one write, without the copy loop's coroutine.
      const std::size_t n = info.framing.kind == http::BodyKind::None
                                ? 0
                                : static_cast<std::size_t>(info.framing.length);
      std::array<asio::const_buffer, 2> bufs = {asio::buffer(c_.scratch),
                                                asio::buffer(avail.data(), n)};
      boost::system::error_code ec;
      if (!c_.socket.write_now(bufs, ec)) {
        client_write_.arm(timeouts_.write_timeout);
        auto [wec, written] = co_await asio::async_write(c_.socket, bufs, kNoThrow);
        client_write_.disarm();
        ec = wec;
      }
      r.bytes = r.out_bytes = n;
      r.done = !ec;
      r.dst_failed = static_cast<bool>(ec);
      if (!ec) up_->buffer.consume(n);
    } else if (transformed) {
      r = co_await copy_transformed(up_->stream, up_->buffer, *up_read_,
                                    fwd_.response_header_timeout, c_.socket, client_write_,
                                    timeouts_.write_timeout, info.framing, chunk_out, c_.scratch,
                                    c_.stream);
    } else {
      r = co_await copy_body(pipe, info.framing, chunk_out, c_.scratch);
      r.out_bytes = r.bytes;
    }
    response_done_ = true;
    c_.stream.record.upstream_body_bytes = r.bytes;
    c_.stream.record.response_body_bytes = r.out_bytes;
    if (c_.stream.time_upstream) c_.stream.record.upstream_end = std::chrono::steady_clock::now();
    if (!r.done) {
      if (r.bad != http::Error::None || r.src_failed) {
        log::warn("upstream response body failed",
                  {{"service", svc_.name},
                   {"server", server_.url},
                   {"error", r.bad != http::Error::None ? http::describe(r.bad)
                             : up_read_->expired()      ? "timeout"
                                                        : "read error"}});
      }
      release_upstream(false);
      stop_request_body();
      co_return Outcome::Close;
    }
    if (!request_sent_) {
      // The server answered before taking the whole body (an early 4xx, say): stop sending it.
      stop_request_body();
      co_return Outcome::Close;
    }
    release_upstream(info.persistent && up_->buffer.empty());
    co_return close_client ? Outcome::Close : Outcome::KeepAlive;
  }
  co_return co_await fail(fail_status, failed);
}

asio::awaitable<Outcome> Exchange::tunnel() {
  // Bytes either side sent after the handshake are already in the buffers: pass them on first.
  // Each direction ends at EOF, then half-closes its destination; the tunnel ends when both have.
  // One inactivity deadline (the entrypoint's idleTimeout) covers both directions.
  struct Ctx {
    ClientStream* a;
    UpstreamStream* b;
  } ctx{&c_.socket, &up_->stream};
  Deadline idle(
      w_.wheel(),
      [](void* p) {
        auto* c = static_cast<Ctx*>(p);
        error_code ec;
        c->a->cancel(ec);
        c->b->cancel(ec);
      },
      &ctx);
  idle.arm(timeouts_.idle_timeout);
  auto pump = [&](auto& src, Buffer& buf, auto& dst) -> asio::awaitable<void> {
    for (;;) {
      if (!buf.empty()) {
        auto [ec, n] = co_await asio::async_write(dst, asio::buffer(buf.readable()), kNoThrow);
        if (ec) break;
        buf.consume(n);
        idle.arm(timeouts_.idle_timeout);
      }
      auto [ec, n] = co_await src.async_read_some(buf.prepare(), kNoThrow);
      if (ec) break;
      buf.commit(n);
      idle.arm(timeouts_.idle_timeout);
    }
    error_code ec;
    dst.shutdown(tcp::socket::shutdown_send, ec);
  };
  co_await (pump(c_.socket, c_.buffer, up_->stream) && pump(up_->stream, up_->buffer, c_.socket));
  release_upstream(false);
  co_return Outcome::Close;
}

}  // namespace

void cancel_socket(void* ctx) {
  boost::system::error_code ec;
  static_cast<boost::asio::ip::tcp::socket*>(ctx)->cancel(ec);
}

void cancel_upstream(void* ctx) {
  boost::system::error_code ec;
  static_cast<UpstreamStream*>(ctx)->cancel(ec);
}

void cancel_client(void* ctx) {
  boost::system::error_code ec;
  static_cast<ClientStream*>(ctx)->cancel(ec);
}

namespace {

// The retry middleware's wait before its n-th retry (n from 0), as Traefik's exponential
// back-off: initialInterval, then 1.5 times the previous wait, at most twice initialInterval
// (and kMaxRetryWait). Traefik adds random jitter; portier does not.
milliseconds retry_wait(const RetryPolicy& policy, int n) {
  const milliseconds cap = std::min(policy.initial_interval * 2, kMaxRetryWait);
  milliseconds wait = policy.initial_interval;
  for (int i = 0; i < n && wait < cap; ++i) wait = wait * 3 / 2;
  return std::min(wait, cap);
}

std::string describe_ms(milliseconds d) {
  return d.count() % 1000 == 0 ? std::to_string(d.count() / 1000) + "s"
                               : std::to_string(d.count()) + "ms";
}

}  // namespace

asio::awaitable<Outcome> forward(WorkerState& worker, ClientContext& client,
                                 const ServiceTarget& service) {
  WorkerState::PickRequest request{client.peer_ip, &client.head.fields, nullptr};
  const bool close_on_error =
      (client.info.framing.kind != http::BodyKind::None && !client.stream.body) ||
      !client.info.persistent || *client.draining;
  // Without the retry middleware, at most two tries: the second only when the first cannot
  // have been processed (see Exchange::retry), on another server if there is one. The
  // middleware raises the count (never below those two) and waits before retrying a server
  // that failed; a stale pooled connection is retried at once, as without it.
  const RetryPolicy* policy = client.stream.retry;
  int max_attempts = policy ? std::max(2, policy->attempts) : 2;
  const bool any_method = policy != nullptr && policy->attempts >= 2;
  std::vector<const ServiceTarget*> mirrorings;
  MirrorBatch mirrors;
  std::string cookies;
  Outcome outcome = Outcome::Close;
  bool stale_only = false;  // the last try failed on a pooled connection, not the server
  int waits = 0;
  // Read only with retry.timeout: no clock call per request otherwise.
  const auto started = policy != nullptr && policy->timeout.count() > 0
                           ? std::chrono::steady_clock::now()
                           : std::chrono::steady_clock::time_point();
  for (int attempt = 0;; ++attempt) {
    cookies.clear();
    const ServiceTarget* lb =
        worker.resolve(service, request, cookies, attempt == 0 ? &mirrorings : nullptr);
    if (attempt == 0 && !mirrorings.empty()) {
      // Before the exchange: the copies' heads are made from the request head's views, which
      // do not outlive the body.
      prepare_mirrors(worker, client, mirrorings, mirrors);
    }
    WorkerState::Pick pick;
    if (lb != nullptr) {
      pick = worker.pick(*lb, request);
      if (pick.server == nullptr && request.exclude != nullptr && (stale_only || policy)) {
        // The only server takes the retry: it may only have closed an idle connection as we
        // reused it, or (with the retry middleware) be back after the wait.
        request.exclude = nullptr;
        pick = worker.pick(*lb, request);
      }
    }
    if (pick.server == nullptr) {
      // Every server is down (health checks) or weighted out: say so, as Traefik does. After a
      // failed first attempt, the answer is the failure's.
      client.stream.respond(attempt == 0 ? 503 : 502);
      if (attempt == 0) {
        client.stream.local.body = "no available server\n";
        client.stream.local.body_set = true;
      }
      client.stream.local.close = close_on_error;
      outcome = Outcome::Local;
      break;
    }
    const ServerTarget& server = *pick.server;
    if (pick.set_cookie) cookies += set_cookie_field(*lb->sticky, server.sticky_value);
    // retry.timeout: past it, no new try starts.
    const bool in_time = policy == nullptr || policy->timeout.count() <= 0 ||
                         std::chrono::steady_clock::now() - started < policy->timeout;
    Exchange ex(worker, client, *lb, server, cookies, attempt == 0,
                attempt + 1 < max_attempts && in_time, any_method,
                policy != nullptr && attempt + 1 < policy->attempts && in_time);
    client.stream.record.service = lb;
    client.stream.record.server = &server;
    client.stream.record.attempts = attempt + 1;
    worker.begin_request(server);
    if (server.load) server.load->in_flight.fetch_add(1, std::memory_order_relaxed);
    Outcome o = co_await ex.run();
    if (server.load) server.load->in_flight.fetch_sub(1, std::memory_order_relaxed);
    worker.end_request(server);
    if (ex.server_failed()) {
      worker.mark_down(server, kPassiveDownTime);
      log::warn("server failed; out of this worker's rotation",
                {{"service", lb->name}, {"server", server.url}, {"for", "10s"}});
    }
    if (!ex.retry()) {
      outcome = o;
      break;
    }
    request.exclude = &server;
    stale_only = !ex.server_failed() && !ex.retried_status();
    // A pooled connection the server had closed says nothing about the server: that retry is
    // free (only the first try takes a pooled connection, so this happens once at most).
    if (stale_only) ++max_attempts;
    const std::string tries =
        std::to_string(attempt + 2) + "/" + std::to_string(max_attempts);
    if (policy != nullptr && !stale_only && policy->initial_interval.count() > 0) {
      const milliseconds wait = retry_wait(*policy, waits++);
      log::info("retrying request",
                {{"service", lb->name}, {"in", describe_ms(wait)}, {"try", tries}});
      asio::steady_timer timer(worker.executor(), wait);
      co_await timer.async_wait(kNoThrow);
    } else {
      log::debug("retrying request", {{"service", lb->name}, {"server", server.url},
                                      {"try", tries}});
    }
  }
  if (client.tee != nullptr && client.stream.body && !client.tee->complete) {
    // The body was read by a middleware, not streamed through the tee.
    tee_append(client.tee, *client.stream.body);
    client.tee->complete = true;
  }
  client.tee = nullptr;
  send_mirrors(worker, mirrors);
  co_return outcome;
}

}  // namespace portier::proxy
