#include "app/internal.h"

#include <limits>

#include "admin/api.h"
#include "proxy/http/message.h"

namespace portier::app {

config::Configuration internal_configuration(const config::StaticConfig& cfg) {
  config::Configuration internal;
  // No loadBalancer: the entry lists api@internal in the API (as Traefik lists its own); the
  // builder serves it with the handler register_internal_services gives it.
  if (cfg.api) internal.http.services["api"];
  if (cfg.ping) {
    internal.http.services["ping"];
    // Traefik's router for it, unless manualRouting. On `traefik` with api.insecure, the API's
    // own listener answers /ping (that entrypoint proxies nothing then).
    const bool on_api_listener =
        cfg.ping->entry_point == "traefik" && cfg.api && cfg.api->insecure;
    if (!cfg.ping->manual_routing && !on_api_listener) {
      config::Router r;
      r.rule = "PathPrefix(`/ping`)";
      r.entry_points = {cfg.ping->entry_point};
      r.priority = std::numeric_limits<int>::max() - 1;
      r.service = "ping";
      internal.http.routers["ping"] = r;
    }
  }
  if (cfg.metrics && cfg.metrics->prometheus) {
    internal.http.services["prometheus"];
    const auto& p = *cfg.metrics->prometheus;
    if (!p.manual_routing && !metrics_on_api_listener(cfg)) {
      config::Router r;
      r.rule = "PathPrefix(`/metrics`)";
      r.entry_points = {p.entry_point};
      r.priority = std::numeric_limits<int>::max() - 1;
      r.service = "prometheus";
      internal.http.routers["prometheus"] = r;
    }
  }
  return internal;
}

bool metrics_on_api_listener(const config::StaticConfig& cfg) {
  return cfg.metrics && cfg.metrics->prometheus && !cfg.metrics->prometheus->manual_routing &&
         cfg.metrics->prometheus->entry_point == "traefik" && cfg.api && cfg.api->insecure;
}

void register_internal_services(const config::StaticConfig& cfg, proxy::TableBuilder& builder,
                                const admin::RuntimeStore& store, std::string version,
                                const std::atomic<bool>* terminating,
                                const observability::Metrics* metrics) {
  if (cfg.metrics && cfg.metrics->prometheus) {  // (no metrics: `portier check`, nothing served)
    builder.set_internal_service(
        kPrometheusService, [metrics](const proxy::Stream& s, proxy::LocalResponse& out) {
          if (s.method != "GET" && s.method != "HEAD") {
            out.status = 405;
            out.body = "405 method not allowed\n";
            out.fields.push_back({"Allow", "GET, HEAD", false});
          } else {
            out.status = 200;
            out.content_type = "text/plain; version=0.0.4; charset=utf-8";
            out.body = metrics != nullptr ? metrics->prometheus_text() : "";
          }
          out.body_set = true;
        });
  }
  if (cfg.ping) {
    const int code = cfg.ping->terminating_status_code;
    builder.set_internal_service(
        kPingService, [terminating, code](const proxy::Stream& s, proxy::LocalResponse& out) {
          // Traefik's ping: GET and HEAD, "OK"; once stopping, terminatingStatusCode (503), so
          // load balancers take this instance out during requestAcceptGraceTimeout.
          if (s.method != "GET" && s.method != "HEAD") {
            out.status = 404;
            out.body = "404 page not found\n";
          } else {
            const bool stopping =
                terminating != nullptr && terminating->load(std::memory_order_relaxed);
            out.status = stopping ? code : 200;
            out.body = stopping ? std::string(http::reason_phrase(code)) : "OK";
          }
          out.body_set = true;
        });
  }
  if (!cfg.api) return;
  builder.set_internal_service(kApiService, [&store, version = std::move(version)](
                                                const proxy::Stream& s, proxy::LocalResponse& out) {
    // The path after the router's middlewares (stripPrefix serves it under a prefix).
    admin::ApiResponse r = admin::handle_api(store, version, s.method, s.forward_path(), s.query);
    out.status = r.status;
    out.content_type = std::move(r.content_type);
    out.body = std::move(r.body);
    out.body_set = true;
    if (!r.allow.empty()) out.fields.push_back({"Allow", std::move(r.allow), false});
    for (auto& [name, value] : r.fields) out.fields.push_back({name, std::move(value), false});
  });
}

}  // namespace portier::app
