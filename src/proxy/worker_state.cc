#include "proxy/worker_state.h"

#include <algorithm>

#include "proxy/upstream_tls.h"

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

UpstreamPool& WorkerState::pool(const ServerTarget& server) {
  if (server.id < pools_.size() && pools_[server.id] &&
      pools_[server.id]->generation() >= server.generation) {
    return *pools_[server.id];
  }
  if (!server.transport) return pool(server.id);
  if (server.id >= pools_.size()) pools_.resize(server.id + 1);
  // An id belongs to one (URL, transport) pair for a generation (TableBuilder's key): a pool
  // made for a former owner of the id is replaced, with this transport's settings.
  pools_[server.id] = std::make_unique<UpstreamPool>(server.transport->max_idle,
                                                     server.transport->timeouts.idle_conn_timeout);
  return *pools_[server.id];
}

WorkerState::Pick WorkerState::pick(const ServiceTarget& service, const PickRequest& request) {
  now_ = Clock::now();
  const auto& servers = service.servers;
  auto usable = [&](std::size_t i, bool passive) {
    const ServerTarget& s = servers[i];
    return &s != request.exclude && s.available() && (!passive || !down_at(s, now_));
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
    return &s != request.exclude && s.available() && (!passive || !down_at(s, now_));
  };
  switch (service.strategy) {
    case Strategy::P2c:
      return p2c_pick(
          servers.size(), [&](std::size_t i) { return in_flight(servers[i]); }, usable,
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

bool WorkerState::available(const ServiceTarget& service, bool passive) {
  switch (service.kind) {
    case ServiceKind::LoadBalancer:
      for (const auto& s : service.servers) {
        if (s.available() && (!passive || !down_at(s, now_))) return true;
      }
      return false;
    case ServiceKind::Weighted:
      for (const auto& c : service.children) {
        if (c.weight > 0 && available(*c.service, passive)) return true;
      }
      return false;
    case ServiceKind::Failover:
      return available(*service.children[0].service, passive) ||
             available(*service.children[1].service, passive);
    case ServiceKind::Mirroring:
      return available(*service.children[0].service, passive);
    case ServiceKind::Internal:
      return true;
  }
  return false;
}

const ServiceTarget* WorkerState::resolve(const ServiceTarget& service,
                                          const PickRequest& request, std::string& set_cookies,
                                          std::vector<const ServiceTarget*>* mirrorings) {
  now_ = Clock::now();
  const ServiceTarget* s = &service;
  // The builder refuses cycles and nesting deeper than 16; the bound is only a backstop.
  for (int depth = 0; s != nullptr && s->kind != ServiceKind::LoadBalancer; ++depth) {
    if (depth > 64) return nullptr;
    switch (s->kind) {
      case ServiceKind::Failover: {
        const ServiceTarget& main = *s->children[0].service;
        const ServiceTarget& fallback = *s->children[1].service;
        // Passive marks first; when they leave nothing, active health alone decides (better a
        // try on the main service than a 503 while its only server restarts).
        if (available(main, true)) {
          s = &main;
        } else if (available(fallback, true) || !available(main, false)) {
          s = &fallback;
        } else {
          s = &main;
        }
        break;
      }
      case ServiceKind::Mirroring:
        if (mirrorings != nullptr) mirrorings->push_back(s);
        s = s->children[0].service;
        break;
      case ServiceKind::Weighted:
        s = pick_child(*s, request, set_cookies);
        break;
      case ServiceKind::LoadBalancer:
        break;
      case ServiceKind::Internal:
        return nullptr;  // never forwarded (the builder keeps it out of other services)
    }
  }
  return s;
}

const ServiceTarget* WorkerState::pick_child(const ServiceTarget& weighted,
                                             const PickRequest& request,
                                             std::string& set_cookies) {
  const auto& children = weighted.children;
  if (weighted.sticky && request.fields != nullptr) {
    std::string_view value = find_cookie(*request.fields, weighted.sticky->name);
    if (!value.empty()) {
      for (const auto& c : children) {
        if (c.sticky_value == value && c.weight > 0 && available(*c.service, true)) {
          return c.service;
        }
      }
    }
  }
  bool passive = false;
  for (std::size_t i = 0; i < children.size() && !passive; ++i) {
    passive = children[i].weight > 0 && available(*children[i].service, true);
  }
  if (weighted.index >= wrr_.size()) wrr_.resize(weighted.index + 1);
  std::size_t i = wrr_pick(
      children.size(), [&](std::size_t i) { return children[i].weight; }, wrr_[weighted.index],
      [&](std::size_t i) { return available(*children[i].service, passive); });
  if (i == static_cast<std::size_t>(-1)) return nullptr;
  if (weighted.sticky) set_cookies += set_cookie_field(*weighted.sticky, children[i].sticky_value);
  return children[i].service;
}

void WorkerState::choose_mirrors(const ServiceTarget& mirroring,
                                 std::vector<const ServiceTarget*>& out) {
  if (mirroring.index >= mirror_credit_.size()) mirror_credit_.resize(mirroring.index + 1);
  auto& credit = mirror_credit_[mirroring.index];
  if (credit.size() != mirroring.mirrors.size()) credit.assign(mirroring.mirrors.size(), 0);
  for (std::size_t i = 0; i < mirroring.mirrors.size(); ++i) {
    credit[i] += mirroring.mirrors[i].weight;
    if (credit[i] >= 100) {
      credit[i] -= 100;
      out.push_back(mirroring.mirrors[i].service);
    }
  }
}

void WorkerState::mark_down(const ServerTarget& server, Clock::duration for_) {
  if (ServerLocal* l = local(server)) {
    l->down_until = Clock::now() + for_;
    l->down_passes = server.health ? server.health->passes.load(std::memory_order_relaxed) : 0;
  }
}

bool WorkerState::down_at(const ServerTarget& server, Clock::time_point now) {
  const ServerLocal* l = local(server);
  if (l == nullptr || l->down_until <= now) return false;
  // A probe that passed after the mark clears it.
  return !server.health || server.health->passes.load(std::memory_order_relaxed) == l->down_passes;
}

void WorkerState::on_table(const RoutingTable& table) {
  wrr_.assign(table.service_count(), {});
  mirror_credit_.assign(table.service_count(), {});
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
  // Mirror requests end at once (their coroutines see the error and return), so nothing is
  // left on the io_context.
  boost::system::error_code ec;
  for (auto* s : mirror_sockets_) s->close(ec);
  wheel_.stop();
}

}  // namespace portier::proxy
