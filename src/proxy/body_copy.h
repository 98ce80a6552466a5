// Relaying a response body through the stream's body transforms (Stream::transforms: compress,
// the cache's copy): the forwarder's path for responses a filter rewrites. The plain relay, which
// writes the server's bytes as they come, stays in forwarder.cc.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <string_view>

#include "proxy/buffer.h"
#include "proxy/client_stream.h"
#include "proxy/upstream_stream.h"
#include "proxy/deadline.h"
#include "proxy/http/message.h"
#include "proxy/pipeline/stream.h"

namespace portier::proxy {

struct CopyResult {
  std::uint64_t bytes = 0;      // body bytes (decoded) read from the source
  std::uint64_t out_bytes = 0;  // body bytes (decoded) written to the destination
  bool done = false;
  bool src_failed = false;  // read error, timeout, or the source closed too early
  bool dst_failed = false;
  http::Error bad = http::Error::None;  // malformed chunked coding
};

// Reads the body framed by `framing` from `src` (bytes already in `buf` first), runs it through
// `stream.transforms` and writes the result to `dst` after `prefix` (the response head): chunked
// when `chunk_out`, else raw (the client's connection then ends the body). When the server pauses
// (nothing left to read without waiting) the transforms are flushed, so a server-sent event
// reaches the client when it is sent. A transform's failure counts as dst_failed.
boost::asio::awaitable<CopyResult> copy_transformed(
    UpstreamStream& src, Buffer& buf, Deadline& src_deadline,
    std::chrono::milliseconds read_timeout, ClientStream& dst, Deadline& dst_deadline,
    std::chrono::milliseconds write_timeout, http::Framing framing, bool chunk_out,
    std::string_view prefix, Stream& stream);

}  // namespace portier::proxy
