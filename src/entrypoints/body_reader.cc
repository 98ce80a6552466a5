#include "entrypoints/body_reader.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "proxy/forwarder.h"
#include "proxy/http/chunked.h"

namespace portier::entrypoints {

namespace asio = boost::asio;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

asio::awaitable<proxy::BodyRead> H1BodyReader::read_all(std::string& out, std::uint64_t limit) {
  consumed = true;
  out.clear();
  const http::Framing f = info_.framing;
  if (f.kind == http::BodyKind::None) co_return proxy::BodyRead::Ok;
  if (f.kind == http::BodyKind::Length && f.length > limit) co_return proxy::BodyRead::TooLarge;
  proxy::Deadline deadline(wheel_, proxy::cancel_client, &socket_);
  if (info_.expect_continue) {
    // The client waits for this before sending the body.
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    deadline.arm(timeout_);
    auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(kContinue), kNoThrow);
    deadline.disarm();
    if (ec) co_return proxy::BodyRead::Failed;
  }
  http::ChunkedDecoder decoder;
  std::uint64_t remaining = f.length;
  std::string chunk;
  // The first bytes come from the session's buffer (consumed in place); the next ones from the
  // socket into `chunk`.
  std::string_view avail = buffer_.readable();
  bool from_buffer = true;
  for (;;) {
    std::size_t used = 0;
    bool done = false;
    if (f.kind == http::BodyKind::Length) {
      used = static_cast<std::size_t>(std::min<std::uint64_t>(avail.size(), remaining));
      out.append(avail.substr(0, used));
      remaining -= used;
      done = remaining == 0;
    } else {
      while (used < avail.size()) {
        auto step = decoder.feed(avail.substr(used));
        if (step.error != http::Error::None) co_return proxy::BodyRead::Failed;
        used += step.consumed;
        if (out.size() + step.data.size() > limit) co_return proxy::BodyRead::TooLarge;
        out.append(step.data);
        if (step.done) {
          done = true;
          break;
        }
        if (step.consumed == 0) break;
      }
    }
    if (from_buffer) {
      buffer_.consume(used);
    } else if (done && used < avail.size()) {
      surplus.assign(avail.substr(used));
    }
    if (done) co_return proxy::BodyRead::Ok;
    from_buffer = false;
    chunk.resize(f.kind == http::BodyKind::Length
                     ? static_cast<std::size_t>(std::min<std::uint64_t>(remaining, 64 * 1024))
                     : 16 * 1024);
    deadline.arm(timeout_);
    auto [ec, n] = co_await socket_.async_read_some(asio::buffer(chunk), kNoThrow);
    deadline.disarm();
    if (ec) co_return proxy::BodyRead::Failed;
    avail = std::string_view(chunk.data(), n);
  }
}

}  // namespace portier::entrypoints
