#include "entrypoints/server.h"

#include <unistd.h>

#include <atomic>

#include "common/log.h"

namespace portier::entrypoints {

namespace {
std::string hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "portier";
  return buf;
}
}  // namespace

Server::Server(const config::StaticConfig& cfg, unsigned workers) : cfg_(cfg) {
  const std::string host = hostname();
  for (unsigned i = 0; i < std::max(1u, workers); ++i) {
    workers_.push_back(std::make_unique<Worker>(i, cfg_, host));
  }
}

void Server::set_observers(observability::Metrics* metrics, observability::AccessLog* access_log) {
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    workers_[i]->set_observers(metrics ? &metrics->shard(i) : nullptr, access_log,
                               metrics != nullptr && metrics->options().add_internals);
  }
}

Server::~Server() {
  if (running_) {
    // Started but never shut down: main() gave up on a later step (the API's port, say).
    // Without this the workers would run on and the join below would never return.
    for (auto& w : workers_) w->drain();
    for (auto& w : workers_) w->abort();
  }
  for (auto& w : workers_) w->join();
}

std::vector<std::string> Server::entrypoint_names() const {
  std::vector<std::string> names;
  for (const auto& s : specs_) names.push_back(s.name);
  return names;
}

Result<bool> Server::start() {
  std::size_t index = 0;
  for (const auto& [name, ep] : cfg_.entry_points) {
    auto spec = make_spec(name, index++, ep);
    if (!spec) return spec.error();
    specs_.push_back(std::move(*spec));
  }
  for (auto& w : workers_) {
    auto r = w->listen(specs_);
    if (!r) return r.error();
  }
  for (const auto& s : specs_) {
    boost::asio::ip::tcp::endpoint e = s.endpoint;
    std::string addr = e.address().is_v6() ? "[" + e.address().to_string() + "]:" + s.port
                                           : e.address().to_string() + ":" + s.port;
    log::info("entrypoint listening", {{"entrypoint", s.name},
                                       {"address", addr},
                                       {"protocol", s.udp ? "udp" : "tcp"}});
  }
  for (auto& w : workers_) {
    w->start([this] {
      std::lock_guard lock(mu_);
      ++exited_;
      cv_.notify_all();
    });
  }
  running_ = true;
  log::info("portier started", {{"workers", std::to_string(workers_.size())}});
  return true;
}

void Server::publish(std::shared_ptr<const proxy::RoutingTable> table,
                     std::function<void()> live) {
  if (!live) {
    for (auto& w : workers_) w->publish(table);
    return;
  }
  // A worker busy with a handler queued before this one (the accept loop's first turn, say)
  // still serves it from the table before; the last worker to take this one calls `live`.
  struct Countdown {
    std::atomic<std::size_t> left;
    std::function<void()> live;
  };
  auto c = std::make_shared<Countdown>(workers_.size(), std::move(live));
  for (auto& w : workers_) {
    w->publish(table, [c] {
      if (c->left.fetch_sub(1, std::memory_order_acq_rel) == 1) c->live();
    });
  }
}

bool Server::shutdown() {
  config::Duration grace{0};
  for (const auto& [name, ep] : cfg_.entry_points) {
    grace = std::max(grace, ep.life_cycle.grace_timeout);
  }
  log::info("shutting down", {{"grace", std::to_string(grace.count()) + "ms"}});
  for (auto& w : workers_) w->drain();
  std::unique_lock lock(mu_);
  bool clean = cv_.wait_for(lock, grace, [&] { return exited_ == workers_.size(); });
  if (!clean) {
    log::warn("grace period over; closing remaining connections");
    for (auto& w : workers_) w->abort();
    cv_.wait(lock, [&] { return exited_ == workers_.size(); });
  }
  lock.unlock();
  for (auto& w : workers_) w->join();
  running_ = false;
  log::info("stopped");
  return clean;
}

}  // namespace portier::entrypoints
