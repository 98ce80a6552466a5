// buffering and contentType.
//
// buffering reads the whole request body before the request goes on (in memory: portier has no
// spill file, so an unlimited maxRequestBodyBytes is capped at kMaxBuffered), and refuses a
// response whose Content-Length is over maxResponseBodyBytes. A chunked response over the limit
// is not caught (docs/middlewares.md).
//
// contentType: Traefik's switch for Go's content sniffing. portier never sniffs, with or without
// the middleware, so it builds no filter.
#include "common/log.h"
#include "proxy/middlewares/filters.h"

namespace portier::proxy::mw {
namespace {

constexpr std::uint64_t kMaxBuffered = 64ull << 20;

class BufferingFilter final : public Filter {
 public:
  BufferingFilter(std::string name, config::Buffering c)
      : Filter(std::move(name), kAsyncRequest | (c.max_response_body_bytes > 0 ? unsigned{kResponse} : 0u)),
        c_(std::move(c)) {}

  boost::asio::awaitable<Verdict> on_request_async(Stream& s) const override {
    if (c_.disable_request_buffer || !s.has_body || s.body || s.body_reader == nullptr) {
      co_return Verdict::Continue;
    }
    const std::uint64_t limit = c_.max_request_body_bytes > 0
                                    ? static_cast<std::uint64_t>(c_.max_request_body_bytes)
                                    : kMaxBuffered;
    if (s.body_length && *s.body_length > limit) co_return too_large(s);
    std::string body;
    switch (co_await s.body_reader->read_all(body, limit)) {
      case BodyRead::Ok:
        s.body = std::move(body);
        co_return Verdict::Continue;
      case BodyRead::TooLarge:
        co_return too_large(s);
      case BodyRead::Failed:
        s.respond(400);
        s.local.close = true;
        co_return Verdict::Respond;
    }
    co_return Verdict::Continue;
  }

  bool on_response(Stream&, const ResponseView& r) const override {
    if (c_.disable_response_buffer) return false;
    auto cl = r.header("Content-Length");
    if (!cl) return false;
    std::uint64_t n = 0;
    for (char ch : *cl) {
      if (ch < '0' || ch > '9' || n > (1ull << 60)) return false;
      n = n * 10 + static_cast<std::uint64_t>(ch - '0');
    }
    return n > static_cast<std::uint64_t>(c_.max_response_body_bytes);
  }

  boost::asio::awaitable<void> replace(Stream& s, int) const override {
    log::warn("response body over buffering.maxResponseBodyBytes", {{"middleware", name()}});
    s.respond(500);
    co_return;
  }

 private:
  Verdict too_large(Stream& s) const {
    s.respond(413);
    s.local.close = true;  // the rest of the body is not read
    return Verdict::Respond;
  }
  config::Buffering c_;
};

}  // namespace

Built buffering(const std::string& name, const config::Middleware& m, const ChainContext&) {
  const auto& c = *m.buffering;
  if (!c.retry_expression.empty()) {
    return Error{"buffering.retryExpression is not supported; use the retry middleware"};
  }
  if (c.max_request_body_bytes < 0 || c.max_response_body_bytes < 0) {
    return Error{"buffering: body sizes must not be negative"};
  }
  return std::make_unique<BufferingFilter>(name, c);
}

Built content_type(const std::string&, const config::Middleware&, const ChainContext&) {
  return std::unique_ptr<const Filter>();
}

}  // namespace portier::proxy::mw
