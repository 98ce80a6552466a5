#include "config/merge.h"

namespace portier::config {

void merge_udp(const Udp& in, const std::string& provider, Udp& out) {
  for (const auto& [name, router] : in.routers) {
    UdpRouter r = router;
    r.service = qualify(r.service, provider);
    out.routers.emplace(qualify(name, provider), std::move(r));
  }
  for (const auto& [name, service] : in.services) {
    UdpService s = service;
    if (s.weighted) {
      for (auto& c : *s.weighted) c.name = qualify(c.name, provider);
    }
    out.services.emplace(qualify(name, provider), std::move(s));
  }
}

}  // namespace portier::config
