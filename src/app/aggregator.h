// The single door every configuration change goes through: providers hand in whole snapshots;
// unchanged ones are dropped; changes are coalesced (providersThrottleDuration) and then merged,
// built and published by `apply`.
//
// Throttling is leading-edge: the first change after a quiet period applies at once (a new
// container is routed without waiting), further changes within the period are coalesced into
// one apply at its end. Control plane only: call from the io_context given.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <string>

#include "config/dynamic.h"
#include "config/static_config.h"

namespace portier::app {

class Aggregator {
 public:
  using Apply = std::function<void(const std::map<std::string, config::Configuration>&)>;
  Aggregator(boost::asio::io_context& ctx, config::Duration throttle, Apply apply);

  void update(const std::string& provider, config::Configuration snapshot);
  // Stores a snapshot without applying it: for the internal provider, before the others start,
  // so the first apply has everything.
  void preset(const std::string& provider, config::Configuration snapshot) {
    snapshots_[provider] = std::move(snapshot);
  }
  void stop() { timer_.cancel(); }

 private:
  void fire();

  boost::asio::steady_timer timer_;
  config::Duration throttle_;
  Apply apply_;
  std::map<std::string, config::Configuration> snapshots_;
  std::chrono::steady_clock::time_point last_apply_{};
  bool pending_ = false;
};

}  // namespace portier::app
