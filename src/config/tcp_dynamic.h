// Traefik v3's `tcp` section as plain data: routers, services, middlewares and the
// serversTransports' PROXY protocol. Providers produce it (files and Docker labels); the tcp
// module compiles it (src/tcp/table.h). No sockets, no handles: compares with ==.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace portier::config {

struct TcpDomain {
  std::string main;
  std::vector<std::string> sans;
  bool operator==(const TcpDomain&) const = default;
};

// tcp.routers.<r>.tls: present means "TLS connections only". passthrough pipes the raw TLS bytes
// to the service; otherwise portier terminates TLS with its certificate store.
struct TcpRouterTls {
  bool passthrough = false;
  std::string options;  // a tls.options name ("" = default)
  std::string cert_resolver;
  std::vector<TcpDomain> domains;
  bool operator==(const TcpRouterTls&) const = default;
};

struct TcpRouter {
  std::string provider_error;  // as Router::provider_error
  std::string rule;            // HostSNI, HostSNIRegexp, ClientIP, ALPN with && || ! ( )
  std::string rule_syntax;     // "" or "v3"
  int priority = 0;            // 0: the rule's length (HostSNI(`*`) alone: -1)
  std::vector<std::string> entry_points;  // empty: every entrypoint
  std::vector<std::string> middlewares;
  std::string service;
  std::optional<TcpRouterTls> tls;
  bool operator==(const TcpRouter&) const = default;
};

struct TcpServer {
  std::string address;  // "host:port"
  bool tls = false;     // dial the server over TLS: not supported (the service is disabled)
  bool operator==(const TcpServer&) const = default;
};

struct TcpLoadBalancer {
  std::vector<TcpServer> servers;
  std::string servers_transport;  // a tcp.serversTransports name
  // Traefik v2's place for it, still read by v3 (deprecated there): 0 = none.
  int proxy_protocol_version = 0;
  bool operator==(const TcpLoadBalancer&) const = default;
};

struct TcpWeightedService {
  std::string name;
  int weight = 1;
  bool operator==(const TcpWeightedService&) const = default;
};

struct TcpService {
  std::string provider_error;
  std::optional<TcpLoadBalancer> load_balancer;
  std::optional<std::vector<TcpWeightedService>> weighted;  // weighted.services
  bool operator==(const TcpService&) const = default;
};

struct TcpMiddleware {
  std::string provider_error;
  std::optional<std::vector<std::string>> ip_allow_list;  // ipAllowList.sourceRange
  std::optional<int> in_flight_conn;                      // inFlightConn.amount
  bool operator==(const TcpMiddleware&) const = default;
};

// tcp.serversTransports.<name>: the options portier acts on.
struct TcpServersTransport {
  std::string provider_error;
  std::chrono::milliseconds dial_timeout = std::chrono::seconds(30);
  std::chrono::milliseconds termination_delay = std::chrono::milliseconds(100);
  int proxy_protocol_version = 0;  // proxyProtocol.version: 0 none, 1 or 2
  bool operator==(const TcpServersTransport&) const = default;
};

struct Tcp {
  std::map<std::string, TcpRouter> routers;
  std::map<std::string, TcpService> services;
  std::map<std::string, TcpMiddleware> middlewares;
  std::map<std::string, TcpServersTransport> servers_transports;
  bool operator==(const Tcp&) const = default;
};

}  // namespace portier::config
