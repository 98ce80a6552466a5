#include "proxy/body_copy.h"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <charconv>
#include <span>
#include <string>

#include "proxy/http/chunked.h"

namespace portier::proxy {

namespace asio = boost::asio;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

asio::awaitable<CopyResult> copy_transformed(UpstreamStream& src, Buffer& buf,
                                             Deadline& src_deadline,
                                             std::chrono::milliseconds read_timeout,
                                             ClientStream& dst, Deadline& dst_deadline,
                                             std::chrono::milliseconds write_timeout,
                                             http::Framing framing, bool chunk_out,
                                             std::string_view prefix, Stream& stream) {
  using Mode = BodyTransform::Mode;
  CopyResult r;
  std::uint64_t remaining = framing.length;
  http::ChunkedDecoder decoder;
  std::string out, tmp[2];
  std::string trailers;  // for transforms that carry them (allocates only when there are some)
  bool keep_trailers = false;
  for (const auto& t : stream.transforms) keep_trailers = keep_trailers || t->takes_trailers();
  if (keep_trailers) decoder.keep_trailers(&trailers);
  bool pending = false;  // bytes went into the transforms since their last flush
  bool first = true;
  auto feed = [&](std::string_view data) {
    r.bytes += data.size();
    pending = true;
    return run_transforms(stream.transforms, data, Mode::Write, out, tmp);
  };
  for (;;) {
    out.clear();
    bool finished = false, ok = true;
    std::size_t consumed = 0;
    const std::string_view avail = buf.readable();
    switch (framing.kind) {
      case http::BodyKind::None:
        finished = true;
        break;
      case http::BodyKind::Length: {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(avail.size(), remaining));
        if (n > 0) ok = feed(avail.substr(0, n));
        consumed = n;
        remaining -= n;
        finished = remaining == 0;
        break;
      }
      case http::BodyKind::UntilClose:
        if (!avail.empty()) ok = feed(avail);
        consumed = avail.size();
        break;
      case http::BodyKind::Chunked:
        while (ok && consumed < avail.size()) {
          auto step = decoder.feed(avail.substr(consumed));
          if (step.error != http::Error::None) {
            r.bad = step.error;
            co_return r;
          }
          consumed += step.consumed;
          if (!step.data.empty()) ok = feed(step.data);
          if (step.done) {
            finished = true;
            break;
          }
          if (step.consumed == 0) break;
        }
        break;
    }
    buf.consume(consumed);
    if (ok && finished) {
      if (keep_trailers) {
        for (const auto& t : stream.transforms) {
          if (t->takes_trailers()) t->set_trailers(trailers);
        }
      }
      ok = run_transforms(stream.transforms, {}, Mode::Finish, out, tmp);
    } else if (ok && pending && buf.empty()) {
      boost::system::error_code ec;
      if (src.available(ec) == 0) {
        ok = run_transforms(stream.transforms, {}, Mode::Flush, out, tmp);
        pending = false;
      }
    }
    if (!ok) {
      r.dst_failed = true;
      co_return r;
    }
    std::array<asio::const_buffer, 5> bufs;
    std::size_t nb = 0;
    if (first) bufs[nb++] = asio::buffer(prefix);
    first = false;
    std::array<char, 18> size;
    if (!out.empty()) {
      if (chunk_out) {
        auto [end, ec] = std::to_chars(size.data(), size.data() + 16, out.size(), 16);
        end[0] = '\r';
        end[1] = '\n';
        bufs[nb++] = asio::buffer(size.data(), static_cast<std::size_t>(end + 2 - size.data()));
        bufs[nb++] = asio::buffer(out);
        bufs[nb++] = asio::buffer("\r\n", 2);
      } else {
        bufs[nb++] = asio::buffer(out);
      }
      r.out_bytes += out.size();
    }
    if (finished && chunk_out) bufs[nb++] = asio::buffer("0\r\n\r\n", 5);
    if (nb > 0) {
      dst_deadline.arm(write_timeout);
      auto [ec, n] = co_await asio::async_write(
          dst, std::span<const asio::const_buffer>(bufs.data(), nb), kNoThrow);
      dst_deadline.disarm();
      if (ec) {
        r.dst_failed = true;
        co_return r;
      }
    }
    if (finished) {
      r.done = true;
      co_return r;
    }
    if (!buf.empty()) continue;
    src_deadline.arm(read_timeout);
    auto [ec, n] = co_await src.async_read_some(buf.prepare(), kNoThrow);
    src_deadline.disarm();
    if (ec == asio::error::eof && framing.kind == http::BodyKind::UntilClose) {
      framing.kind = http::BodyKind::None;  // the next turn finishes the transforms
      continue;
    }
    if (ec) {
      r.src_failed = true;
      co_return r;
    }
    buf.commit(n);
  }
}

}  // namespace portier::proxy
