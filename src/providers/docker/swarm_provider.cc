#include "providers/docker/swarm_provider.h"

#include <algorithm>
#include <ctime>
#include <set>
#include <string_view>

#include "common/log.h"
#include "providers/docker/swarm_builder.h"

namespace portier::providers::docker {
namespace {

using namespace std::chrono_literals;

// 250 ms, 500 ms, 1 s ... 5 s: the `count`th re-read of a service that does not settle.
std::chrono::milliseconds backing_off(int count) {
  return std::min<std::chrono::milliseconds>(5s, 250ms * (1 << std::min(count, 5)));
}

// Re-reads of a converging service: every 250 ms while an update or rollback runs (Swarm stops
// a task's container 2 s after its desired state changes), else backing off.
std::chrono::milliseconds follow_up_interval(const SwarmService& s, int count) {
  if (s.update_state == "updating" || s.update_state == "rollback_started") return 250ms;
  return backing_off(count);
}

// Container events of a task that can change what the manager says of it; exec_* (every
// healthcheck run) and the like cannot.
bool relevant_container_action(std::string_view a) {
  static constexpr std::string_view kRelevant[] = {"start", "die",     "kill",   "stop",
                                                   "pause", "unpause", "destroy"};
  return a.rfind("health_status", 0) == 0 ||
         std::find(std::begin(kRelevant), std::end(kRelevant), a) != std::end(kRelevant);
}

}  // namespace

SwarmProvider::SwarmProvider(boost::asio::io_context& control, Options options,
                             std::unique_ptr<SwarmApi> api, Publish publish)
    : options_(std::move(options)),
      api_(std::move(api)),
      publisher_(control, "swarm", "service", std::move(publish)) {}

SwarmProvider::~SwarmProvider() { stop(); }

void SwarmProvider::start() {
  worker_ = std::thread([this] { run(); });
}

void SwarmProvider::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  api_->stop();
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void SwarmProvider::run() {
  int attempt = 0;
  while (!stopping_) {
    auto version = api_->connect();
    if (!version) {
      wait_backoff("swarm", attempt++, "cannot reach the Engine (" + version.error().message + ")",
                   mu_, cv_, stopping_);
      continue;
    }
    // Events from one second before the read: nothing between the two is missed.
    const long long since = static_cast<long long>(std::time(nullptr)) - 1;
    if (!resync()) {
      wait_backoff("swarm", attempt++, "cannot read the swarm (is this Engine a swarm manager?)",
                   mu_, cv_, stopping_);
      continue;
    }
    log::info("swarm: connected", {{"provider", "swarm"},
                                   {"api", *version},
                                   {"services", std::to_string(state_.services.size())},
                                   {"watch", options_.watch ? "true" : "false"}});
    attempt = 0;
    rebuild();
    if (!options_.watch) {  // providers.swarm.watch: false
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_.load(); });
      break;
    }
    std::string why;
    if (follow(since)) break;  // stopped
    {
      std::lock_guard lock(mu_);
      why = stream_error_;
    }
    // The last snapshot stays live while the Engine is away.
    wait_backoff("swarm", attempt++, why, mu_, cv_, stopping_);
  }
}

bool SwarmProvider::resync() {
  auto s = api_->snapshot();
  if (!s) {
    log::warn("swarm: reading the swarm failed",
              {{"provider", "swarm"}, {"error", s.error().message}});
    return false;
  }
  if (!(state_ == *s)) {
    state_ = std::move(*s);
    dirty_ = true;
  }
  for (auto it = follow_ups_.begin(); it != follow_ups_.end();) {
    it = state_.services.count(it->first) ? std::next(it) : follow_ups_.erase(it);
  }
  for (const auto& [id, service] : state_.services) {
    if (converging(service) && !follow_ups_.count(id)) {
      follow_ups_[id] = {Clock::now() + follow_up_interval(service, 0), 0};
    }
  }
  return true;
}

void SwarmProvider::schedule(const std::string& service_id, bool event) {
  auto [it, inserted] = follow_ups_.try_emplace(service_id);
  if (event || inserted) it->second = {Clock::now(), 0};
}

void SwarmProvider::refresh(const std::string& id) {
  auto s = api_->service(id);
  auto& f = follow_ups_[id];
  if (!s) {
    log::warn("swarm: reading a service failed",
              {{"provider", "swarm"}, {"service", id}, {"error", s.error().message}});
    f.due = Clock::now() + backing_off(++f.count);
    return;
  }
  if (!*s) {
    dirty_ = state_.services.erase(id) > 0 || dirty_;
    follow_ups_.erase(id);
    return;
  }
  SwarmService& service = **s;
  // A virtual IP on a network created since the last full read: its name is needed.
  const bool new_network =
      std::any_of(service.virtual_ips.begin(), service.virtual_ips.end(),
                  [&](const auto& vip) { return !state_.networks.count(vip.first); });
  // The first read after an event is read again 250 ms later even when the service looks
  // settled: the event can come before Swarm's orchestrator acted on the change (a scale down
  // read at once still shows its tasks desired running).
  if (converging(service) || f.count == 0) {
    f.due = Clock::now() + follow_up_interval(service, f.count++);
  } else {
    follow_ups_.erase(id);
  }
  if (auto it = state_.services.find(id); it == state_.services.end() || !(it->second == service)) {
    state_.services[id] = std::move(service);
    dirty_ = true;
  }
  if (new_network) resync();
}

bool SwarmProvider::follow(long long since) {
  {
    std::lock_guard lock(mu_);
    queue_.clear();
    stream_ended_ = false;
    stream_error_.clear();
  }
  events_thread_ = std::thread([this, since] {
    auto r = api_->events(since, [this](const Event& e) {
      if (stopping_) return false;
      std::lock_guard lock(mu_);
      queue_.push_back(e);
      cv_.notify_all();
      return true;
    });
    std::lock_guard lock(mu_);
    stream_ended_ = true;
    stream_error_ = r ? "event stream closed" : r.error().message;
    cv_.notify_all();
  });
  const auto never = Clock::time_point::max();
  auto next_full = options_.refresh.count() > 0 ? Clock::now() + options_.refresh : never;
  bool stopped = false;
  while (true) {
    std::deque<Event> events;
    {
      auto deadline = next_full;
      for (const auto& [id, f] : follow_ups_) deadline = std::min(deadline, f.due);
      std::unique_lock lock(mu_);
      auto ready = [&] { return stopping_.load() || stream_ended_ || !queue_.empty(); };
      if (deadline == never) {
        cv_.wait(lock, ready);
      } else {
        cv_.wait_until(lock, deadline, ready);
      }
      if (stopping_) {
        stopped = true;
        break;
      }
      if (stream_ended_) break;
      events.swap(queue_);
    }
    bool full = false;
    for (const Event& e : events) {
      events_.fetch_add(1, std::memory_order_relaxed);
      if (e.type == "service") {
        schedule(e.id, true);  // create, update, remove
      } else if (e.type == "node") {
        full = true;  // an address, an availability, a node gone
      } else if (e.type == "container" && !e.swarm_service.empty() &&
                 relevant_container_action(e.action)) {
        schedule(e.swarm_service, true);
      }
    }
    const auto now = Clock::now();
    if (full || now >= next_full) {
      // A failed read is retried soon; the event stream says when the Engine is gone.
      next_full =
          resync() ? (options_.refresh.count() > 0 ? now + options_.refresh : never) : now + 2s;
    }
    std::vector<std::string> due;
    for (const auto& [id, f] : follow_ups_) {
      if (f.due <= now) due.push_back(id);
    }
    for (const auto& id : due) refresh(id);
    rebuild();
  }
  events_thread_.join();
  return stopped;
}

void SwarmProvider::rebuild() {
  // Most wake-ups (healthcheck exec events, re-reads of a service that did not move) change
  // nothing: the build, a label decode per task, is skipped then.
  if (!dirty_) return;
  dirty_ = false;
  publisher_(build_swarm_configuration(state_, options_.builder));
}

}  // namespace portier::providers::docker
