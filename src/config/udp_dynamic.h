// Traefik v3's `udp` section as plain data: routers (no rule: one router per entrypoint) and
// services (a loadBalancer of addresses, or weighted children). Providers produce it (files and
// Docker labels); the udp module compiles it (src/udp/table.h). Compares with ==.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace portier::config {

struct UdpRouter {
  std::string provider_error;             // as Router::provider_error
  std::vector<std::string> entry_points;  // empty: every UDP entrypoint
  std::string service;
  bool operator==(const UdpRouter&) const = default;
};

struct UdpServer {
  std::string address;  // "host:port"
  bool operator==(const UdpServer&) const = default;
};

struct UdpWeightedService {
  std::string name;
  int weight = 1;
  bool operator==(const UdpWeightedService&) const = default;
};

struct UdpService {
  std::string provider_error;
  std::optional<std::vector<UdpServer>> load_balancer;      // loadBalancer.servers
  std::optional<std::vector<UdpWeightedService>> weighted;  // weighted.services
  bool operator==(const UdpService&) const = default;
};

struct Udp {
  std::map<std::string, UdpRouter> routers;
  std::map<std::string, UdpService> services;
  bool operator==(const Udp&) const = default;
};

}  // namespace portier::config
