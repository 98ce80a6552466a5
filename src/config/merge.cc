#include "config/merge.h"

namespace portier::config {

std::string qualify(const std::string& name, const std::string& provider) {
  if (name.empty() || name.find('@') != std::string::npos) return name;
  return name + "@" + provider;
}

Configuration merge(const std::map<std::string, Configuration>& snapshots) {
  Configuration out;
  for (const auto& [provider, cfg] : snapshots) {
    for (const auto& [name, router] : cfg.http.routers) {
      Router r = router;
      r.service = qualify(r.service, provider);
      for (auto& m : r.middlewares) m = qualify(m, provider);
      out.http.routers.emplace(qualify(name, provider), std::move(r));
    }
    for (const auto& [name, service] : cfg.http.services) {
      // Services name other services like routers do: a bare name is the same provider's.
      Service s = service;
      if (s.weighted) {
        for (auto& c : s.weighted->services) c.name = qualify(c.name, provider);
      }
      if (s.failover) {
        s.failover->service = qualify(s.failover->service, provider);
        s.failover->fallback = qualify(s.failover->fallback, provider);
      }
      if (s.load_balancer) {
        s.load_balancer->servers_transport = qualify(s.load_balancer->servers_transport, provider);
      }
      if (s.mirroring) {
        s.mirroring->service = qualify(s.mirroring->service, provider);
        for (auto& m : s.mirroring->mirrors) m.name = qualify(m.name, provider);
      }
      out.http.services.emplace(qualify(name, provider), std::move(s));
    }
    for (const auto& [name, mw] : cfg.http.middlewares) {
      Middleware m = mw;
      if (m.chain) {
        for (auto& c : m.chain->middlewares) c = qualify(c, provider);
      }
      out.http.middlewares.emplace(qualify(name, provider), std::move(m));
    }
    merge_tcp(cfg.tcp, provider, out.tcp);
    for (const auto& [name, t] : cfg.http.servers_transports) {
      out.http.servers_transports.emplace(qualify(name, provider), t);
    }
    merge_udp(cfg.udp, provider, out.udp);
    // TLS material is not namespaced in Traefik: certificates add up, options and stores
    // keep their names (the first provider to define one wins).
    out.tls.certificates.insert(out.tls.certificates.end(), cfg.tls.certificates.begin(),
                                cfg.tls.certificates.end());
    for (const auto& [name, o] : cfg.tls.options) out.tls.options.emplace(name, o);
    for (const auto& [name, st] : cfg.tls.stores) out.tls.stores.emplace(name, st);
  }
  return out;
}

void add_entrypoint_middlewares(
    Configuration& merged, const std::map<std::string, std::vector<std::string>>& by_entrypoint) {
  for (auto& [name, router] : merged.http.routers) {
    const std::string provider = name.substr(name.find('@') + 1);
    std::vector<std::string> eps = router.entry_points;
    if (eps.empty()) {
      for (const auto& [ep, list] : by_entrypoint) eps.push_back(ep);
    }
    const std::vector<std::string>* common = nullptr;
    bool differ = false;
    for (const auto& ep : eps) {
      auto it = by_entrypoint.find(ep);
      if (it == by_entrypoint.end()) continue;  // the builder reports unknown entrypoints
      if (common == nullptr) {
        common = &it->second;
      } else if (*common != it->second) {
        differ = true;
      }
    }
    if (differ) {
      if (router.provider_error.empty()) {
        router.provider_error =
            "the router's entrypoints have different http.middlewares; give it entrypoints "
            "with the same list (not supported yet)";
      }
      continue;
    }
    if (common == nullptr || common->empty()) continue;
    std::vector<std::string> chain;
    for (const auto& m : *common) chain.push_back(qualify(m, provider));
    chain.insert(chain.end(), router.middlewares.begin(), router.middlewares.end());
    router.middlewares = std::move(chain);
  }
}

}  // namespace portier::config
