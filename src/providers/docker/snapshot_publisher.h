// What the Docker and the Swarm provider do with each configuration they build: say each
// problem once (logged again only when the set of problems changes, not on every event), and
// post the configuration to the control io_context when it differs from the last one. Also
// their reconnection delay.
//
// Threading: the provider's thread only; `publish` runs on the control io_context.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "providers/docker/config_builder.h"

namespace portier::providers::docker {

class SnapshotPublisher {
 public:
  using Publish = std::function<void(config::Configuration)>;
  // provider: "docker" or "swarm" (log prefix and field); what: the log field naming the
  // source of a problem ("container", "service").
  SnapshotPublisher(boost::asio::io_context& control, std::string provider, std::string what,
                    Publish publish)
      : control_(control),
        provider_(std::move(provider)),
        what_(std::move(what)),
        publish_(std::move(publish)) {}

  // False when the configuration was the same as the last one (nothing posted).
  bool operator()(BuildOutput out);

 private:
  boost::asio::io_context& control_;
  std::string provider_, what_;
  Publish publish_;
  std::optional<config::Configuration> last_;
  std::string last_problems_;
};

// Reconnection delay after `attempt` failures: 0.5 s, 1 s, 2 s ... capped at 30 s (a daemon
// restart is picked up quickly, a dead one is not hammered).
inline std::chrono::milliseconds backoff_delay(int attempt) {
  return std::chrono::milliseconds(std::min<long long>(30000, 500LL << std::min(attempt, 6)));
}

// Logs "<provider>: <why>" with the delay, then waits backoff_delay(attempt) on `cv`, or less
// when `stopping` becomes true (the caller notifies `cv` then).
void wait_backoff(const std::string& provider, int attempt, const std::string& why, std::mutex& mu,
                  std::condition_variable& cv, const std::atomic<bool>& stopping);

}  // namespace portier::providers::docker
