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

const ServerTarget& WorkerState::pick(const ServiceTarget& service) {
  if (service.index >= rr_.size()) rr_.resize(service.index + 1, 0);
  std::uint32_t& next = rr_[service.index];
  if (next >= service.servers.size()) next = 0;
  return service.servers[next++];
}

void WorkerState::on_table(const RoutingTable& table) {
  rr_.assign(table.service_count(), 0);
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
