#include "app/aggregator.h"

namespace portier::app {

Aggregator::Aggregator(boost::asio::io_context& ctx, config::Duration throttle, Apply apply)
    : timer_(ctx), throttle_(throttle), apply_(std::move(apply)) {}

void Aggregator::update(const std::string& provider, config::Configuration snapshot) {
  auto it = snapshots_.find(provider);
  if (it != snapshots_.end() && it->second == snapshot) return;  // nothing changed
  snapshots_[provider] = std::move(snapshot);
  if (pending_) return;  // coalesced into the apply already scheduled
  const auto due = last_apply_ + throttle_;
  if (std::chrono::steady_clock::now() >= due) {
    fire();
    return;
  }
  pending_ = true;
  timer_.expires_at(due);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    fire();
  });
}

void Aggregator::fire() {
  pending_ = false;
  last_apply_ = std::chrono::steady_clock::now();
  apply_(snapshots_);
}

}  // namespace portier::app
