#include "entrypoints/h2_connection.h"

#include <nghttp2/nghttp2.h>
#include <sys/mman.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "common/asio_recycling.h"
#include "common/log.h"
#include "entrypoints/h2_stream.h"
#include "entrypoints/worker.h"
#include "proxy/forwarder.h"

namespace portier::entrypoints {
namespace {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

constexpr std::int32_t kStreamWindow = 256 * 1024;
constexpr std::int32_t kConnectionWindow = 1024 * 1024;
constexpr std::size_t kWriteBatch = 64 * 1024;  // frames gathered into one socket write
constexpr int kMaxEmptyDataFrames = 100;        // per connection, without END_STREAM
constexpr std::size_t kMaxSpareSlots = 16;      // request states kept between streams

// nghttp2's memory. Blocks of 16 KiB or more (the send buffer a session makes when it starts
// and keeps to its end, and a chunk more for a large header block) are mapped on their own, so
// the pages a connection never writes are never resident: from malloc the block would take
// pages that earlier buffers touched, 16 KiB per connection for as long as it is open, idle or
// not. Smaller blocks come from the worker's size-class lists (common/asio_recycling.h, the
// lists of Asio's coroutine frames): nghttp2 makes and frees four a request (callgrind), and
// ten streams in flight free them in bursts that glibc's per-thread cache (7 blocks a size)
// does not hold, so most went through malloc's slower paths. Each block keeps its size in a
// 16-byte header, as nghttp2 frees without saying the size.
constexpr std::size_t kMapAtLeast = 16 * 1024;
constexpr std::size_t kBlockHeader = 16;  // keeps malloc's alignment

void* h2_alloc(std::size_t size, bool zero) {
  const std::size_t total = size + kBlockHeader;
  char* p = nullptr;
  if (size >= kMapAtLeast) {
    void* m = ::mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return nullptr;
    p = static_cast<char*>(m);  // zero-filled
  } else {
    try {
      p = static_cast<char*>(recycling::allocate(total, alignof(std::max_align_t)));
    } catch (const std::bad_alloc&) {
      return nullptr;  // nghttp2 answers NGHTTP2_ERR_NOMEM
    }
    if (zero) std::memset(p, 0, total);
  }
  std::memcpy(p, &size, sizeof size);
  return p + kBlockHeader;
}
std::size_t h2_block_size(void* ptr) {
  std::size_t size = 0;
  std::memcpy(&size, static_cast<char*>(ptr) - kBlockHeader, sizeof size);
  return size;
}
void h2_free(void* ptr, void*) {
  if (ptr == nullptr) return;
  char* p = static_cast<char*>(ptr) - kBlockHeader;
  const std::size_t size = h2_block_size(ptr);
  if (size >= kMapAtLeast) {
    ::munmap(p, size + kBlockHeader);
  } else {
    recycling::deallocate(p, size + kBlockHeader);
  }
}
void* h2_malloc(std::size_t size, void*) { return h2_alloc(size, false); }
void* h2_calloc(std::size_t n, std::size_t size, void*) {
  if (size != 0 && n > SIZE_MAX / size) return nullptr;
  return h2_alloc(n * size, true);
}
// Always a new block (rare: nghttp2 grows a few buffers this way): a list's block must keep
// its class's whole size, which realloc would not.
void* h2_realloc(void* ptr, std::size_t size, void* user) {
  if (ptr == nullptr) return h2_alloc(size, false);
  const std::size_t old = h2_block_size(ptr);
  void* fresh = h2_alloc(size, false);
  if (fresh == nullptr) return nullptr;
  std::memcpy(fresh, ptr, std::min(old, size));
  h2_free(ptr, user);
  return fresh;
}
nghttp2_mem h2_mem{nullptr, h2_malloc, h2_free, h2_calloc, h2_realloc};

class Connection {
 public:
  Connection(Worker& worker, const EntryPointSpec& ep, proxy::ClientStream& socket,
             SessionHandle& handle, const Peer& peer)
      : worker_(worker),
        ep_(ep),
        socket_(socket),
        handle_(handle),
        peer_(peer),
        wake_(socket.get_executor(), asio::steady_timer::time_point::max()),
        all_done_(socket.get_executor(), asio::steady_timer::time_point::max()),
        deadline_(worker.state().wheel(), proxy::cancel_client, &socket) {}
  ~Connection() {
    if (session_ != nullptr) nghttp2_session_del(session_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  asio::awaitable<Ended> run(proxy::Buffer& buffer);

 private:
  bool start();
  asio::awaitable<void> read_loop(proxy::Buffer& buffer);
  asio::awaitable<void> write_loop();
  asio::awaitable<void> handle_stream(H2Stream* s);
  void wake() { wake_.cancel(); }
  // An idle connection's memory that the next stream makes again: the read buffer, the write
  // batch, the spare stream states, TLS's input and output room (read_loop).
  void release_idle(proxy::Buffer& buffer) {
    buffer.release();
    std::string().swap(out_);
    spare_.clear();
    spare_streams_.clear();
    if (socket_.is_tls()) socket_.tls().release_buffers();
  }
  static void wake_cb(void* p) { static_cast<Connection*>(p)->wake(); }
  void goaway() {
    if (goaway_sent_) return;
    goaway_sent_ = true;
    nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                          nullptr, 0);
    wake();
  }
  void forget(H2Stream* s) {
    if (!s->closed() || s->handler_running()) return;
    auto it = streams_.find(s->id());
    if (it == streams_.end()) return;
    if (spare_streams_.size() < kMaxSpareSlots) spare_streams_.push_back(std::move(it->second));
    streams_.erase(it);
    // The last stream is gone while the reader waits in a read it started with streams open:
    // the idle timeout runs from now, and the worker's tick may have the connection give its
    // memory back (read_loop), as when the connection is idle before a read.
    if (reading_ && live_handlers_ == 0 && streams_.empty()) {
      deadline_.arm(ep_.config.responding_timeouts.idle_timeout);
      handle_.waiting = true;
      handle_.waiting_ticks = 0;
    }
  }
  // Nothing open and nothing to send: the read is the only operation on the socket, so the
  // worker's tick may cancel it (SessionHandle::may_release).
  bool quiet() {
    return live_handlers_ == 0 && streams_.empty() && out_.empty() &&
           nghttp2_session_want_write(session_) == 0 && socket_.can_wait_idle_after_read();
  }
  H2Stream* stream(std::int32_t id) {
    return static_cast<H2Stream*>(nghttp2_session_get_stream_user_data(session_, id));
  }

  // An exception in a callback (memory running out) must not unwind through nghttp2's C code,
  // which would leave its session half-updated: it is logged, and the callback fails, which
  // makes nghttp2_session_mem_recv fail and the connection end (GOAWAY INTERNAL_ERROR).
  int failed_in_callback() {
    log::error("HTTP/2 connection failed: internal error",
               {{"entrypoint", ep_.name},
                {"client", peer_.ip},
                {"error", log::describe(std::current_exception())}});
    internal_failure_ = true;
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }

  // nghttp2 callbacks (user_data is the Connection).
  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user);
  int begin_headers(nghttp2_session* session, const nghttp2_frame* frame);  // within its try
  int frame_recv(const nghttp2_frame* frame);                               // within its try
  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                       std::size_t namelen, const std::uint8_t* value, std::size_t valuelen,
                       std::uint8_t flags, void* user);
  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user);
  static int on_data_chunk(nghttp2_session*, std::uint8_t flags, std::int32_t id,
                           const std::uint8_t* data, std::size_t len, void* user);
  static int on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t error, void* user);
  static int on_frame_send(nghttp2_session*, const nghttp2_frame* frame, void* user);

  Worker& worker_;
  const EntryPointSpec& ep_;
  proxy::ClientStream& socket_;
  SessionHandle& handle_;
  const Peer& peer_;
  nghttp2_session* session_ = nullptr;
  std::unordered_map<std::int32_t, std::unique_ptr<H2Stream>> streams_;
  // What a stream's request code uses, kept for the next stream.
  struct Slot {
    // 2 KiB at first: a stream's request head is rebuilt from HPACK, most in well under that;
    // the buffer grows for a larger head or a request body (proxy/buffer.h).
    explicit Slot(std::size_t buffer_size) : buffer(buffer_size, 2 * 1024) {}
    proxy::Buffer buffer;
    RequestScratch rs;
  };
  std::vector<std::unique_ptr<Slot>> spare_;
  std::vector<std::unique_ptr<H2Stream>> spare_streams_;  // finished streams, for new ones
  asio::steady_timer wake_;      // the writer waits on it; cancel() wakes it
  asio::steady_timer all_done_;  // run() waits on it for the last handler
  proxy::Deadline deadline_;
  std::string out_;
  int live_handlers_ = 0;
  int empty_data_frames_ = 0;
  bool reading_ = false;  // read_loop waits in async_read_some
  bool reading_done_ = false;
  bool writer_failed_ = false;
  bool goaway_sent_ = false;
  bool peer_gone_ = false;
  bool internal_failure_ = false;  // a callback threw: the session ends with INTERNAL_ERROR
};

bool Connection::start() {
  nghttp2_session_callbacks* cbs = nullptr;
  if (nghttp2_session_callbacks_new(&cbs) != 0) return false;
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, on_frame_send);
  nghttp2_option* opt = nullptr;
  if (nghttp2_option_new(&opt) != 0) {
    nghttp2_session_callbacks_del(cbs);
    return false;
  }
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_option_set_max_deflate_dynamic_table_size(
      opt, static_cast<std::size_t>(ep_.config.http2.max_encoder_header_table_size));
  // Rapid reset: nghttp2 answers a burst of more than 200 resets (then 50 a second) with GOAWAY.
  nghttp2_option_set_stream_reset_rate_limit(opt, 200, 50);
  // Closed streams are forgotten at once. nghttp2 keeps up to maxConcurrentStreams of them per
  // connection (3 MB at 50 connections x 10 streams) only so that a new stream may name a
  // closed one as its parent in RFC 7540's priority tree; such a stream gets the default
  // priority instead. Priorities among open and idle streams are kept.
  nghttp2_option_set_no_closed_streams(opt, 1);
  const int rv = nghttp2_session_server_new3(&session_, cbs, this, opt, &h2_mem);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
  if (rv != 0) return false;
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS,
       static_cast<std::uint32_t>(ep_.config.http2.max_concurrent_streams)},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<std::uint32_t>(kStreamWindow)},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
       static_cast<std::uint32_t>(ep_.limits.max_head_bytes)},
      {NGHTTP2_SETTINGS_HEADER_TABLE_SIZE,
       static_cast<std::uint32_t>(ep_.config.http2.max_decoder_header_table_size)},
  };
  if (nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings)) != 0) {
    return false;
  }
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
  return true;
}

asio::awaitable<Ended> Connection::run(proxy::Buffer& buffer) {
  if (!start()) co_return Ended::Closed;
  handle_.on_drain = [](void* p) { static_cast<Connection*>(p)->goaway(); };
  handle_.on_drain_ctx = this;
  handle_.may_release = [](void* p) { return static_cast<Connection*>(p)->quiet(); };
  handle_.may_release_ctx = this;
  co_await (read_loop(buffer) && write_loop());
  handle_.on_drain = nullptr;
  handle_.may_release = nullptr;
  // Every stream ends with the connection; their handlers stop at their next read or write (or
  // now, for one waiting on a server).
  for (auto& [id, s] : streams_) s->close(true);
  while (live_handlers_ > 0) co_await all_done_.async_wait(kNoThrow);
  co_return peer_gone_ ? Ended::PeerGone : Ended::Closed;
}

asio::awaitable<void> Connection::read_loop(proxy::Buffer& buffer) {
  const auto& timeouts = ep_.config.responding_timeouts;
  bool first = true;
  for (;;) {
    if (!buffer.empty()) {
      const std::string_view got = buffer.readable();
      const ssize_t rv = nghttp2_session_mem_recv(
          session_, reinterpret_cast<const std::uint8_t*>(got.data()), got.size());
      if (rv < 0) {
        log::debug("http2 connection error", {{"entrypoint", ep_.name},
                                              {"client", peer_.ip},
                                              {"error", nghttp2_strerror(static_cast<int>(rv))}});
        // A protocol error has its GOAWAY queued; a flood is cut at once.
        if (rv != NGHTTP2_ERR_FLOODED && rv != NGHTTP2_ERR_BAD_CLIENT_MAGIC) {
          nghttp2_session_terminate_session(
              session_, internal_failure_ ? NGHTTP2_INTERNAL_ERROR : NGHTTP2_PROTOCOL_ERROR);
        }
        break;
      }
      buffer.clear();
      wake();
    }
    if (worker_.draining()) goaway();
    if (nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0) {
      break;
    }
    if (writer_failed_) break;
    // While no stream is open, the connection is idle: idleTimeout, then GOAWAY (the first
    // frames get readHeaderTimeout, as a request head would).
    const bool idle = live_handlers_ == 0 && streams_.empty();
    handle_.idle = idle && !first;
    if (idle) deadline_.arm(first ? timeouts.read_header_timeout : timeouts.idle_timeout);
    // At once when the bytes are there (ClientStream::read_now). No read_done after a wait:
    // the writer may be sending on the same socket meanwhile.
    boost::system::error_code ec;
    std::size_t n = 0;
    if (!socket_.read_now(buffer.prepare(), n, ec)) {
      // Idle: a wait through a whole tick of the worker is cancelled once quiet() (worker.h,
      // SessionHandle::waiting, as for HTTP/1.1), and the connection gives back what the next
      // stream makes again, then waits for the client without a read buffer. forget() starts
      // the same when the last stream ends during a read.
      handle_.waiting = idle && !first;
      reading_ = true;
      std::tie(ec, n) = co_await socket_.async_read_some(buffer.prepare(), kNoThrow);
      reading_ = false;
      handle_.waiting = false;
      handle_.waiting_ticks = 0;
      if (std::exchange(handle_.release, false) && ec == asio::error::operation_aborted &&
          !deadline_.expired() && !worker_.draining()) {
        release_idle(buffer);
        std::tie(ec) = co_await socket_.async_wait_readable(kNoThrow);
        if (!ec) {
          deadline_.disarm();
          handle_.idle = false;
          continue;  // read_now at the top reads what woke it
        }
      }
    }
    deadline_.disarm();
    handle_.idle = false;
    if (ec) {
      if (ec == asio::error::operation_aborted && !deadline_.expired() && worker_.draining() &&
          !writer_failed_) {
        goaway();  // the worker drains: no new streams, the open ones finish
        continue;
      }
      if (deadline_.expired()) {
        goaway();
      } else {
        peer_gone_ = !(socket_.is_tls() && ec == asio::error::eof);
      }
      break;
    }
    first = false;
    buffer.commit(n);
  }
  reading_done_ = true;
  wake();
}

asio::awaitable<void> Connection::write_loop() {
  const auto& timeouts = ep_.config.responding_timeouts;
  proxy::Deadline write_deadline(worker_.state().wheel(), proxy::cancel_client, &socket_);
  for (;;) {
    out_.clear();
    while (out_.size() < kWriteBatch) {
      const std::uint8_t* data = nullptr;
      const ssize_t n = nghttp2_session_mem_send(session_, &data);
      if (n < 0) {
        writer_failed_ = true;
        break;
      }
      if (n == 0) break;
      out_.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
    if (!out_.empty()) {
      asio::const_buffer b = asio::buffer(out_);
      boost::system::error_code ec;
      if (!socket_.write_now({&b, 1}, ec)) {  // what the socket did not take now, waited for
        write_deadline.arm(timeouts.write_timeout);
        std::tie(ec, std::ignore) = co_await asio::async_write(socket_, b, kNoThrow);
        write_deadline.disarm();
      }
      if (ec) writer_failed_ = true;
    }
    if (writer_failed_) {
      boost::system::error_code ignored;
      socket_.cancel(ignored);  // the reader stops too
      break;
    }
    if (!out_.empty()) continue;
    if (reading_done_) break;
    if (nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0) {
      // GOAWAY is out and the last stream is done: the reader stops waiting for the client.
      boost::system::error_code ignored;
      socket_.cancel(ignored);
      break;
    }
    co_await wake_.async_wait(kNoThrow);
  }
}

asio::awaitable<void> Connection::handle_stream(H2Stream* s) {
  // serve_requests answers what throws within a request; this catches the rest (the slot's
  // allocation, the spare list's growth), so that the stream still ends below (reset when it has
  // no complete answer) and the connection does not wait for a handler that is gone.
  try {
    // A finished stream's buffer and request state serve the next one.
    std::unique_ptr<Slot> slot;
    if (spare_.empty()) {
      slot = std::make_unique<Slot>(std::max<std::size_t>(ep_.limits.max_head_bytes, 16 * 1024));
    } else {
      slot = std::move(spare_.back());
      spare_.pop_back();
      slot->buffer.clear();
    }
    proxy::ClientStream stream(socket_, *s);
    co_await serve_requests(worker_, ep_, stream, slot->buffer, s->handle, peer_, slot->rs, true);
    if (spare_.size() < kMaxSpareSlots) {
      slot->buffer.clear();
      slot->buffer.shrink();
      spare_.push_back(std::move(slot));
    }
  } catch (...) {
    log::error("HTTP/2 stream failed: internal error",
               {{"entrypoint", ep_.name},
                {"client", peer_.ip},
                {"error", log::describe(std::current_exception())}});
  }
  s->handler_done();
  --live_handlers_;
  if (worker_.draining()) goaway();
  wake();
  forget(s);
  if (live_handlers_ == 0) all_done_.cancel();
}

int Connection::on_begin_headers(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
  auto* c = static_cast<Connection*>(user);
  try {
    return c->begin_headers(session, frame);
  } catch (...) {
    return c->failed_in_callback();
  }
}

int Connection::begin_headers(nghttp2_session* session, const nghttp2_frame* frame) {
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  const std::int32_t id = frame->hd.stream_id;
  // Handlers of reset streams still count: a client cannot have more requests in the works
  // than it may have streams open.
  if (live_handlers_ >= ep_.config.http2.max_concurrent_streams || goaway_sent_) {
    nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, id, NGHTTP2_REFUSED_STREAM);
    return 0;
  }
  std::unique_ptr<H2Stream> s;
  if (spare_streams_.empty()) {
    s = std::make_unique<H2Stream>(session, id, ep_.limits.max_head_bytes, socket_.get_executor(),
                                   wake_cb, this);
  } else {
    s = std::move(spare_streams_.back());
    spare_streams_.pop_back();
    s->reuse(id);
  }
  nghttp2_session_set_stream_user_data(session, id, s.get());
  streams_[id] = std::move(s);
  return 0;
}

int Connection::on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                          std::size_t namelen, const std::uint8_t* value, std::size_t valuelen,
                          std::uint8_t, void* user) {
  auto* c = static_cast<Connection*>(user);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
    return 0;  // trailers: not forwarded
  }
  H2Stream* s = c->stream(frame->hd.stream_id);
  if (s == nullptr) return 0;
  try {
    s->add_field(std::string_view(reinterpret_cast<const char*>(name), namelen),
                 std::string_view(reinterpret_cast<const char*>(value), valuelen));
  } catch (...) {
    return c->failed_in_callback();
  }
  return 0;
}

int Connection::on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto* c = static_cast<Connection*>(user);
  try {
    return c->frame_recv(frame);
  } catch (...) {
    return c->failed_in_callback();
  }
}

int Connection::frame_recv(const nghttp2_frame* frame) {
  const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  switch (frame->hd.type) {
    case NGHTTP2_HEADERS: {
      H2Stream* s = stream(frame->hd.stream_id);
      if (s == nullptr) return 0;
      if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        if (const int status = s->headers_done(end_stream); status != 0) {
          s->answer_status(status);
          return 0;
        }
        // Counted from now, not from when the coroutine first runs: a burst of streams in one
        // read must meet the limit too (and co_spawn may run it here, up to its first wait).
        s->handler_started();
        ++live_handlers_;
        try {
          asio::co_spawn(socket_.get_executor(), handle_stream(s),
                         log::Escaped{"HTTP/2 stream failed: internal error"});
        } catch (...) {
          // Its frames could not be made: it never ran, and nothing else counts it down.
          --live_handlers_;
          s->handler_done();
          throw;
        }
      } else if (end_stream) {
        s->request_end();  // after trailers
      }
      return 0;
    }
    case NGHTTP2_DATA: {
      if (frame->hd.length == 0 && !end_stream && ++empty_data_frames_ > kMaxEmptyDataFrames) {
        return NGHTTP2_ERR_CALLBACK_FAILURE;  // a flood of empty frames (CVE-2019-9518)
      }
      H2Stream* s = stream(frame->hd.stream_id);
      if (s != nullptr && end_stream) s->request_end();
      return 0;
    }
    default:
      return 0;
  }
}

int Connection::on_data_chunk(nghttp2_session* session, std::uint8_t, std::int32_t id,
                              const std::uint8_t* data, std::size_t len, void* user) {
  auto* c = static_cast<Connection*>(user);
  H2Stream* s = c->stream(id);
  if (s == nullptr || !s->handler_running()) {
    // Nobody reads it (a refused stream, or a request already answered): the windows reopen.
    nghttp2_session_consume(session, id, len);
    return 0;
  }
  try {
    s->add_data(data, len);
  } catch (...) {
    return c->failed_in_callback();
  }
  return 0;
}

int Connection::on_stream_close(nghttp2_session* session, std::int32_t id, std::uint32_t error,
                                void* user) {
  auto* c = static_cast<Connection*>(user);
  H2Stream* s = c->stream(id);
  if (s == nullptr) return 0;
  const std::size_t left = s->close(error != NGHTTP2_NO_ERROR);
  if (left > 0) nghttp2_session_consume_connection(session, left);
  nghttp2_session_set_stream_user_data(session, id, nullptr);
  try {
    c->forget(s);  // the spare list's growth may throw
  } catch (...) {
    return c->failed_in_callback();
  }
  return 0;
}

int Connection::on_frame_send(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
  auto* c = static_cast<Connection*>(user);
  if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
      (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) {
    H2Stream* s = c->stream(frame->hd.stream_id);
    // The response is complete and the client is still sending: it may stop (RFC 9113 8.1).
    if (s != nullptr && !s->request_ended()) {
      nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_NO_ERROR);
    }
  }
  return 0;
}

}  // namespace

asio::awaitable<Ended> serve_h2(Worker& worker, const EntryPointSpec& ep,
                                proxy::ClientStream& socket, proxy::Buffer& buffer,
                                SessionHandle& handle, const Peer& peer) {
  Connection c(worker, ep, socket, handle, peer);
  co_return co_await c.run(buffer);
}

}  // namespace portier::entrypoints
