#include "config/merge.h"

namespace portier::config {

void merge_tcp(const Tcp& in, const std::string& provider, Tcp& out) {
  for (const auto& [name, router] : in.routers) {
    TcpRouter r = router;
    r.service = qualify(r.service, provider);
    for (auto& m : r.middlewares) m = qualify(m, provider);
    out.routers.emplace(qualify(name, provider), std::move(r));
  }
  for (const auto& [name, service] : in.services) {
    TcpService s = service;
    if (s.weighted) {
      for (auto& c : *s.weighted) c.name = qualify(c.name, provider);
    }
    if (s.load_balancer) {
      s.load_balancer->servers_transport = qualify(s.load_balancer->servers_transport, provider);
    }
    out.services.emplace(qualify(name, provider), std::move(s));
  }
  for (const auto& [name, mw] : in.middlewares) out.middlewares.emplace(qualify(name, provider), mw);
  for (const auto& [name, t] : in.servers_transports) {
    out.servers_transports.emplace(qualify(name, provider), t);
  }
}

}  // namespace portier::config
