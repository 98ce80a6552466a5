// One HTTP/2 stream as the HTTP/1.1 request code sees it: a byte stream that reads the request
// as HTTP/1.1 bytes (a head made from the stream's fields, then its DATA) and takes the
// response as HTTP/1.1 bytes, which the HTTP/2 codec turns back into HEADERS and DATA frames
// (entrypoints/h2_stream.h). Apache's mod_http2 joins the two protocols the same way: routing,
// middlewares, the forwarder and load balancing run unchanged for both, and every request head,
// whichever protocol brought it, goes through the same strict HTTP/1.1 parser before anything
// reads it.
//
// The asynchronous operations behave like a socket's: a read waits until request bytes are
// there (eof once the stream's request ended), a write waits while too much response is queued
// (the client's flow-control window is what drains it), and cancel() makes the pending ones
// complete with operation_aborted, which is how a Deadline stops them.
//
// Threading: one worker thread (the connection's), like the socket it stands for.
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <string_view>

namespace portier::proxy {

class StreamPipe {
 public:
  using executor_type = boost::asio::any_io_executor;

  explicit StreamPipe(const boost::asio::any_io_executor& ex)
      : read_wake_(ex, boost::asio::steady_timer::time_point::max()),
        write_wake_(ex, boost::asio::steady_timer::time_point::max()) {}
  virtual ~StreamPipe() = default;
  StreamPipe(const StreamPipe&) = delete;
  StreamPipe& operator=(const StreamPipe&) = delete;

  executor_type get_executor() { return read_wake_.get_executor(); }

  template <typename Buffers, typename Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    namespace asio = boost::asio;
    return asio::async_compose<Token, void(boost::system::error_code, std::size_t)>(
        [this, buffers, started = cancels_, posted = false](
            auto& self, boost::system::error_code = {}) mutable {
          if (!posted) {  // never complete inside the initiating call
            posted = true;
            asio::post(read_wake_.get_executor(), std::move(self));
            return;
          }
          if (cancels_ != started) return self.complete(asio::error::operation_aborted, 0);
          std::size_t n = 0;
          bool eof = false;
          for (auto it = asio::buffer_sequence_begin(buffers);
               it != asio::buffer_sequence_end(buffers) && !eof; ++it) {
            asio::mutable_buffer b(*it);
            if (b.size() == 0) continue;
            std::size_t got = take(static_cast<char*>(b.data()), b.size(), eof);
            n += got;
            if (got < b.size()) break;
          }
          if (n > 0) return self.complete({}, n);
          if (eof) return self.complete(asio::error::eof, 0);
          if (gone()) return self.complete(asio::error::connection_reset, 0);
          read_wake_.async_wait(std::move(self));
        },
        token, read_wake_);
  }

  template <typename Buffers, typename Token>
  auto async_write_some(const Buffers& buffers, Token&& token) {
    namespace asio = boost::asio;
    return asio::async_compose<Token, void(boost::system::error_code, std::size_t)>(
        [this, buffers, started = cancels_, posted = false](
            auto& self, boost::system::error_code = {}) mutable {
          if (!posted) {
            posted = true;
            asio::post(write_wake_.get_executor(), std::move(self));
            return;
          }
          if (cancels_ != started) return self.complete(asio::error::operation_aborted, 0);
          if (gone()) return self.complete(asio::error::broken_pipe, 0);
          if (write_blocked()) return write_wake_.async_wait(std::move(self));
          std::size_t n = 0;
          for (auto it = asio::buffer_sequence_begin(buffers);
               it != asio::buffer_sequence_end(buffers); ++it) {
            asio::const_buffer b(*it);
            if (!give(std::string_view(static_cast<const char*>(b.data()), b.size()))) {
              return self.complete(asio::error::broken_pipe, 0);
            }
            n += b.size();
          }
          return self.complete({}, n);
        },
        token, write_wake_);
  }

  // What a socket's cancel() does: pending reads and writes end with operation_aborted.
  void cancel() {
    ++cancels_;
    wake_reader();
    wake_writer();
  }

 protected:
  // The codec's side. take: copies up to `n` request bytes to `out`, returns how many; sets
  // `eof` once the request has ended and every byte was taken.
  virtual std::size_t take(char* out, std::size_t n, bool& eof) = 0;
  // Accepts response bytes; false when they cannot be (malformed, or the stream is gone).
  virtual bool give(std::string_view bytes) = 0;
  // The stream was reset or its connection closed: nothing more will come or go.
  virtual bool gone() const = 0;
  // Too much response is queued: writers wait for wake_writer().
  virtual bool write_blocked() const = 0;
  void wake_reader() { read_wake_.cancel(); }
  void wake_writer() { write_wake_.cancel(); }

 private:
  boost::asio::steady_timer read_wake_;
  boost::asio::steady_timer write_wake_;
  std::uint64_t cancels_ = 0;
};

}  // namespace portier::proxy
