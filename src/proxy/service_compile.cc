// The balancing part of compiling a service: strategy, hash ring, sticky cookie.
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
