// The providers that read a Docker Engine: providers.docker (containers) and providers.swarm
// (a swarm's services), made from the static configuration and started. Owned by main.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/result.h"
#include "config/static_config.h"
#include "observability/metrics.h"
#include "providers/docker/docker_provider.h"
#include "providers/docker/swarm_provider.h"

namespace portier::app {

struct EngineProviders {
  std::unique_ptr<providers::docker::DockerProvider> docker;
  std::unique_ptr<providers::docker::SwarmProvider> swarm;
  void stop() {
    if (docker) docker->stop();
    if (swarm) swarm->stop();
  }
};

// The client certificates of a tcp:// Engine, when configured.
std::optional<providers::docker::TlsFiles> tls_files(const config::DockerProvider& dc);

// Starts those of cfg.providers.docker and .swarm that are set; each snapshot goes to
// update("docker" | "swarm", ...) on `control`. With `metrics`, counts their events
// (portier_docker_events_total, portier_swarm_events_total). An error names the option (the
// caller exits): nothing was started then.
Result<EngineProviders> start_engine_providers(
    const config::Providers& cfg, boost::asio::io_context& control,
    std::function<void(const std::string&, config::Configuration)> update,
    observability::Metrics* metrics);

}  // namespace portier::app
