// The Docker provider: keeps the set of containers in step with the Engine (full listing on
// (re)connect, then one re-inspect per relevant event), turns it into configuration with the
// pure builder, and publishes whole snapshots.
//
// Threading: the Engine calls block, so the provider runs on its own thread; snapshots are
// posted to the control io_context, where `publish` runs. When the Engine goes away the last
// snapshot stays live and the provider reconnects with capped exponential backoff
// (0.5 s ... 30 s), resynchronising in full. With `watch` false it lists once (retrying until
// that works) and follows nothing.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "providers/docker/config_builder.h"
#include "providers/docker/docker_api.h"
#include "providers/docker/snapshot_publisher.h"

namespace portier::providers::docker {

class DockerProvider {
 public:
  using Publish = std::function<void(config::Configuration)>;
  DockerProvider(boost::asio::io_context& control, BuilderOptions options,
                 std::unique_ptr<DockerApi> api, Publish publish, bool watch = true);
  ~DockerProvider();

  void start();
  void stop();  // returns once the thread has ended
  // Docker events received since start (any thread; portier_docker_events_total).
  std::uint64_t events_received() const { return events_.load(std::memory_order_relaxed); }

 private:
  void run();
  bool sync();  // full listing; false on failure
  void on_event(const Event& e);
  void refresh(const std::string& id);
  void rebuild();
  void backoff(int attempt, const std::string& why);

  BuilderOptions options_;
  std::unique_ptr<DockerApi> api_;
  SnapshotPublisher publisher_;
  bool watch_;
  std::map<std::string, Container> containers_;  // provider thread only
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> events_{0};
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace portier::providers::docker
