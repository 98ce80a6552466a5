#include "proxy/worker_state.h"

#include <algorithm>

namespace portier::proxy {

WorkerState::WorkerState(boost::asio::any_io_executor ex, const config::ServersTransport& transport,
                         std::string hostname)
    : ex_(ex), wheel_(ex), transport_(transport), hostname_(std::move(hostname)) {}

UpstreamPool& WorkerState::pool(std::uint32_t server_id) {
  if (server_id >= pools_.size()) pools_.resize(server_id + 1);
  auto& p = pools_[server_id];
  if (!p) {
    p = std::make_unique<UpstreamPool>(
        static_cast<std::size_t>(std::max(0, transport_.max_idle_conns_per_host)),
        transport_.forwarding_timeouts.idle_conn_timeout);
  }
  return *p;
}

const ServerTarget* WorkerState::pick(const ServiceTarget& service) {
  if (service.index >= wrr_.size()) wrr_.resize(service.index + 1);
  auto& current = wrr_[service.index];
  const auto& servers = service.servers;
  if (current.size() != servers.size()) current.assign(servers.size(), 0);
  // Each available server gains its weight; the richest is picked and pays the total back.
  // Over any window the picks follow the weights, and they interleave (1:3 gives b,b,a,b...)
  // instead of coming in bursts.
  std::int64_t total = 0;
  std::size_t best = servers.size();
  for (std::size_t i = 0; i < servers.size(); ++i) {
    if (!servers[i].available()) continue;
    current[i] += servers[i].weight;
    total += servers[i].weight;
    if (best == servers.size() || current[i] > current[best]) best = i;
  }
  if (best == servers.size()) return nullptr;
  current[best] -= total;
  return &servers[best];
}

void WorkerState::on_table(const RoutingTable& table) {
  wrr_.assign(table.service_count(), {});
  const auto& live = table.server_ids();
  for (std::uint32_t id = 0; id < pools_.size(); ++id) {
    // Pools are small and ids are per distinct server URL, so the object stays for a server
    // that may come back; its connections go now.
    if (pools_[id] && !std::binary_search(live.begin(), live.end(), id)) pools_[id]->close_all();
  }
}

void WorkerState::sweep() {
  const auto now = Clock::now();
  for (auto& p : pools_) {
    if (p) p->sweep(now);
  }
}

void WorkerState::shutdown() {
  for (auto& p : pools_) {
    if (p) p->close_all();
  }
  wheel_.stop();
}

}  // namespace portier::proxy
