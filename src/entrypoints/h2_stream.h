// One HTTP/2 request stream, as the pipe the HTTP/1.1 request code reads and writes
// (proxy/stream_pipe.h explains the design).
//
// Request side: the stream's fields become an HTTP/1.1 head (request line from :method and
// :path, Host from :authority, cookies joined as RFC 9113 8.2.3 says), followed by its DATA:
// as is when the client gave a Content-Length (nghttp2 checks the DATA against it), else
// chunk-encoded, so that the body has a framing the HTTP/1.1 code knows. Flow control follows
// what the request code reads: the client's window reopens only for bytes taken (back-pressure).
//
// Response side: the HTTP/1.1 response the request code writes is parsed with portier's own
// response parser: interim (1xx) answers are dropped, the final head becomes HEADERS (names
// lower-cased, connection-specific fields left out), the body (by Content-Length, chunks or
// until the handler ends) becomes DATA, sent as the client's window allows, and a chunked
// body's trailer fields (gRPC's grpc-status) a trailing HEADERS frame. At most kMaxQueued
// bytes wait; a writer past that waits (back-pressure towards the server).
//
// Threading: the connection's worker thread.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "entrypoints/worker.h"
#include "proxy/http/chunked.h"
#include "proxy/http/message.h"
#include "proxy/stream_pipe.h"

namespace portier::entrypoints {

class H2Stream final : public proxy::StreamPipe {
 public:
  // Response bytes queued before a writer waits.
  static constexpr std::size_t kMaxQueued = 64 * 1024;

  // `wake`: called when the connection has something new to send.
  H2Stream(nghttp2_session* session, std::int32_t id, std::size_t max_field_bytes,
           const boost::asio::any_io_executor& ex, void (*wake)(void*), void* wake_ctx);

  std::int32_t id() const { return id_; }
  // Makes a finished stream (closed, its handler done, no operation pending) the new stream
  // `id`, keeping its strings' capacity.
  void reuse(std::int32_t id);

  // --- request, from the session's callbacks ---
  // One field of the request's header block. Past the size limit the rest is only counted.
  void add_field(std::string_view name, std::string_view value);
  // The header block ended: makes the HTTP/1.1 head. Returns 0, or the status to answer
  // instead (answer_status): 431 past the size limit, 400 for a field no HTTP/1.1 head may carry.
  int headers_done(bool end_stream);
  // The request bytes not yet taken by the request code (for tests).
  std::string_view pending_request() const { return std::string_view(in_).substr(in_off_); }
  void add_data(const std::uint8_t* data, std::size_t n);
  void request_end();
  bool request_ended() const { return request_ended_; }

  // --- response ---
  // Answers without the request code (431 for a header block over the limit).
  void answer_status(int status);
  // nghttp2's data source: copies queued body bytes.
  ssize_t read_body(std::uint8_t* buf, std::size_t length, std::uint32_t* flags);
  // The request code is done with the stream: ends the response (or resets the stream when the
  // response is incomplete).
  void handler_done();
  bool handler_running() const { return handler_running_; }
  void handler_started() { handler_running_ = true; }
  // The stream is closed (nghttp2's on_stream_close) or its connection ended. Returns the request
  // bytes received and not yet given back to the connection's window.
  std::size_t close(bool reset);
  bool closed() const { return closed_; }
  // The forwarder's upstream socket while it uses one: cancelled when the stream is reset.
  SessionHandle handle;

 protected:
  std::size_t take(char* out, std::size_t n, bool& eof) override;
  bool give(std::string_view bytes) override;
  bool gone() const override { return gone_; }
  bool write_blocked() const override { return out_.size() - out_off_ >= kMaxQueued; }

 private:
  bool submit_head(const http::ResponseHead& head, bool has_body);
  bool submit_trailers();
  void queue_body(std::string_view data);
  void resume();

  nghttp2_session* session_;
  std::int32_t id_;
  std::size_t max_field_bytes_;
  void (*wake_)(void*);
  void* wake_ctx_;
  // Request.
  std::string method_, authority_, path_, host_field_;
  std::string fields_;  // "name: value\r\n" lines, as they came (cookies apart)
  std::string cookie_;
  std::size_t field_bytes_ = 0;  // RFC 9113's size: name + value + 32 per field
  bool bad_field_ = false;       // CR, LF, NUL or a colon where they cannot be
  bool has_length_ = false;
  bool chunked_ = false;       // the body is given chunk-encoded
  std::string in_;             // what take() hands out
  std::size_t in_off_ = 0;
  std::size_t unconsumed_ = 0;  // DATA bytes not yet given back to the flow-control windows
  bool request_ended_ = false;
  // Response.
  enum class Out { Head, Body, Done } out_state_ = Out::Head;
  std::string head_acc_;  // response head bytes until the head is complete
  http::Framing framing_;
  std::uint64_t remaining_ = 0;
  http::ChunkedDecoder chunks_;
  std::string trailers_;  // the chunked body's trailer fields: a trailing HEADERS frame
  std::string out_;       // DATA to send
  std::size_t out_off_ = 0;
  bool body_done_ = false;
  bool submitted_ = false;
  bool handler_running_ = false;
  bool closed_ = false;
  bool gone_ = false;
};

}  // namespace portier::entrypoints
