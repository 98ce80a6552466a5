// The internal provider: what portier generates itself rather than reads from a provider.
// api@internal when `api` is set, ping@internal and its router on `ping.entryPoint` when `ping`
// is (entrypoint redirects are compiled by the TableBuilder from the static entrypoints). Shared by a start (main.cc) and `portier check`.
#pragma once

#include <atomic>
#include <string>

#include "admin/runtime.h"
#include "config/dynamic.h"
#include "config/static_config.h"
#include "observability/metrics.h"
#include "proxy/routing_table.h"

namespace portier::app {

inline constexpr const char* kApiService = "api@internal";
inline constexpr const char* kPingService = "ping@internal";
inline constexpr const char* kPrometheusService = "prometheus@internal";

// Is /metrics answered by api.insecure's own listener (metrics.prometheus on `traefik` when the
// API has that address)?
bool metrics_on_api_listener(const config::StaticConfig& cfg);

// The "internal" provider's snapshot (names unqualified: "api").
config::Configuration internal_configuration(const config::StaticConfig& cfg);

// Makes `builder` serve api@internal in process with the admin API over `store` (when `api` is
// set; otherwise a router naming it finds no such service). No listener is opened: the API is
// reached only through routers, behind their middlewares. `store` must outlive every table the
// builder makes (the workers call the handler).
// `terminating` (may be null): set once a stop signal came; ping then answers
// ping.terminatingStatusCode.
// `metrics` (may be null): serves prometheus@internal (metrics.prometheus) from it.
void register_internal_services(const config::StaticConfig& cfg, proxy::TableBuilder& builder,
                                const admin::RuntimeStore& store, std::string version,
                                const std::atomic<bool>* terminating = nullptr,
                                const observability::Metrics* metrics = nullptr);

}  // namespace portier::app
