#include "app/engine_providers.h"

namespace portier::app {

namespace docker = providers::docker;

std::optional<docker::TlsFiles> tls_files(const config::DockerProvider& dc) {
  if (!dc.tls) return std::nullopt;
  return docker::TlsFiles{dc.tls->ca, dc.tls->cert, dc.tls->key, dc.tls->insecure_skip_verify};
}

Result<EngineProviders> start_engine_providers(
    const config::Providers& cfg, boost::asio::io_context& control,
    std::function<void(const std::string&, config::Configuration)> update,
    observability::Metrics* metrics) {
  EngineProviders out;
  if (cfg.docker) {
    const auto& dc = *cfg.docker;
    auto api = docker::make_curl_api(dc.endpoint, tls_files(dc), dc.http_client_timeout);
    if (!api) return api.error();
    auto options = docker::builder_options(dc);
    if (!options) return Error{"providers.docker." + options.error().message};
    out.docker = std::make_unique<docker::DockerProvider>(
        control, *options, std::move(*api),
        [update](config::Configuration c) { update("docker", std::move(c)); }, dc.watch);
  }
  if (cfg.swarm) {
    const auto& sc = *cfg.swarm;
    auto api = docker::make_swarm_curl_api(sc.endpoint, tls_files(sc), sc.http_client_timeout);
    if (!api) return api.error();
    auto options = docker::builder_options(sc);
    if (!options) return Error{"providers.swarm." + options.error().message};
    docker::SwarmProvider::Options so;
    so.builder = std::move(*options);
    so.builder.dialect = providers::docker::LabelDialect::Swarm;
    so.watch = sc.watch;
    so.refresh = sc.refresh_seconds;
    out.swarm = std::make_unique<docker::SwarmProvider>(
        control, std::move(so), std::move(*api),
        [update](config::Configuration c) { update("swarm", std::move(c)); });
  }
  if (out.docker) {
    out.docker->start();
    if (metrics) {
      metrics->add_counter("docker_events_total", "Docker Engine events received.",
                           [d = out.docker.get()] { return d->events_received(); });
    }
  }
  if (out.swarm) {
    out.swarm->start();
    if (metrics) {
      metrics->add_counter("swarm_events_total",
                           "Docker Engine events received by the Swarm provider.",
                           [s = out.swarm.get()] { return s->events_received(); });
    }
  }
  return out;
}

}  // namespace portier::app
