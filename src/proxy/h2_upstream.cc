#include "proxy/h2_upstream.h"

#include <nghttp2/nghttp2.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <charconv>
#include <cstring>
#include <vector>

#include "common/log.h"
#include "proxy/h2_fields.h"
#include "proxy/http/message.h"
#include "proxy/http/parser.h"
#include "proxy/upstream_pool.h"

namespace portier::proxy {
namespace {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

constexpr std::uint32_t kStreamWindow = 256 * 1024;
constexpr std::int32_t kConnectionWindow = 1024 * 1024;
constexpr std::size_t kWriteBatch = 64 * 1024;
constexpr int kMaxStreams = 128;  // per connection, below the server's own limit
// The longest request head the forwarder writes (its fields are bounded by the client's limits,
// plus what middlewares add).
constexpr std::size_t kMaxHead = 1024 * 1024;

// Not sent as fields: connection-specific ones, Host (it is :authority), HTTP2-Settings.
bool left_out(std::string_view lower) {
  return connection_specific(lower) || lower == "host" || lower == "http2-settings";
}

H2UpstreamStream* stream_of(nghttp2_session* ng, std::int32_t id) {
  return static_cast<H2UpstreamStream*>(nghttp2_session_get_stream_user_data(ng, id));
}

ssize_t read_body_cb(nghttp2_session* ng, std::int32_t id, std::uint8_t* buf, std::size_t length,
                     std::uint32_t* flags, nghttp2_data_source*, void*) {
  H2UpstreamStream* s = stream_of(ng, id);
  if (s == nullptr) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // finished: reset it
  return s->read_body(buf, length, flags);
}

void append_status_line(std::string& out, int status) {
  char code[4];
  std::to_chars(code, code + 3, status);
  out.append("HTTP/1.1 ").append(code, 3).append(" ").append(http::reason_phrase(status));
  out.append("\r\n");
}

}  // namespace

// ---------------------------------------------------------------- the stream

H2UpstreamStream::H2UpstreamStream(std::shared_ptr<H2Session> session,
                                   const asio::any_io_executor& ex)
    : StreamPipe(ex), session_(std::move(session)) {}

H2UpstreamStream::~H2UpstreamStream() { finish(); }

void H2UpstreamStream::finish() {
  if (!session_) return;
  if (id_ > 0 && !closed_ && !session_->dead_) {
    nghttp2_session_set_stream_user_data(session_->ng_, id_, nullptr);
    // Both halves complete: the server closes the stream itself; otherwise stop it.
    if (!(response_done_ && request_done_)) {
      nghttp2_submit_rst_stream(session_->ng_, NGHTTP2_FLAG_NONE, id_, NGHTTP2_CANCEL);
    }
    session_->wake();
  }
  if (id_ > 0 && !closed_) {
    // Window bytes the forwarder never took go back to the connection.
    if (unconsumed_ > 0 && !session_->dead_) {
      nghttp2_session_consume_connection(session_->ng_, unconsumed_);
    }
    unconsumed_ = 0;
  }
  session_->forget(this);
  session_.reset();
}

bool H2UpstreamStream::give(std::string_view bytes) {
  if (gone_ || !session_) return false;
  while (!bytes.empty()) {
    switch (req_state_) {
      case In::Head: {
        head_acc_.append(bytes);
        bytes = {};
        http::RequestHead head;
        http::Limits limits;
        limits.max_head_bytes = kMaxHead;
        limits.max_target = kMaxHead;
        const http::ParseResult pr = http::parse_request_head(head_acc_, limits, head);
        if (pr.status == http::ParseStatus::Partial) return head_acc_.size() < kMaxHead;
        if (pr.status == http::ParseStatus::Failed) return false;
        http::RequestInfo info;
        if (http::analyze_request(head, info) != http::Error::None) return false;
        head_request_ = head.method == "HEAD";
        remaining_ = info.framing.length;
        chunked_ = info.framing.kind == http::BodyKind::Chunked;
        const bool has_body = chunked_ || (info.framing.kind == http::BodyKind::Length &&
                                           info.framing.length > 0);
        req_state_ = has_body ? In::Body : In::Done;
        request_done_ = !has_body;
        if (!submit(std::string_view(head_acc_).substr(0, pr.head_size))) return false;
        if (pr.head_size == head_acc_.size()) {
          head_acc_.clear();
          return true;
        }
        std::string rest = head_acc_.substr(pr.head_size);
        head_acc_.clear();
        return give(rest);
      }
      case In::Body:
        if (chunked_) {
          const auto step = chunks_.feed(bytes);
          if (step.error != http::Error::None) return false;
          queue_body(step.data);
          bytes.remove_prefix(step.consumed);
          if (step.done) {
            end_request();
          } else if (step.consumed == 0) {
            return false;
          }
        } else {
          const std::size_t n =
              static_cast<std::size_t>(std::min<std::uint64_t>(bytes.size(), remaining_));
          queue_body(bytes.substr(0, n));
          remaining_ -= n;
          bytes.remove_prefix(n);
          if (remaining_ == 0) end_request();
        }
        break;
      case In::Done:
        return false;  // nothing may follow the request
    }
  }
  return true;
}

bool H2UpstreamStream::submit(std::string_view head_bytes) {
  // Parsed again from our own copy: the views must point into bytes that stay put while the
  // field list is built (nghttp2 copies what it keeps).
  http::RequestHead head;
  http::Limits limits;
  limits.max_head_bytes = kMaxHead;
  limits.max_target = kMaxHead;
  if (http::parse_request_head(head_bytes, limits, head).status != http::ParseStatus::Complete) {
    return false;
  }
  std::size_t bytes = 0;
  for (const auto& f : head.fields) bytes += f.name.size();
  thread_local std::string names;
  thread_local std::vector<nghttp2_nv> nva;
  names.clear();
  names.reserve(bytes);
  nva.clear();
  const http::Field* host = head.fields.find("host");
  nva.push_back(make_nv(":method", head.method));
  nva.push_back(make_nv(":scheme", session_->tls_ ? "https" : "http"));
  nva.push_back(make_nv(":authority", host ? host->value : std::string_view()));
  nva.push_back(make_nv(":path", head.target));
  for (const auto& f : head.fields) {
    const std::size_t at = names.size();
    for (char c : f.name) names.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c);
    const std::string_view lower(names.data() + at, f.name.size());
    if (left_out(lower)) continue;
    // The forwarder sends TE only as "trailers", the one value HTTP/2 allows.
    if (lower == "te" && f.value != "trailers") continue;
    nva.push_back(make_nv(lower, f.value));
  }
  nghttp2_data_provider prd;
  prd.source.ptr = nullptr;  // the stream is looked up by id: it may be gone first
  prd.read_callback = read_body_cb;
  const std::int32_t id = nghttp2_submit_request(session_->ng_, nullptr, nva.data(), nva.size(),
                                                 request_done_ ? nullptr : &prd, this);
  if (id < 0) return false;
  id_ = id;
  session_->streams_[id] = this;
  session_->wake();
  return true;
}

void H2UpstreamStream::queue_body(std::string_view data) {
  if (data.empty()) return;
  if (body_off_ > 0 && body_off_ == body_.size()) {
    body_.clear();
    body_off_ = 0;
  }
  body_.append(data);
  if (!closed_ && session_ && !session_->dead_) {
    nghttp2_session_resume_data(session_->ng_, id_);
    session_->wake();
  }
}

void H2UpstreamStream::end_request() {
  req_state_ = In::Done;
  request_done_ = true;
  if (!closed_ && session_ && !session_->dead_) {
    nghttp2_session_resume_data(session_->ng_, id_);
    session_->wake();
  }
}

long H2UpstreamStream::read_body(std::uint8_t* buf, std::size_t length, std::uint32_t* flags) {
  const bool was_blocked = write_blocked();
  const std::size_t n = std::min(length, body_.size() - body_off_);
  std::memcpy(buf, body_.data() + body_off_, n);
  body_off_ += n;
  if (body_off_ == body_.size()) {
    body_.clear();
    body_off_ = 0;
  } else if (body_off_ >= kMaxQueued) {
    body_.erase(0, body_off_);
    body_off_ = 0;
  }
  if (was_blocked && !write_blocked()) wake_writer();
  if (body_.empty() && request_done_) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<long>(n);
  }
  if (n == 0) return NGHTTP2_ERR_DEFERRED;
  return static_cast<long>(n);
}

// ---------------------------------------------------------------- response side

void H2UpstreamStream::begin_headers() {
  in_trailers_ = final_seen_;
  status_ = 0;
  fields_.clear();
}

void H2UpstreamStream::add_field(std::string_view name, std::string_view value) {
  if (name == ":status") {
    int v = 0;
    std::from_chars(value.data(), value.data() + value.size(), v);
    status_ = v;
    return;
  }
  if (name.empty() || name[0] == ':') return;
  // nghttp2 has checked names and values (no CR, LF, NUL, upper case): safe as field lines.
  fields_.append(name).append(": ").append(value).append("\r\n");
}

void H2UpstreamStream::headers_done(bool end_stream) {
  if (resp_off_ > 0 && resp_off_ == resp_.size()) {
    resp_.clear();
    resp_off_ = 0;
  }
  if (in_trailers_) {
    // The trailer section of a chunked body (a Content-Length body cannot carry one).
    if (chunked_out_) resp_.append("0\r\n").append(fields_).append("\r\n");
    response_done_ = true;
  } else if (status_ >= 100 && status_ < 200) {
    append_status_line(resp_, status_);  // 100 Continue, 103 Early Hints: relayed
    resp_.append(fields_).append("\r\n");
  } else {
    final_seen_ = true;
    if (status_ < 200 || status_ > 999) status_ = 502;  // nghttp2 checked it; never here
    append_status_line(resp_, status_);
    resp_.append(fields_);
    const bool bodiless = head_request_ || status_ == 204 || status_ == 304;
    const bool has_length = fields_.starts_with("content-length: ") ||
                            fields_.find("\r\ncontent-length: ") != std::string::npos;
    if (bodiless) {
      // The head describes a body that does not come.
    } else if (end_stream) {
      if (!has_length) resp_.append("content-length: 0\r\n");
    } else if (!has_length) {
      chunked_out_ = true;
      resp_.append("transfer-encoding: chunked\r\n");
    }
    resp_.append("\r\n");
    if (end_stream) response_done_ = true;
  }
  fields_.clear();
  wake_reader();
}

void H2UpstreamStream::add_data(const std::uint8_t* data, std::size_t n) {
  if (n == 0) return;
  unconsumed_ += n;
  if (resp_off_ > 0 && resp_off_ == resp_.size()) {
    resp_.clear();
    resp_off_ = 0;
  }
  if (chunked_out_) {
    char size[20];
    auto [end, ec] = std::to_chars(size, size + sizeof size, n, 16);
    resp_.append(size, end).append("\r\n");
  }
  resp_.append(reinterpret_cast<const char*>(data), n);
  if (chunked_out_) resp_.append("\r\n");
  wake_reader();
}

void H2UpstreamStream::data_end() {
  if (response_done_ || !final_seen_) return;
  if (chunked_out_) resp_.append("0\r\n\r\n");
  response_done_ = true;
  wake_reader();
}

void H2UpstreamStream::closed(std::uint32_t error) {
  closed_ = true;
  if (error == NGHTTP2_NO_ERROR) data_end();
  if (!response_done_) gone_ = true;
  if (session_ && id_ > 0) session_->streams_.erase(id_);
  wake_reader();
  wake_writer();
}

std::size_t H2UpstreamStream::take(char* out, std::size_t n, bool& eof) {
  const std::size_t k = std::min(n, resp_.size() - resp_off_);
  std::memcpy(out, resp_.data() + resp_off_, k);
  resp_off_ += k;
  if (resp_off_ == resp_.size()) {
    resp_.clear();
    resp_off_ = 0;
  } else if (resp_off_ > 64 * 1024) {
    resp_.erase(0, resp_off_);
    resp_off_ = 0;
  }
  eof = resp_.empty() && response_done_;
  // Reopen the server's windows for what was taken (a little early by the chunk framing's few
  // bytes, never by more than was received).
  if (const std::size_t c = std::min(k, unconsumed_); c > 0 && session_ && !session_->dead_) {
    unconsumed_ -= c;
    if (closed_) {
      nghttp2_session_consume_connection(session_->ng_, c);
    } else {
      nghttp2_session_consume(session_->ng_, id_, c);
    }
    session_->wake();
  }
  return k;
}

// ---------------------------------------------------------------- the session

struct H2SessionLoops {
  static asio::awaitable<void> read_loop(std::shared_ptr<H2Session> self);
  static asio::awaitable<void> write_loop(std::shared_ptr<H2Session> self);
  static int on_header(nghttp2_session* ng, const nghttp2_frame* frame, const std::uint8_t* name,
                       std::size_t namelen, const std::uint8_t* value, std::size_t valuelen,
                       std::uint8_t, void*) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    H2UpstreamStream* s = stream_of(ng, frame->hd.stream_id);
    if (s == nullptr) return 0;
    s->add_field(std::string_view(reinterpret_cast<const char*>(name), namelen),
                 std::string_view(reinterpret_cast<const char*>(value), valuelen));
    return 0;
  }
  static int on_begin_frame_headers(nghttp2_session* ng, const nghttp2_frame* frame, void*) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    if (H2UpstreamStream* s = stream_of(ng, frame->hd.stream_id)) s->begin_headers();
    return 0;
  }
  static int on_frame_recv(nghttp2_session* ng, const nghttp2_frame* frame, void* user) {
    auto* session = static_cast<H2Session*>(user);
    const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (frame->hd.type == NGHTTP2_GOAWAY) {
      session->goaway_ = true;
    } else if (frame->hd.type == NGHTTP2_HEADERS) {
      if (H2UpstreamStream* s = stream_of(ng, frame->hd.stream_id)) s->headers_done(end_stream);
    } else if (frame->hd.type == NGHTTP2_DATA && end_stream) {
      if (H2UpstreamStream* s = stream_of(ng, frame->hd.stream_id)) s->data_end();
    }
    return 0;
  }
  static int on_data_chunk(nghttp2_session* ng, std::uint8_t, std::int32_t id,
                           const std::uint8_t* data, std::size_t len, void*) {
    H2UpstreamStream* s = stream_of(ng, id);
    if (s == nullptr) {
      nghttp2_session_consume(ng, id, len);  // nobody reads it: the windows reopen
      return 0;
    }
    s->add_data(data, len);
    return 0;
  }
  static int on_stream_close(nghttp2_session* ng, std::int32_t id, std::uint32_t error, void*) {
    if (H2UpstreamStream* s = stream_of(ng, id)) s->closed(error);
    return 0;
  }
};

H2Session::H2Session(std::unique_ptr<UpstreamConn> conn, bool tls, DeadlineWheel& wheel,
                     std::chrono::milliseconds write_timeout)
    : conn_(std::move(conn)),
      tls_(tls),
      wheel_(wheel),
      write_timeout_(write_timeout),
      wake_(conn_->stream.get_executor(), asio::steady_timer::time_point::max()),
      idle_since_(std::chrono::steady_clock::now()) {}

H2Session::~H2Session() {
  if (ng_ != nullptr) nghttp2_session_del(ng_);
}

std::shared_ptr<H2Session> H2Session::start(std::unique_ptr<UpstreamConn> conn, bool tls,
                                            DeadlineWheel& wheel,
                                            std::chrono::milliseconds write_timeout) {
  std::shared_ptr<H2Session> s(new H2Session(std::move(conn), tls, wheel, write_timeout));
  if (!s->init()) return nullptr;
  s->run();
  return s;
}

bool H2Session::init() {
  nghttp2_session_callbacks* cbs = nullptr;
  if (nghttp2_session_callbacks_new(&cbs) != 0) return false;
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs,
                                                          H2SessionLoops::on_begin_frame_headers);
  nghttp2_session_callbacks_set_on_header_callback(cbs, H2SessionLoops::on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, H2SessionLoops::on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, H2SessionLoops::on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, H2SessionLoops::on_stream_close);
  nghttp2_option* opt = nullptr;
  if (nghttp2_option_new(&opt) != 0) {
    nghttp2_session_callbacks_del(cbs);
    return false;
  }
  nghttp2_option_set_no_auto_window_update(opt, 1);
  const int rv = nghttp2_session_client_new2(&ng_, cbs, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
  if (rv != 0) return false;
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kStreamWindow},
  };
  if (nghttp2_submit_settings(ng_, NGHTTP2_FLAG_NONE, settings, std::size(settings)) != 0) {
    return false;
  }
  nghttp2_session_set_local_window_size(ng_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
  return true;
}

void H2Session::run() {
  auto self = shared_from_this();
  asio::co_spawn(
      conn_->stream.get_executor(),
      [self]() -> asio::awaitable<void> {
        co_await (H2SessionLoops::read_loop(self) && H2SessionLoops::write_loop(self));
        self->dead_ = true;
        // Every stream still open fails (connection_reset to its reader).
        auto streams = std::move(self->streams_);
        for (auto& [id, s] : streams) s->closed(NGHTTP2_INTERNAL_ERROR);
        boost::system::error_code ec;
        self->conn_->stream.socket().close(ec);
      },
      log::Escaped{"HTTP/2 upstream connection failed: internal error"});
}

bool H2Session::usable() const {
  if (dead_ || goaway_ || retired_ || nghttp2_session_check_request_allowed(ng_) == 0) return false;
  const std::uint32_t limit =
      nghttp2_session_get_remote_settings(ng_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
  return open_ < kMaxStreams && static_cast<std::uint32_t>(open_) < limit;
}

std::shared_ptr<H2UpstreamStream> H2Session::open() {
  ++open_;
  return std::make_shared<H2UpstreamStream>(shared_from_this(), conn_->stream.get_executor());
}

void H2Session::forget(H2UpstreamStream* s) {
  if (s->id() > 0) {
    auto it = streams_.find(s->id());
    if (it != streams_.end() && it->second == s) streams_.erase(it);
  }
  if (--open_ == 0) {
    idle_since_ = std::chrono::steady_clock::now();
    if (retired_) close();
  }
}

void H2Session::retire() {
  retired_ = true;
  if (open_ == 0) close();
}

void H2Session::wake() { wake_.cancel(); }

void H2Session::close() {
  if (dead_) return;
  dead_ = true;
  boost::system::error_code ec;
  conn_->stream.socket().cancel(ec);
  wake();
}

asio::awaitable<void> H2SessionLoops::read_loop(std::shared_ptr<H2Session> self) {
  Buffer& buffer = self->conn_->buffer;
  for (;;) {
    if (!buffer.empty()) {
      const std::string_view got = buffer.readable();
      const ssize_t rv = nghttp2_session_mem_recv(
          self->ng_, reinterpret_cast<const std::uint8_t*>(got.data()), got.size());
      buffer.clear();
      if (rv < 0) {
        nghttp2_session_terminate_session(self->ng_, NGHTTP2_PROTOCOL_ERROR);
        break;
      }
      self->wake();
    }
    if (self->dead_) break;
    if (nghttp2_session_want_read(self->ng_) == 0 && nghttp2_session_want_write(self->ng_) == 0) {
      break;
    }
    auto [ec, n] = co_await self->conn_->stream.async_read_some(buffer.prepare(), kNoThrow);
    if (ec) break;
    buffer.commit(n);
  }
  self->dead_ = true;
  self->wake();
}

asio::awaitable<void> H2SessionLoops::write_loop(std::shared_ptr<H2Session> self) {
  Deadline stall(
      self->wheel_,
      [](void* p) {
        boost::system::error_code ec;
        static_cast<asio::ip::tcp::socket*>(p)->cancel(ec);
      },
      &self->conn_->stream.socket());
  std::string out;
  for (;;) {
    out.clear();
    while (out.size() < kWriteBatch) {
      const std::uint8_t* data = nullptr;
      const ssize_t n = nghttp2_session_mem_send(self->ng_, &data);
      if (n <= 0) break;
      out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
    if (!out.empty()) {
      // A server that stops reading for this long loses the connection (and its streams).
      stall.arm(self->write_timeout_);
      auto [ec, n] = co_await asio::async_write(self->conn_->stream, asio::buffer(out), kNoThrow);
      stall.disarm();
      if (ec) break;
      continue;
    }
    if (self->dead_) break;
    co_await self->wake_.async_wait(kNoThrow);
  }
  self->dead_ = true;
  boost::system::error_code ec;
  self->conn_->stream.socket().cancel(ec);  // the reader stops too
}

}  // namespace portier::proxy
