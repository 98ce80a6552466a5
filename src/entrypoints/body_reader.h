// The HTTP/1.1 codec's BodyReader: reads a whole request body for a middleware (buffering,
// forwardAuth's forwardBody) without touching the bytes of the request head, which the stream's
// views still point at: bytes already buffered are consumed in place, the rest is read into
// private storage. Bytes read past the end of a chunked body (a pipelined request) are kept in
// `surplus` for the session to put back once the exchange is over.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string>

#include "proxy/buffer.h"
#include "proxy/client_stream.h"
#include "proxy/deadline.h"
#include "proxy/http/message.h"
#include "proxy/pipeline/stream.h"

namespace portier::entrypoints {

class H1BodyReader final : public proxy::BodyReader {
 public:
  H1BodyReader(proxy::ClientStream& socket, proxy::Buffer& buffer, proxy::DeadlineWheel& wheel,
               const http::RequestInfo& info, std::chrono::milliseconds read_timeout)
      : socket_(socket), buffer_(buffer), wheel_(wheel), info_(info), timeout_(read_timeout) {}
  boost::asio::awaitable<proxy::BodyRead> read_all(std::string& out,
                                                   std::uint64_t limit) override;
  std::string surplus;
  bool consumed = false;  // the body was read (whole or not): the session must not read it again

 private:
  proxy::ClientStream& socket_;
  proxy::Buffer& buffer_;
  proxy::DeadlineWheel& wheel_;
  const http::RequestInfo& info_;
  std::chrono::milliseconds timeout_;
};

}  // namespace portier::entrypoints
