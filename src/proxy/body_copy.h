// Relaying a message body: copy_body, the plain relay, which writes the bytes as they come (a
// request body to the server, a response body to the client), and copy_transformed, a response
// body through the stream's body transforms (Stream::transforms: compress, the cache's copy), the
// forwarder's path for responses a filter rewrites.
#pragma once

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <tuple>

#include "proxy/buffer.h"
#include "proxy/client_stream.h"
#include "proxy/deadline.h"
#include "proxy/forwarder.h"
#include "proxy/http/chunked.h"
#include "proxy/http/message.h"
#include "proxy/pipeline/stream.h"
#include "proxy/upstream_stream.h"

namespace portier::proxy {

struct CopyResult {
  std::uint64_t bytes = 0;      // body bytes (decoded) read from the source
  std::uint64_t out_bytes = 0;  // body bytes (decoded) written to the destination
  bool done = false;
  bool src_failed = false;  // read error, timeout, or the source closed too early
  bool dst_failed = false;
  http::Error bad = http::Error::None;  // malformed chunked coding
};

// Streams one message body from src to dst. The bytes already in `buf` are sent first, in the
// same gather write as `prefix` (the serialized head). With chunk_out the body is sent chunked
// (chunk extensions dropped, trailer fields passed on: gRPC's status travels in them); without
// it, chunked input is sent as raw bytes. Src and Dst: the client and upstream stream types, in
// either order (request bodies go up, response bodies down).
template <typename Src, typename Dst>
struct Pipe {
  Src& src;
  Buffer& buf;
  Deadline& src_deadline;
  std::chrono::milliseconds read_timeout;
  Dst& dst;
  Deadline& dst_deadline;
  std::chrono::milliseconds write_timeout;
  BodyTee* tee = nullptr;  // keeps a copy of the (decoded) body for mirrors
};

// Adds `data` to the mirrors' copy of the body, unless it overflowed its limit.
inline void tee_append(BodyTee* tee, std::string_view data) {
  if (tee == nullptr || tee->overflow || data.empty()) return;
  if (tee->data.size() + data.size() > tee->limit) {
    tee->overflow = true;
    std::string().swap(tee->data);
    return;
  }
  tee->data.append(data);
}

inline constexpr std::size_t kMaxSpans = 16;  // body pieces per gather write

template <typename Src, typename Dst>
boost::asio::awaitable<CopyResult> copy_body(Pipe<Src, Dst> p, http::Framing framing,
                                             bool chunk_out, std::string_view prefix) {
  namespace asio = boost::asio;
  constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
  CopyResult r;
  std::uint64_t remaining = framing.length;
  http::ChunkedDecoder decoder;
  std::string trailers;  // allocates only when there are some
  if (chunk_out) decoder.keep_trailers(&trailers);
  std::array<asio::const_buffer, 3 * kMaxSpans + 4> bufs;
  std::array<std::array<char, 18>, kMaxSpans> sizes;
  static constexpr std::string_view kCrlf = "\r\n";
  static constexpr std::string_view kLastChunk = "0\r\n\r\n";
  static constexpr std::string_view kLastChunkLine = "0\r\n";
  bool first = true;
  for (;;) {
    std::size_t nb = 0;
    if (first && !prefix.empty()) bufs[nb++] = asio::buffer(prefix);
    first = false;
    bool finished = false;
    std::size_t consumed = 0;
    const std::string_view avail = p.buf.readable();
    switch (framing.kind) {
      case http::BodyKind::None:
        finished = true;
        break;
      case http::BodyKind::Length: {
        std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(avail.size(), remaining));
        if (n > 0) bufs[nb++] = asio::buffer(avail.data(), n);
        tee_append(p.tee, avail.substr(0, n));
        r.bytes += n;
        consumed = n;
        remaining -= n;
        finished = remaining == 0;
        break;
      }
      case http::BodyKind::UntilClose:
        if (!avail.empty()) bufs[nb++] = asio::buffer(avail.data(), avail.size());
        consumed = avail.size();
        r.bytes += avail.size();
        break;
      case http::BodyKind::Chunked: {
        std::size_t spans = 0;
        while (spans < kMaxSpans && consumed < avail.size()) {
          auto step = decoder.feed(avail.substr(consumed));
          if (step.error != http::Error::None) {
            r.bad = step.error;
            co_return r;
          }
          consumed += step.consumed;
          tee_append(p.tee, step.data);
          r.bytes += step.data.size();
          if (!step.data.empty()) {
            if (chunk_out) {
              auto& s = sizes[spans];
              auto [end, ec] = std::to_chars(s.data(), s.data() + 16, step.data.size(), 16);
              end[0] = '\r';
              end[1] = '\n';
              bufs[nb++] = asio::buffer(s.data(), static_cast<std::size_t>(end + 2 - s.data()));
              bufs[nb++] = asio::buffer(step.data);
              bufs[nb++] = asio::buffer(kCrlf);
            } else {
              bufs[nb++] = asio::buffer(step.data);
            }
            ++spans;
          }
          if (step.done) {
            finished = true;
            if (chunk_out && trailers.empty()) {
              bufs[nb++] = asio::buffer(kLastChunk);
            } else if (chunk_out) {
              bufs[nb++] = asio::buffer(kLastChunkLine);
              bufs[nb++] = asio::buffer(trailers);
              bufs[nb++] = asio::buffer(kCrlf);
            }
            break;
          }
          if (step.consumed == 0) break;
        }
        break;
      }
    }
    if (nb > 0) {
      boost::system::error_code ec;
      if (!p.dst.write_now(std::span<asio::const_buffer>(bufs.data(), nb), ec)) {
        p.dst_deadline.arm(p.write_timeout);
        auto [wec, n] = co_await asio::async_write(
            p.dst, std::span<const asio::const_buffer>(bufs.data(), nb), kNoThrow);
        p.dst_deadline.disarm();
        ec = wec;
      }
      if (ec) {
        r.dst_failed = true;
        co_return r;
      }
    }
    p.buf.consume(consumed);
    if (finished) {
      r.done = true;
      if (p.tee != nullptr) p.tee->complete = true;
      co_return r;
    }
    if (!p.buf.empty()) continue;  // more chunks already buffered than one write takes
    boost::system::error_code ec;
    std::size_t n = 0;
    if (!p.src.read_now(p.buf.prepare(), n, ec)) {
      // Not read_done after it: a write may be pending on the same socket (a request body
      // going up while the response comes down), so the read may complete on a later turn.
      p.src_deadline.arm(p.read_timeout);
      std::tie(ec, n) = co_await p.src.async_read_some(p.buf.prepare(), kNoThrow);
      p.src_deadline.disarm();
    }
    if (ec == asio::error::eof && framing.kind == http::BodyKind::UntilClose) {
      r.done = true;
      co_return r;
    }
    if (ec) {
      r.src_failed = true;
      co_return r;
    }
    p.buf.commit(n);
  }
}

// Reads the body framed by `framing` from `src` (bytes already in `buf` first), runs it through
// `stream.transforms` and writes the result to `dst` after `prefix` (the response head): chunked
// when `chunk_out`, else raw (the client's connection then ends the body). When the server pauses
// (nothing left to read without waiting) the transforms are flushed, so a server-sent event
// reaches the client when it is sent. A transform's failure counts as dst_failed.
boost::asio::awaitable<CopyResult> copy_transformed(UpstreamStream& src, Buffer& buf,
                                                    Deadline& src_deadline,
                                                    std::chrono::milliseconds read_timeout,
                                                    ClientStream& dst, Deadline& dst_deadline,
                                                    std::chrono::milliseconds write_timeout,
                                                    http::Framing framing, bool chunk_out,
                                                    std::string_view prefix, Stream& stream);

}  // namespace portier::proxy
