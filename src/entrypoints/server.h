// The set of workers behind all entrypoints, and the shutdown sequence. Control plane: its
// methods are called from the main thread.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "common/result.h"
#include "config/static_config.h"
#include "entrypoints/entrypoint.h"
#include "entrypoints/worker.h"
#include "observability/metrics.h"
#include "proxy/routing_table.h"

namespace portier::entrypoints {

class Server {
 public:
  Server(const config::StaticConfig& cfg, unsigned workers);
  ~Server();

  // Resolves entrypoints, binds every worker's listeners, starts the threads. Logs each
  // listening address ("entrypoint listening" with entrypoint= and address=).
  Result<bool> start();
  const std::vector<EntryPointSpec>& entrypoints() const { return specs_; }
  std::vector<std::string> entrypoint_names() const;

  // Before start(): the TLS context and ACME tokens every worker's sessions use.
  void set_tls(TlsServices t) {
    for (auto& w : workers_) w->set_tls(t);
  }
  // Before start(): each worker counts requests in its shard of `metrics` and logs them to
  // `access_log` (as producer number = its id). Either may be null.
  void set_observers(observability::Metrics* metrics, observability::AccessLog* access_log);
  std::size_t worker_count() const { return workers_.size(); }
  // Makes `table` current on every worker; requests in flight keep the one they started with.
  // Returns at once; `live`, if set, runs (on a worker thread) when every worker has taken the
  // table, so that any request read from then on is routed by it.
  void publish(std::shared_ptr<const proxy::RoutingTable> table,
               std::function<void()> live = nullptr);

  // Graceful stop: stop accepting, close idle connections, wait up to the longest
  // lifeCycle.graceTimeOut for in-flight requests, then close what is left. Blocks until every
  // worker has stopped. Returns false when the grace period ran out.
  bool shutdown();

 private:
  const config::StaticConfig& cfg_;
  std::vector<EntryPointSpec> specs_;
  std::vector<std::unique_ptr<Worker>> workers_;
  bool running_ = false;  // started and not shut down
  std::mutex mu_;
  std::condition_variable cv_;
  std::size_t exited_ = 0;
};

}  // namespace portier::entrypoints
