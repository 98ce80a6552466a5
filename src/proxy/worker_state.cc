#include "proxy/worker_state.h"

#include <algorithm>

namespace portier::proxy {

WorkerState::WorkerState(boost::asio::any_io_executor ex, const config::ServersTransport& transport,
                         std::string hostname)
    : ex_(ex),
      wheel_(ex),
      transport_(transport),
      hostname_(std::move(hostname)),
      rng_(std::random_device{}()) {}

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

WorkerState::Pick WorkerState::pick(const ServiceTarget& service, const PickRequest& request) {
  now_ = Clock::now();
  const auto& servers = service.servers;
  auto usable = [&](std::size_t i, bool passive) {
    const ServerTarget& s = servers[i];
    return &s != request.exclude && s.available() && (!passive || local(s.id).down_until <= now_);
  };
  if (service.sticky && request.fields != nullptr) {
    std::string_view value = find_cookie(*request.fields, service.sticky->name);
    if (!value.empty()) {
      for (std::size_t i = 0; i < servers.size(); ++i) {
        if (servers[i].sticky_value == value && usable(i, true)) return {&servers[i], false};
      }
    }
  }
  bool passive = false;
  for (std::size_t i = 0; i < servers.size() && !passive; ++i) passive = usable(i, true);
  std::size_t i = pick_by_strategy(service, request, passive);
  if (i == static_cast<std::size_t>(-1)) return {};
  return {&servers[i], service.sticky.has_value()};
}

std::size_t WorkerState::pick_by_strategy(const ServiceTarget& service, const PickRequest& request,
                                          bool passive) {
  const auto& servers = service.servers;
  auto usable = [&](std::size_t i) {
    const ServerTarget& s = servers[i];
    return &s != request.exclude && s.available() && (!passive || local(s.id).down_until <= now_);
  };
  switch (service.strategy) {
    case Strategy::P2c:
      return p2c_pick(
          servers.size(), [&](std::size_t i) { return local(servers[i].id).in_flight; }, usable,
          rng_, scratch_);
    case Strategy::Hrw:
      return service.ring.pick(hash64(request.client_ip), usable);
    case Strategy::Wrr:
      break;
  }
  if (service.index >= wrr_.size()) wrr_.resize(service.index + 1);
  return wrr_pick(
      servers.size(), [&](std::size_t i) { return servers[i].weight; }, wrr_[service.index],
      usable);
}

void WorkerState::mark_down(const ServerTarget& server, Clock::duration for_) {
  local(server.id).down_until = Clock::now() + for_;
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
