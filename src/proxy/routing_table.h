// The routing table: the merged dynamic configuration compiled into an immutable structure that
// workers read without locks. Built on the control plane by TableBuilder, published to every
// worker as shared_ptr<const RoutingTable>; a request keeps the table it started with.
//
// Matching: per entrypoint, routers whose rule pins exact hosts are indexed by host (hash map, so
// cost does not grow with the number of host-routed routers); the rest are in one list. Both are
// ordered by priority (higher first; ties by router name, ascending) and merged while matching.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/dynamic.h"
#include "config/static_config.h"
#include "observability/metrics.h"
#include "proxy/balancer.h"
#include "proxy/health.h"
#include "proxy/health_checker.h"
#include "proxy/middlewares/url.h"
#include "proxy/name_cache.h"
#include "proxy/pipeline/chain_builder.h"
#include "proxy/pipeline/filter.h"
#include "proxy/pipeline/stream.h"
#include "proxy/sticky.h"
#include "rules/rule.h"

namespace portier::tls {
class Store;
}
namespace portier::tcp {
class Table;  // src/tcp/table.h: held here, never looked into by proxy/
}
namespace portier::udp {
class Table;  // src/udp/table.h: the same
}

namespace portier::proxy {

struct Transport;  // proxy/upstream_tls.h

struct ServerTarget {
  std::uint32_t id = 0;  // same id for the same URL across tables: indexes per-worker pools
  // Ids of URLs that left the configuration are reused; each assignment of an id to a URL gets
  // a new, larger generation, so per-worker state of a former owner is never mistaken for this
  // server's (see UpstreamPool, WorkerState).
  std::uint64_t generation = 0;
  boost::asio::ip::tcp::endpoint endpoint;
  std::string host_header;  // "host[:port]" from the URL, sent when passHostHeader is false
  std::string url;
  int weight = 1;                              // 0: no traffic
  std::shared_ptr<const ServerHealth> health;  // null: always considered up
  std::shared_ptr<ServerLoad> load;            // in flight, for the API; never null when built
  std::string sticky_value;                    // the sticky cookie naming this server
  // How it is reached: its service's serversTransport (set for every server the builder makes;
  // null in hand-made targets, which then use the worker's static settings).
  std::shared_ptr<const Transport> transport;
  bool tls = false;      // an https:// URL: TLS with transport->tls
  bool h2c = false;      // an h2c:// URL: HTTP/2 with prior knowledge (proxy/h2_upstream.h)
  std::string tls_host;  // the URL's host (no brackets): SNI and the name verified

  bool available() const {
    return weight > 0 && (!health || health->up.load(std::memory_order_relaxed));
  }
};

// What a service does with a request: balance it over its servers, or hand it to other
// services (weighted, failover), or hand it to one and copies to others (mirroring), or answer
// it in process (internal: api@internal, served behind the router's middlewares with no port of
// its own). An internal service is only ever a router's service: the builder refuses it as a
// child of another service, and the codec never forwards to one.
enum class ServiceKind { LoadBalancer, Weighted, Failover, Mirroring, Internal };

// An internal service's answer: fills `out` (status, content type, body with body_set) from the
// request, which has no body it may read. Runs on the worker thread that owns the request, so it
// must not block beyond taking a mutex briefly; it must be thread-safe (all workers call it).
using InternalHandler = std::function<void(const Stream& request, LocalResponse& out)>;

struct ServiceTarget;

// A service another one refers to. Pointers stay valid as long as the table: services are
// heap objects the table owns, and the references form no cycle (the builder refuses them).
struct ChildTarget {
  const ServiceTarget* service = nullptr;
  int weight = 1;            // weighted: its weight; mirroring's mirrors: the percent
  std::string sticky_value;  // weighted.sticky: the cookie value naming this child
};

struct ServiceTarget {
  std::string name;         // "name@provider"
  std::uint32_t index = 0;  // position in the table, for per-worker balancer state
  std::uint32_t metrics_id = 0;  // the name's id in observability::Metrics (0: not counted)
  ServiceKind kind = ServiceKind::LoadBalancer;
  bool pass_host_header = true;
  std::vector<ServerTarget> servers;
  Strategy strategy = Strategy::Wrr;
  HashRing ring;                       // Strategy::Hrw only
  std::optional<StickyTarget> sticky;  // loadBalancer.sticky.cookie or weighted.sticky.cookie
  // Weighted: the children; Failover: {service, fallback}; Mirroring: {the main service}.
  std::vector<ChildTarget> children;
  std::vector<ChildTarget> mirrors;  // Mirroring: weight is the percent
  bool mirror_body = true;
  std::uint64_t mirror_body_limit = 0;  // bodies larger than this are not mirrored
  InternalHandler internal;             // Internal only
};

// Bodies portier keeps for mirrors: maxBodySize, or this ceiling when it is -1 or larger.
constexpr std::uint64_t kMirrorBodyCeiling = 4 << 20;

// Fills the service's strategy, hash ring and sticky cookie from its loadBalancer (after its
// servers). Returns an error message when the service must be disabled, else "".
std::string compile_balancing(const config::LoadBalancer& lb, std::string_view salt,
                              ServiceTarget& service);

struct Route {
  std::string name;
  std::uint32_t metrics_id = 0;  // the name's id in observability::Metrics (0: not counted)
  int priority = 0;
  rules::Rule rule;
  Chain chain;                             // the router's middlewares, compiled
  const ServiceTarget* service = nullptr;  // null only for entrypoint redirects
  // entryPoints.<ep>.http.redirections: skipped for requests that already came over the target
  // scheme (a trusted proxy's X-Forwarded-Proto).
  std::optional<Redirect> entrypoint_redirect;
  // For a TLS router: the tls.options name it asks for ("default" when none). A request whose
  // handshake was made under other options is answered 421 (Traefik's snicheck), so a client
  // cannot reach it through a handshake without its clientAuth, say with no SNI. Empty for
  // plain routers. (A router placed on several entrypoints takes its first TLS placement's.)
  std::string tls_options;
};

class EntryPointRoutes {
 public:
  // The highest-priority route whose rule matches, or nullptr. `req.host` must already be
  // normalized (lower case, no port, no trailing dot: see normalize_host). Does not allocate.
  const Route* match(const rules::Request& req, bool skip_redirects = false) const;

 private:
  friend class TableBuilder;
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::vector<const Route*>, Hash, std::equal_to<>> by_host_;
  std::vector<const Route*> any_host_;
};

// Writes the Host value's host part, lower-cased and without port, trailing dot and the brackets
// of an IPv6 literal, into `out`
// (at least 256 bytes). Returns its length; 0 when the host is empty or too long to route on.
std::size_t normalize_host(std::string_view host, char* out);

class RoutingTable {
 public:
  // Routes of the entrypoint with this index (order of the static entrypoints) for plain HTTP
  // or TLS connections (a router with tls answers only on TLS, one without only on plain HTTP),
  // or nullptr.
  const EntryPointRoutes* entrypoint(std::size_t index, bool tls = false) const {
    const auto& v = tls ? tls_entrypoints_ : entrypoints_;
    return index < v.size() ? &v[index] : nullptr;
  }
  // Does this entrypoint accept TLS (some router on it has tls, or its http.tls is set)?
  bool tls_enabled(std::size_t index) const {
    return index < tls_enabled_.size() && tls_enabled_[index];
  }
  // TCP routers (src/tcp/table.h; set by the control plane before publishing): does this
  // entrypoint have any? One test on the session's path, so entrypoints without stay as fast.
  bool tcp_enabled(std::size_t index) const {
    return index < tcp_enabled_.size() && tcp_enabled_[index];
  }
  const tcp::Table* tcp() const { return tcp_.get(); }
  void set_tcp(std::shared_ptr<const tcp::Table> t, std::vector<bool> enabled) {
    tcp_ = std::move(t);
    tcp_enabled_ = std::move(enabled);
  }
  // UDP routers (src/udp/table.h; set by the control plane before publishing); null: none.
  const udp::Table* udp() const { return udp_.get(); }
  void set_udp(std::shared_ptr<const udp::Table> t) { udp_ = std::move(t); }
  // The certificate store for TLS handshakes (set by the control plane before publishing).
  const tls::Store* tls_store() const { return tls_store_.get(); }
  void set_tls_store(std::shared_ptr<const tls::Store> s) { tls_store_ = std::move(s); }
  std::size_t service_count() const { return services_.size(); }
  std::uint32_t max_server_id() const { return max_server_id_; }
  const std::vector<std::uint32_t>& server_ids() const { return server_ids_; }

 private:
  friend class TableBuilder;
  std::vector<std::unique_ptr<ServiceTarget>> services_;
  std::vector<std::unique_ptr<Route>> routes_;
  std::vector<EntryPointRoutes> entrypoints_;
  std::vector<EntryPointRoutes> tls_entrypoints_;
  std::vector<bool> tls_enabled_;
  std::shared_ptr<const tls::Store> tls_store_;
  std::shared_ptr<const tcp::Table> tcp_;
  std::vector<bool> tcp_enabled_;
  std::shared_ptr<const udp::Table> udp_;
  std::vector<std::uint32_t> server_ids_;
  std::uint32_t max_server_id_ = 0;
};

// A problem found while building, attached to the object it disables.
struct BuildError {
  std::string kind;  // "router", "service", "middleware"
  std::string name;  // "whoami@file"
  std::string message;
  std::string object() const { return kind + " " + name; }
};

// Certificates a TLS router asks a resolver for: one name set per certificate.
struct CertificateRequest {
  std::string router;
  std::string resolver;
  std::vector<std::vector<std::string>> domains;
};

struct BuildResult {
  std::shared_ptr<RoutingTable> table;  // not yet published: the TLS store is added first
  std::vector<BuildError> errors;
  std::vector<CertificateRequest> certificates;
  std::map<std::string, std::string> tls_options_by_host;  // SNI name -> tls.options name
  // Health of checked servers, by service and server URL, for the API's serverStatus.
  std::map<std::string, std::map<std::string, std::shared_ptr<const ServerHealth>>> health;
  // In-flight counts by server URL, for the API's serverInFlight.
  std::map<std::string, std::shared_ptr<const ServerLoad>> loads;
};

// What the builder needs to know of a static entrypoint.
struct EntryPointInfo {
  std::string name;
  std::optional<config::RouterTls> tls;                // http.tls
  std::optional<config::EntryPointRedirect> redirect;  // http.redirections.entryPoint
  std::string redirect_port;  // the target's port; empty when it is the scheme's default
};

// Compiles configurations into tables. Keeps the URL -> server id registry across builds, so a
// server that survives a reload keeps its pools; the ids of URLs a build no longer uses are
// freed and reused, so the registry and the workers' per-id state stay as large as the largest
// configuration, not every backend ever seen (Docker churn). Control plane only; not
// thread-safe.
class TableBuilder {
 public:
  explicit TableBuilder(std::vector<std::string> entrypoint_names, HealthChecker* health = nullptr)
      : health_(health) {
    for (auto& n : entrypoint_names) infos_.push_back({std::move(n), {}, {}, {}});
  }
  TableBuilder(std::vector<EntryPointInfo> entrypoints, HealthChecker* health)
      : infos_(std::move(entrypoints)), health_(health) {}
  BuildResult build(const config::Configuration& cfg);
  // Server host names come from `names` (never blocking) once set; without it they are resolved
  // synchronously during build (tests and benchmarks only).
  void set_name_cache(NameCache* names) { names_ = names; }
  // The static serversTransport: the transport of services that name none. Compiled (CA files
  // read) on the first build; an error there disables those services with it.
  void set_default_transport(const config::ServersTransport& st) {
    default_transport_config_ = st;
    default_transport_.reset();
  }
  // Serves the configuration's service `name` ("api@internal") with `handler`, in process,
  // whatever the configuration says of it (the entry there is only for the API's view). A
  // router naming it answers through its middlewares; another service naming it is disabled.
  void set_internal_service(std::string name, InternalHandler handler) {
    internal_[std::move(name)] = std::move(handler);
  }
  // Routers and services get ids in `metrics` (they are counted), and each build tells it which
  // names are current. Unset: nothing is counted.
  void set_metrics(observability::Metrics* metrics) { metrics_ = metrics; }
  // Certificate resolvers with onDemand: a router naming one needs no Host names (its
  // certificates are ordered at the first handshake for each name).
  void set_on_demand_resolvers(std::vector<std::string> names) {
    on_demand_resolvers_ = std::move(names);
  }

 private:
  struct ServerSlot {
    std::uint32_t id = 0;
    std::uint64_t generation = 0;
  };
  ServerSlot server_slot(const std::string& url);
  // Frees the ids (and load counters) of URLs the configuration does not name any more (before
  // a build, so the new ones can take them), and after it those that `table` does not use.
  void release_absent(const config::Configuration& cfg);
  void release_unused(const RoutingTable& table);
  // Weighted, failover and mirroring services, after the load balancers (service_compile.cc):
  // children are resolved by name; a missing or disabled child, a cycle or too deep a nesting
  // disables the service with that error. `services` holds the enabled ones and grows.
  void compile_composites(const config::Http& http, RoutingTable& table,
                          std::map<std::string, const ServiceTarget*>& services,
                          BuildResult& result);
  void add_entrypoint_redirects(RoutingTable& table);
  // Compiles the configuration's serversTransports, reusing those unchanged since the last build
  // (their SSL_CTX, and so their servers' pools, survive a reload). Errors are kept per name.
  void compile_transports(const config::Http& http);
  // The transport a load balancer names ("" for the default), or an error message.
  std::shared_ptr<const Transport> transport_for(const std::string& name, std::string& err);
  bool tls_requests(const std::string& name, const config::Router& router, const rules::Rule& rule,
                    const std::vector<std::pair<std::size_t, const config::RouterTls*>>& placed,
                    const config::Tls& tls, BuildResult& result, std::string& err) const;
  std::vector<EntryPointInfo> infos_;
  HealthChecker* health_;  // runs the services' health checks; may be null (no checks)
  NameCache* names_ = nullptr;
  std::map<std::string, ServerSlot> server_ids_;
  std::vector<std::uint32_t> free_ids_;
  std::uint32_t next_id_ = 0;
  std::uint64_t next_generation_ = 1;
  std::map<std::string, std::shared_ptr<ServerLoad>> loads_;  // by URL, like server_ids_
  FilterStates filter_states_;  // middlewares' state across builds (rate limits, breakers)
  std::string sticky_salt_ = random_salt();  // per process: sticky cookies survive reloads
  std::map<std::string, InternalHandler> internal_;
  observability::Metrics* metrics_ = nullptr;
  std::vector<std::string> on_demand_resolvers_;
  struct CompiledTransport {
    config::HttpServersTransport config;
    std::shared_ptr<const Transport> transport;  // null when it failed
    std::string error;
  };
  std::map<std::string, CompiledTransport> transports_;  // by qualified name
  config::ServersTransport default_transport_config_;
  std::shared_ptr<const Transport> default_transport_;
  std::string default_transport_error_;
};

}  // namespace portier::proxy
