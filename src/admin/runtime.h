// What the admin API shows: the configuration as applied, with each object's provider, status
// and errors. Plain data, built on the control plane after each apply and then only read.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/server_health.h"
#include "config/dynamic.h"
#include "config/provider_status.h"
#include "config/static_config.h"

namespace portier::admin {

struct ObjectError {
  std::string kind;  // "router", "service", "middleware"
  std::string name;  // qualified: "whoami@file"
  std::string message;
  bool warning = false;  // shown, but the object is still served (Traefik's "warning" status)
};

// A certificate the TLS store serves, or a name set an ACME resolver was asked for and holds no
// certificate for yet (then `names` is empty and not_after is 0). Public parts only: the private
// key never gets here.
struct CertificateInfo {
  std::string source;              // "file", "acme", or "generated" (the self-signed default)
  bool is_default = false;         // served when no name matches (tls.stores.default)
  std::vector<std::string> names;  // the certificate's DNS names (subjectAltName, else the CN)
  std::string subject, issuer;     // RFC 2253
  std::string serial;              // hex
  std::int64_t not_before = 0, not_after = 0;  // unix seconds
  // ACME only: the resolver, the name set routers asked for (main first), and the manager's
  // state for it: "valid", "pending", "renewing", "failed".
  std::string resolver;
  std::vector<std::string> domains;
  std::string state;
  std::string last_error;
  int failures = 0;
  std::int64_t next_attempt = 0;  // unix seconds (renewal or retry), 0: none scheduled
  bool operator==(const CertificateInfo&) const = default;
};

struct Runtime {
  config::Configuration config;  // merged, qualified names
  std::vector<ObjectError> errors;
  std::map<std::string, std::string> entrypoints;  // name -> bound address
  std::vector<std::string> udp_entrypoints;  // the names of those with a /udp address
  // Live health of checked servers, by service and server URL (the engine's flags: read with
  // relaxed loads, never written here). A server of a service that is not listed is UP.
  std::map<std::string, std::map<std::string, std::shared_ptr<const ServerHealth>>> health;
  // Requests in flight by server URL (all workers, all services using the URL).
  std::map<std::string, std::shared_ptr<const ServerLoad>> loads;
  // Each configured provider, with what it refused or is waiting for (as the provider reported
  // it; updated without an apply, since a refused file changes no configuration).
  std::map<std::string, config::ProviderStatus> providers;
  // Static options accepted with no effect yet ("file:line:col: `key` is not supported yet").
  std::vector<std::string> static_warnings;
  std::vector<CertificateInfo> certificates;
};

// JSON views, in Traefik's API shapes (name, provider, status, error list).
nlohmann::json router_json(const Runtime& rt, const std::string& name);
nlohmann::json service_json(const Runtime& rt, const std::string& name);
nlohmann::json middleware_json(const Runtime& rt, const std::string& name);
// The tcp and udp sections (runtime_l4.cc), in Traefik's shapes (pkg/api/handler_tcp.go,
// handler_udp.go); `name` must be in the matching map of rt.config.
nlohmann::json tcp_router_json(const Runtime& rt, const std::string& name);
nlohmann::json tcp_service_json(const Runtime& rt, const std::string& name);
nlohmann::json tcp_middleware_json(const Runtime& rt, const std::string& name);
nlohmann::json udp_router_json(const Runtime& rt, const std::string& name);
nlohmann::json udp_service_json(const Runtime& rt, const std::string& name);
// Counts of every section (http, tcp, udp), the providers and the static warnings.
nlohmann::json overview_json(const Runtime& rt);
nlohmann::json rawdata_json(const Runtime& rt);
// One provider: name, status ("enabled", "warning" when it only has warnings, "error" when it
// refused a source and serves that source's last good version or nothing) and its errors
// (file, line, message, level, since).
nlohmann::json provider_json(const Runtime& rt, const std::string& name);
// /api/portier/certificates: one object per CertificateInfo (main, sans, issuer, notAfter, and
// an `acme` object for resolver-managed names).
nlohmann::json certificates_json(const Runtime& rt);

// The latest Runtime, shared between the control plane (writer) and the API thread (reader).
// The public members are set once at start, before the API is served, and then only read.
class RuntimeStore {
 public:
  // api.dashboard: handle_api serves the dashboard under /dashboard/.
  bool dashboard = false;
  // Which instance this is, when several serve the same sites: api.dashboardName (Traefik's
  // /api/version dashboardName) and the host name; /api/overview's `instance` gives both, the
  // dashboard shows the name (the host name when no name is set).
  std::string dashboard_name;
  std::string hostname;
  // Serves GET /api/portier/traffic (404 while unset): cumulative request counts since start,
  // {"uptimeSeconds", "entryPoints", "routers", "services"} (docs/dashboard.md). Called on the
  // API's thread or a worker, concurrently: it must be thread-safe and must not block.
  std::function<nlohmann::json()> traffic_source;
  // /api/portier/cache (404 while unset): GET lists each cache middleware's counters; DELETE
  // purges (`cache_purge(middleware, key, prefix)`: middleware "" means every cache; exactly one
  // of key and prefix is non-empty) and returns how many keys went. Thread-safe, non-blocking.
  std::function<nlohmann::json()> cache_stats;
  std::function<nlohmann::json(std::string_view middleware, std::string_view key,
                               std::string_view prefix)>
      cache_purge;

  void set(std::shared_ptr<const Runtime> rt) {
    std::lock_guard lock(mu_);
    rt_ = std::move(rt);
  }
  std::shared_ptr<const Runtime> get() const {
    std::lock_guard lock(mu_);
    return rt_;
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Runtime> rt_ = std::make_shared<Runtime>();
};

}  // namespace portier::admin
