#include "app/internal.h"

#include "admin/api.h"

namespace portier::app {

config::Configuration internal_configuration(const config::StaticConfig& cfg) {
  config::Configuration internal;
  // No loadBalancer: the entry lists api@internal in the API (as Traefik lists its own); the
  // builder serves it with the handler register_internal_services gives it.
  if (cfg.api) internal.http.services["api"];
  return internal;
}

void register_internal_services(const config::StaticConfig& cfg, proxy::TableBuilder& builder,
                                const admin::RuntimeStore& store, std::string version) {
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
  });
}

}  // namespace portier::app
