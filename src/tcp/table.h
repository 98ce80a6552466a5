// TCP routers, services and middlewares compiled for the data plane (Traefik's tcp section),
// built on the control thread with the HTTP routing table and published inside it
// (proxy::RoutingTable::tcp()). Immutable once built, except the load balancers' rotation and the
// inFlightConn counters, which are shared by every worker and locked (one short lock per
// connection, never per byte).
#pragma once

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <map>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/wrr.h"
#include "config/dynamic.h"
#include "proxy/middlewares/ip_strategy.h"
#include "tcp/rule.h"

namespace portier::tcp {

struct Server {
  std::string address;  // as configured, for logs
  std::string host;     // an IP literal (then `endpoint` is set) or a name resolved per dial
  std::string port;
  std::optional<boost::asio::ip::tcp::endpoint> endpoint;
};

// inFlightConn's counts by client address; shared across reloads by middleware name.
class InFlight {
 public:
  bool acquire(const std::string& ip, int amount);
  void release(const std::string& ip);

 private:
  std::mutex mu_;
  std::unordered_map<std::string, int> by_ip_;
};

struct Middleware {
  std::string name;
  std::optional<proxy::mw::IpMatcher> allow;  // ipAllowList
  std::shared_ptr<InFlight> in_flight;        // inFlightConn
  int amount = 0;
};

class Service {
 public:
  std::string name;
  std::vector<Server> servers;                          // a loadBalancer
  std::vector<std::pair<const Service*, int>> weighted;  // or weighted children
  int proxy_protocol = 0;                                 // 0, 1 or 2
  std::chrono::milliseconds dial_timeout{30000};
  std::chrono::milliseconds termination_delay{100};

  // The servers to try for one connection, in order: the next one in the rotation first (for
  // weighted, the child smooth weighted round robin picks), then the rest of that load
  // balancer's servers, so a dial failure tries the next server. Thread-safe.
  void order(std::vector<const Server*>& out) const;
  const Service* pick_child() const;

 private:
  mutable std::atomic<std::size_t> next_{0};
  mutable std::mutex mu_;
  mutable std::vector<std::int64_t> current_;  // smooth WRR state of `weighted`
};

enum class TlsMode { None, Passthrough, Terminate };

struct Route {
  std::string name;
  Rule rule;
  int priority = 0;
  const Service* service = nullptr;
  std::vector<const Middleware*> middlewares;
  TlsMode tls = TlsMode::None;
  // Terminate: the tls.options entry the handshake uses ("default" when the router names none),
  // without the `@provider` suffix (options are global, as for HTTP routers).
  std::string tls_options = "default";
};

// Everything TCP routing needs to know of one entrypoint.
struct EntryPointRoutes {
  std::vector<const Route*> plain;  // routers without tls, by priority
  std::vector<const Route*> tls;    // routers with tls (passthrough or terminated), by priority
  // The HTTPS routers on the same entrypoint: host names of their rules (lower case,
  // `*.domain` wildcards kept), and whether one of them has no host (Traefik's HTTPS catch-all).
  std::vector<std::string> https_hosts;
  bool https_catch_all = false;
  bool https_any() const { return https_catch_all || !https_hosts.empty(); }
  bool https_host(std::string_view sni) const;
};

class Table {
 public:
  // Null when no TCP router is on the entrypoint.
  const EntryPointRoutes* entrypoint(std::size_t index) const {
    return index < entrypoints_.size() && entrypoints_[index] ? entrypoints_[index].get() : nullptr;
  }

 private:
  friend class Builder;
  std::vector<std::unique_ptr<Service>> services_;
  std::vector<std::unique_ptr<Middleware>> middlewares_;
  std::vector<std::unique_ptr<Route>> routes_;
  std::vector<std::unique_ptr<EntryPointRoutes>> entrypoints_;
};

struct BuildError {
  std::string kind;  // "tcp router", "tcp service", "tcp middleware"
  std::string name;
  std::string message;
};

struct EntryPointInfo {
  std::string name;
  bool http_tls = false;  // entryPoints.<ep>.http.tls: every HTTP router there is HTTPS
};

// A TLS-terminating router's certificate needs (certResolver with domains, or its HostSNI names).
struct CertificateNeed {
  std::string router;
  std::string resolver;
  std::vector<std::vector<std::string>> domains;
};

struct BuildResult {
  std::shared_ptr<const Table> table;  // null when no entrypoint has a TCP router
  std::vector<bool> enabled;           // by entrypoint index: has TCP routers
  std::vector<BuildError> errors;
  std::vector<CertificateNeed> certificates;
};

// Control plane only; keeps inFlightConn counters across builds (by middleware name).
class Builder {
 public:
  explicit Builder(std::vector<EntryPointInfo> entrypoints) : eps_(std::move(entrypoints)) {}
  BuildResult build(const config::Configuration& cfg);

 private:
  std::vector<EntryPointInfo> eps_;
  std::map<std::string, std::shared_ptr<InFlight>> in_flight_;
};

}  // namespace portier::tcp
