// HTTP/2 to servers: `h2c://` URLs (HTTP/2 with prior knowledge on plain TCP, how gRPC servers
// are reached) and `https://` servers that pick `h2` by ALPN (offered unless the
// serversTransport says disableHTTP2, as Traefik does).
//
// The forwarder is not told. It writes the request as HTTP/1.1 bytes and reads the response as
// HTTP/1.1 bytes, as for any server; an H2UpstreamStream is the pipe in between (the twin of the
// client side's H2Stream, see proxy/stream_pipe.h):
//   - request: the head the forwarder wrote is parsed back with portier's own parser and becomes
//     HEADERS (:method, :scheme, :authority from Host, :path; names lower-cased; connection-
//     specific fields left out, `TE: trailers` kept); its body, by Content-Length or chunks,
//     becomes DATA, sent as the server's window allows. At most kMaxQueued bytes wait; a writer
//     past that waits (back-pressure towards the client).
//   - response: HEADERS become an HTTP/1.1 head (1xx ones too, which the forwarder relays), DATA
//     the body: as is under the server's Content-Length, else chunk-encoded with the trailing
//     HEADERS (gRPC's grpc-status) as the chunked trailer section, which the forwarder passes on
//     to the client. The server's window reopens only for bytes the forwarder took.
// Every stream has its own deadlines (the forwarder's, which cancel the pipe, never the
// connection); a stream the forwarder leaves unfinished is reset (RST_STREAM CANCEL).
//
// H2Session is one connection: nghttp2 as client, a reader and a writer coroutine, its streams.
// The worker's pool for the server keeps its sessions (UpstreamPool::h2_*): a request takes a
// session that is open, has not been told GOAWAY and has a stream to spare under the server's
// SETTINGS_MAX_CONCURRENT_STREAMS, else a new connection is made. Idle sessions close after the
// transport's idle timeout like idle HTTP/1.1 connections.
//
// Threading: a session and its streams live on the worker that made them.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "proxy/deadline.h"
#include "proxy/http/chunked.h"
#include "proxy/stream_pipe.h"

struct nghttp2_session;

namespace portier::proxy {

struct UpstreamConn;
class H2Session;

class H2UpstreamStream final : public StreamPipe {
 public:
  static constexpr std::size_t kMaxQueued = 64 * 1024;  // request body bytes waiting for DATA

  H2UpstreamStream(std::shared_ptr<H2Session> session, const boost::asio::any_io_executor& ex);
  ~H2UpstreamStream() override;

  // The forwarder is done with the stream: a stream still open is reset (nothing more will be
  // read or written); the session forgets it.
  void finish();

  // --- from the session's callbacks ---
  void begin_headers();
  void add_field(std::string_view name, std::string_view value);
  void headers_done(bool end_stream);
  void add_data(const std::uint8_t* data, std::size_t n);
  void data_end();  // END_STREAM on a DATA frame
  void closed(std::uint32_t error);
  // nghttp2's data source for the request body.
  long read_body(std::uint8_t* buf, std::size_t length, std::uint32_t* flags);
  std::int32_t id() const { return id_; }

 protected:
  std::size_t take(char* out, std::size_t n, bool& eof) override;
  bool give(std::string_view bytes) override;
  bool gone() const override { return gone_; }
  bool write_blocked() const override { return body_.size() - body_off_ >= kMaxQueued; }

 private:
  bool submit(std::string_view head_bytes);
  void queue_body(std::string_view data);
  void end_request();

  std::shared_ptr<H2Session> session_;
  std::int32_t id_ = -1;
  // Request.
  enum class In { Head, Body, Done } req_state_ = In::Head;
  std::string head_acc_;
  std::uint64_t remaining_ = 0;
  bool chunked_ = false;
  http::ChunkedDecoder chunks_;
  std::string body_;  // DATA not yet sent
  std::size_t body_off_ = 0;
  bool request_done_ = false;
  bool head_request_ = false;
  // Response.
  std::string fields_;  // the field lines of the header block being received
  std::string resp_;    // HTTP/1.1 bytes for take()
  std::size_t resp_off_ = 0;
  int status_ = 0;
  bool final_seen_ = false;
  bool in_trailers_ = false;
  bool chunked_out_ = false;
  bool response_done_ = false;
  std::size_t unconsumed_ = 0;  // DATA bytes not yet given back to the windows
  bool gone_ = false;
  bool closed_ = false;
};

class H2Session : public std::enable_shared_from_this<H2Session> {
 public:
  // `conn` is connected (and, with `tls`, has finished its handshake with ALPN h2). Starts the
  // reader and writer; null when nghttp2 cannot be set up.
  static std::shared_ptr<H2Session> start(std::unique_ptr<UpstreamConn> conn, bool tls,
                                          DeadlineWheel& wheel,
                                          std::chrono::milliseconds write_timeout);
  ~H2Session();
  H2Session(const H2Session&) = delete;
  H2Session& operator=(const H2Session&) = delete;

  // Open, not told GOAWAY, below the server's stream limit.
  bool usable() const;
  // A new stream for one request (its HEADERS go out when the forwarder writes the head).
  std::shared_ptr<H2UpstreamStream> open();
  // Closes the connection: every stream fails.
  void close();
  // Takes no new stream and closes once its open ones are finished.
  void retire();
  bool idle() const { return streams_.empty() && open_ == 0; }
  std::chrono::steady_clock::time_point idle_since() const { return idle_since_; }
  bool dead() const { return dead_; }

 private:
  friend class H2UpstreamStream;
  H2Session(std::unique_ptr<UpstreamConn> conn, bool tls, DeadlineWheel& wheel,
            std::chrono::milliseconds write_timeout);
  bool init();
  void run();
  void wake();
  void forget(H2UpstreamStream* s);

  std::unique_ptr<UpstreamConn> conn_;
  bool tls_;
  DeadlineWheel& wheel_;
  std::chrono::milliseconds write_timeout_;
  nghttp2_session* ng_ = nullptr;
  boost::asio::steady_timer wake_;
  std::unordered_map<std::int32_t, H2UpstreamStream*> streams_;
  int open_ = 0;  // streams handed out and not finished
  std::chrono::steady_clock::time_point idle_since_;
  bool dead_ = false;
  bool goaway_ = false;
  bool retired_ = false;
  friend struct H2SessionLoops;
};

}  // namespace portier::proxy
