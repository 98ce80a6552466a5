#include "providers/docker/snapshot_publisher.h"

#include <boost/asio/post.hpp>

#include "common/log.h"

namespace portier::providers::docker {

bool SnapshotPublisher::operator()(BuildOutput out) {
  std::string problems;
  for (const auto& p : out.problems) problems += p.container + p.object + p.message + "\n";
  if (problems != last_problems_) {
    const std::string problem = provider_ + ": " + what_ + " configuration problem";
    const std::string warning = provider_ + ": " + what_ + " configuration warning";
    for (const auto& p : out.problems) {
      log::Fields f = {{"provider", provider_},
                       {what_, p.container},
                       {"object", p.object},
                       {"error", p.message}};
      if (p.level == Problem::Level::Error) {
        log::error(problem, f);
      } else {
        log::warn(warning, f);
      }
    }
    last_problems_ = std::move(problems);
  }
  if (last_ && *last_ == out.config) return false;
  last_ = out.config;
  boost::asio::post(control_,
                    [this, cfg = std::move(out.config)]() mutable { publish_(std::move(cfg)); });
  return true;
}

void wait_backoff(const std::string& provider, int attempt, const std::string& why, std::mutex& mu,
                  std::condition_variable& cv, const std::atomic<bool>& stopping) {
  auto delay = backoff_delay(attempt);
  log::warn(provider + ": " + why, {{"provider", provider},
                                    {"retry_in", std::to_string(delay.count()) + "ms"},
                                    {"attempt", std::to_string(attempt + 1)}});
  std::unique_lock lock(mu);
  cv.wait_for(lock, delay, [&stopping] { return stopping.load(); });
}

}  // namespace portier::providers::docker
