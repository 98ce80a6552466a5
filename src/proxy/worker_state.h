// The data-plane state one worker owns: its deadline wheel, its upstream pools (one per server
// id), its load-balancer counters. Touched only on the worker's thread; no locks, no atomics.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <string>
#include <vector>

#include "config/static_config.h"
#include "proxy/deadline.h"
#include "proxy/routing_table.h"
#include "proxy/upstream_pool.h"

namespace portier::proxy {

class WorkerState {
 public:
  WorkerState(boost::asio::any_io_executor ex, const config::ServersTransport& transport,
              std::string hostname);

  boost::asio::any_io_executor executor() const { return ex_; }
  DeadlineWheel& wheel() { return wheel_; }
  const config::ServersTransport& transport() const { return transport_; }
  const std::string& hostname() const { return hostname_; }

  UpstreamPool& pool(std::uint32_t server_id);
  // Smooth weighted round robin (nginx's) among the service's available servers, per worker;
  // nullptr when none is available (all down or weight 0).
  const ServerTarget* pick(const ServiceTarget& service);

  // Called on the worker thread when a new table becomes current: drops pools of servers that
  // are gone, keeps the others (and their connections).
  void on_table(const RoutingTable& table);
  void sweep();     // closes expired idle upstream connections
  void shutdown();  // closes every idle upstream connection and stops the wheel

 private:
  boost::asio::any_io_executor ex_;
  DeadlineWheel wheel_;
  const config::ServersTransport& transport_;
  std::string hostname_;
  std::vector<std::unique_ptr<UpstreamPool>> pools_;  // by server id
  std::vector<std::vector<std::int64_t>> wrr_;        // by service index: current weights
};

}  // namespace portier::proxy
