// retry: the forwarder reads the policy from the stream (forwarder.h says when it retries).
#include "proxy/middlewares/filters.h"

namespace portier::proxy::mw {
namespace {

class RetryFilter final : public Filter {
 public:
  RetryFilter(std::string name, RetryPolicy p) : Filter(std::move(name), kRequest), p_(std::move(p)) {}
  Verdict on_request(Stream& s) const override {
    // Two retry middlewares on one router: the inner one decides, as in Traefik where it is the
    // one closest to the service that tries again.
    s.retry = &p_;
    return Verdict::Continue;
  }

 private:
  RetryPolicy p_;
};

}  // namespace

Built retry(const std::string& name, const config::Middleware& m, const ChainContext&) {
  const auto& r = *m.retry;
  if (r.attempts < 1) {
    return Error{"retry.attempts must be at least 1 (it counts every try, the first included)"};
  }
  if (r.initial_interval.count() < 0) return Error{"retry.initialInterval must not be negative"};
  RetryPolicy p;
  p.attempts = r.attempts;
  p.initial_interval = std::chrono::duration_cast<std::chrono::milliseconds>(r.initial_interval);
  return std::make_unique<RetryFilter>(name, std::move(p));
}

}  // namespace portier::proxy::mw
