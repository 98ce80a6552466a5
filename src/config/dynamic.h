// The dynamic configuration model: routers, services (and, with later issues, middlewares and
// TLS) as plain data, with Traefik v3's field names. Providers produce it; the table builder in
// proxy/ compiles it. No sockets, no handles: two configurations compare with ==.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace portier::config {

struct Router {
  std::string rule;
  int priority = 0;                       // 0: the rule's length
  std::vector<std::string> entry_points;  // empty: every entrypoint
  std::vector<std::string> middlewares;
  std::string service;
  bool operator==(const Router&) const = default;
};

struct Server {
  std::string url;
  int weight = 1;
  bool operator==(const Server&) const = default;
};

struct LoadBalancer {
  std::vector<Server> servers;
  bool pass_host_header = true;
  bool operator==(const LoadBalancer&) const = default;
};

struct Service {
  std::optional<LoadBalancer> load_balancer;
  bool operator==(const Service&) const = default;
};

struct Http {
  std::map<std::string, Router> routers;
  std::map<std::string, Service> services;
  bool operator==(const Http&) const = default;
};

struct Configuration {
  Http http;
  bool operator==(const Configuration&) const = default;
};

}  // namespace portier::config
