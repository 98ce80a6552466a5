// Compiling services beyond their servers: a load balancer's strategy, hash ring and sticky
// cookie; weighted, failover and mirroring services over other services.
#include <algorithm>

#include "proxy/routing_table.h"

namespace portier::proxy {

std::string compile_balancing(const config::LoadBalancer& lb, std::string_view salt,
                              ServiceTarget& service) {
  auto strategy = parse_strategy(lb.strategy);
  if (!strategy) {
    return "loadBalancer.strategy `" + lb.strategy +
           "` is not supported (wrr, p2c and hrw (alias hash, ipHash) are; leasttime is not yet)";
  }
  service.strategy = *strategy;
  if (service.strategy == Strategy::Hrw) {
    std::vector<std::pair<std::string, int>> points;
    for (const auto& s : service.servers) points.emplace_back(s.url, s.weight);
    service.ring = HashRing::build(points);
  }
  if (lb.sticky) {
    service.sticky = compile_sticky(*lb.sticky, service.name);
    for (auto& s : service.servers) s.sticky_value = sticky_value(salt, s.url);
  }
  return "";
}

}  // namespace portier::proxy

// Weighted, failover and mirroring services: a depth-first walk over the references, so a
// child is compiled before its parent and a cycle is seen when a name comes back on the stack.
namespace portier::proxy {
namespace {

constexpr std::size_t kMaxNesting = 16;

class CompositeCompiler {
 public:
  CompositeCompiler(const config::Http& http, std::vector<std::unique_ptr<ServiceTarget>>& owned,
                    std::map<std::string, const ServiceTarget*>& services,
                    std::vector<BuildError>& errors, std::string_view salt)
      : http_(http), owned_(owned), services_(services), errors_(errors), salt_(salt) {}

  // The compiled service, or nullptr with `why` set to what a parent should say about it.
  const ServiceTarget* visit(const std::string& name, std::string& why) {
    if (auto it = services_.find(name); it != services_.end()) return it->second;
    if (auto it = failed_.find(name); it != failed_.end()) {
      why = it->second;
      return nullptr;
    }
    auto cfg = http_.services.find(name);
    if (cfg == http_.services.end()) {
      why = "service `" + name + "` does not exist";
      return nullptr;
    }
    const config::Service& svc = cfg->second;
    if (!svc.weighted && !svc.failover && !svc.mirroring) {
      why = "service `" + name + "` is disabled";  // a load balancer with an error of its own
      return nullptr;
    }
    if (auto at = std::find(stack_.begin(), stack_.end(), name); at != stack_.end()) {
      std::string path;
      for (auto i = at; i != stack_.end(); ++i) path += *i + " -> ";
      path += name;
      for (auto i = at; i != stack_.end(); ++i) cycle_[*i] = "services form a cycle: " + path;
      why = "services form a cycle: " + path;
      return nullptr;
    }
    if (stack_.size() >= kMaxNesting) {
      why = "services nest deeper than " + std::to_string(kMaxNesting) + " levels";
      return nullptr;
    }
    stack_.push_back(name);
    std::string err;
    auto target = compile(name, svc, err);
    stack_.pop_back();
    if (auto c = cycle_.find(name); c != cycle_.end()) err = c->second;
    if (!target) {
      errors_.push_back({"service", name, err});
      failed_[name] = "service `" + name + "` is disabled";
      why = failed_[name];
      return nullptr;
    }
    target->index = static_cast<std::uint32_t>(owned_.size());
    const ServiceTarget* out = target.get();
    owned_.push_back(std::move(target));
    services_[name] = out;
    return out;
  }

 private:
  const ServiceTarget* child(const std::string& owner_field, const std::string& name,
                             std::string& err) {
    if (name.empty()) {
      err = owner_field + " is not set";
      return nullptr;
    }
    std::string why;
    const ServiceTarget* t = visit(name, why);
    if (!t) {
      err = owner_field + ": " + why;
    } else if (t->kind == ServiceKind::Internal) {
      // It answers in the codec, after the router's middlewares; the forwarder that balances,
      // fails over and mirrors has no way to reach it.
      err = owner_field + ": service `" + name +
            "` is internal: only a router can use it, not another service";
      return nullptr;
    }
    return t;
  }

  std::unique_ptr<ServiceTarget> compile(const std::string& name, const config::Service& svc,
                                         std::string& err) {
    if (!svc.provider_error.empty()) {
      err = svc.provider_error;
      return nullptr;
    }
    auto t = std::make_unique<ServiceTarget>();
    t->name = name;
    if (svc.weighted) {
      t->kind = ServiceKind::Weighted;
      if (svc.weighted->services.empty()) {
        err = "weighted.services is empty";
        return nullptr;
      }
      for (const auto& ws : svc.weighted->services) {
        const ServiceTarget* c = child("weighted.services", ws.name, err);
        if (!c) return nullptr;
        t->children.push_back({c, ws.weight, {}});
      }
      if (svc.weighted->sticky) {
        t->sticky = compile_sticky(*svc.weighted->sticky, name);
        for (auto& c : t->children) c.sticky_value = sticky_value(salt_, c.service->name);
      }
    } else if (svc.failover) {
      t->kind = ServiceKind::Failover;
      const ServiceTarget* main = child("failover.service", svc.failover->service, err);
      if (!main) return nullptr;
      const ServiceTarget* fallback = child("failover.fallback", svc.failover->fallback, err);
      if (!fallback) return nullptr;
      t->children = {{main, 1, {}}, {fallback, 1, {}}};
    } else {
      const config::Mirroring& m = *svc.mirroring;
      t->kind = ServiceKind::Mirroring;
      const ServiceTarget* main = child("mirroring.service", m.service, err);
      if (!main) return nullptr;
      t->children = {{main, 1, {}}};
      for (const auto& mi : m.mirrors) {
        const ServiceTarget* c = child("mirroring.mirrors", mi.name, err);
        if (!c) return nullptr;
        if (mi.percent > 0) t->mirrors.push_back({c, mi.percent, {}});
      }
      t->mirror_body = m.mirror_body;
      t->mirror_body_limit =
          m.max_body_size < 0
              ? kMirrorBodyCeiling
              : std::min<std::uint64_t>(static_cast<std::uint64_t>(m.max_body_size),
                                        kMirrorBodyCeiling);
    }
    return t;
  }

  const config::Http& http_;
  std::vector<std::unique_ptr<ServiceTarget>>& owned_;
  std::map<std::string, const ServiceTarget*>& services_;
  std::vector<BuildError>& errors_;
  std::string_view salt_;
  std::vector<std::string> stack_;
  std::map<std::string, std::string> failed_;  // name -> what parents say about it
  std::map<std::string, std::string> cycle_;   // members of a cycle -> the cycle
};

}  // namespace

void TableBuilder::compile_composites(const config::Http& http, RoutingTable& table,
                                      std::map<std::string, const ServiceTarget*>& services,
                                      BuildResult& result) {
  CompositeCompiler c(http, table.services_, services, result.errors, sticky_salt_);
  for (const auto& [name, svc] : http.services) {
    if (!svc.weighted && !svc.failover && !svc.mirroring) continue;
    if (services.count(name)) continue;  // an internal service, whatever the config says
    std::string why;
    c.visit(name, why);
  }
}

}  // namespace portier::proxy
