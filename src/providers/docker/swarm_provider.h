// The Swarm provider: keeps the services of a Swarm (and their tasks, the nodes' addresses, the
// networks' names) in step with a manager's Engine, turns them into configuration with the
// pure builder (swarm_builder), and publishes whole snapshots.
//
// How it follows the swarm (Traefik only polls, every refreshSeconds):
// - a full read on (re)connect, then every `refresh` as a fallback;
// - Engine events: a service's create/update/remove, and the start, stop, death or health
//   change of a task's container on this Engine's node, re-read that service and its tasks; a
//   node's event re-reads everything; the service is read again 250 ms after an event's read
//   (the event can come before the orchestrator acted on it);
// - task changes emit no event, so a service that is converging (an update or rollback in
//   progress, a task on its way in or out) is re-read every 250 ms until it settles (backing
//   off to 5 s when no update is running, as for a task that keeps failing). A task whose
//   desired state leaves "running" thus leaves the rotation within about 250 ms; Swarm waits
//   2 s after that before stopping its container.
//
// Threading: the Engine calls block: one thread reads the event stream, another does the rest
// (reads, builds); snapshots are posted to the control io_context, where `publish` runs. When
// the Engine goes away the last snapshot stays live and the provider reconnects with capped
// exponential backoff (0.5 s ... 30 s), resynchronising in full. With `watch` false it reads
// once (retrying until that works) and follows nothing.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "providers/docker/snapshot_publisher.h"
#include "providers/docker/swarm_api.h"

namespace portier::providers::docker {

class SwarmProvider {
 public:
  struct Options {
    BuilderOptions builder;  // dialect Swarm
    bool watch = true;
    std::chrono::milliseconds refresh = std::chrono::seconds(15);  // full re-read; 0: never
  };
  using Publish = SnapshotPublisher::Publish;
  SwarmProvider(boost::asio::io_context& control, Options options, std::unique_ptr<SwarmApi> api,
                Publish publish);
  ~SwarmProvider();

  void start();
  void stop();  // returns once the threads have ended
  // Engine events received since start (any thread; portier_swarm_events_total).
  std::uint64_t events_received() const { return events_.load(std::memory_order_relaxed); }

 private:
  using Clock = std::chrono::steady_clock;
  struct FollowUp {
    Clock::time_point due;
    int count = 0;  // consecutive re-reads while converging
  };
  void run();
  // Follows the connected Engine until it fails or stop(); false when it failed.
  bool follow(long long since);
  bool resync();  // full read; false on failure
  void refresh(const std::string& service_id);
  void schedule(const std::string& service_id, bool event);
  void rebuild();

  Options options_;
  std::unique_ptr<SwarmApi> api_;
  SnapshotPublisher publisher_;
  SwarmState state_;                            // worker thread only
  bool dirty_ = true;                           // state_ changed since the last build
  std::map<std::string, FollowUp> follow_ups_;  // by service ID; worker thread only
  std::thread worker_, events_thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> events_{0};
  std::mutex mu_;  // guards the fields below, and waits
  std::condition_variable cv_;
  std::deque<Event> queue_;  // from the events thread
  bool stream_ended_ = false;
  std::string stream_error_;
};

}  // namespace portier::providers::docker
