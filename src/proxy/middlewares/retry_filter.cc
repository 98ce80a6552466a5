// retry: the forwarder reads the policy from the stream (forwarder.h says when it retries). With
// `status`, a request body up to maxRequestBodyBytes is read first so that it can be sent again;
// a larger one (or one of unknown length) is streamed and only network errors are retried.
#include "proxy/middlewares/filters.h"
#include "proxy/middlewares/subrequest_parts.h"

namespace portier::proxy::mw {
namespace {

class RetryFilter final : public Filter {
 public:
  RetryFilter(std::string name, RetryPolicy p, long long max_body)
      : Filter(std::move(name), p.statuses.empty() ? kRequest : kAsyncRequest),
        p_(std::move(p)),
        max_body_(max_body) {}
  Verdict on_request(Stream& s) const override {
    // Two retry middlewares on one router: the inner one decides, as in Traefik where it is the
    // one closest to the service that tries again.
    s.retry = &p_;
    return Verdict::Continue;
  }
  boost::asio::awaitable<Verdict> on_request_async(Stream& s) const override {
    s.retry = &p_;
    if (s.has_body && !s.body && s.body_reader != nullptr && s.body_length &&
        (max_body_ < 0 || *s.body_length <= static_cast<std::uint64_t>(max_body_))) {
      std::string body;
      auto r = co_await s.body_reader->read_all(body, *s.body_length);
      if (r != BodyRead::Ok) {
        s.respond(400);
        co_return Verdict::Respond;
      }
      s.body = std::move(body);
    }
    co_return Verdict::Continue;
  }

 private:
  RetryPolicy p_;
  long long max_body_;
};

}  // namespace

Built retry(const std::string& name, const config::Middleware& m, const ChainContext&) {
  const auto& r = *m.retry;
  if (r.attempts < 1) {
    return Error{"retry.attempts must be at least 1 (it counts every try, the first included)"};
  }
  if (r.initial_interval.count() < 0) return Error{"retry.initialInterval must not be negative"};
  if (r.status.empty() && r.disable_retry_on_network_error) {
    return Error{"retry needs status codes or retries on network errors (Traefik's rule)"};
  }
  RetryPolicy p;
  p.attempts = r.attempts;
  p.initial_interval = r.initial_interval;
  p.timeout = r.timeout;
  auto ranges = parse_status_ranges(r.status);
  if (!ranges) return Error{"retry." + ranges.error().message};
  p.statuses = std::move(*ranges);
  p.network_errors = !r.disable_retry_on_network_error;
  p.any_method = r.retry_non_idempotent_method;
  return std::make_unique<RetryFilter>(name, std::move(p), r.max_request_body_bytes);
}

}  // namespace portier::proxy::mw
