// Containers to dynamic configuration, Traefik's way. Pure: the same containers and options
// always give the same configuration, and every choice or problem is reported.
//
// Defaults (Traefik v3 docker provider): no service label -> one service named
// normalize("<compose service>_<compose project>") or normalize(container name); routers
// without a service use the container's only service; no router -> one router named like the
// service with `defaultRule`; port from loadbalancer.server.port, else the only exposed port,
// else the lowest (with a warning); address from the chosen network, 127.0.0.1 for host
// networking; replicas of one compose service share one service, a server each; containers
// that are paused, starting or unhealthy get no server, and a service left without servers is
// dropped with its routers unless allowEmptyServices.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "config/dynamic.h"
#include "config/static_config.h"
#include "providers/docker/constraints.h"
#include "providers/docker/container.h"
#include "providers/docker/labels.h"

namespace portier::providers::docker {

struct BuilderOptions {
  std::vector<std::string> label_prefixes = {"portier", "traefik"};
  bool exposed_by_default = true;
  std::string default_rule = "Host(`{{ normalize .Name }}`)";
  std::string network;  // providers.docker.network
  bool allow_empty_services = false;
  Constraints constraints;  // containers that do not match are ignored
  LabelDialect dialect = LabelDialect::Docker;  // Swarm: the Swarm provider's label keys
};

struct Problem {
  enum class Level { Warning, Error };
  Level level;
  std::string container;  // container name
  std::string object;     // "router web", "service web", "" for the container
  std::string message;
};

struct BuildOutput {
  config::Configuration config;
  std::vector<Problem> problems;
};

BuildOutput build_configuration(const std::vector<Container>& containers,
                                const BuilderOptions& options);

// The builder's options from `providers.docker` (or `providers.swarm`: the same keys); an error
// names a constraint that does not parse (prefixed with "constraints: ").
Result<BuilderOptions> builder_options(const config::DockerProvider& cfg);

// Renders Traefik's defaultRule template subset: literal text and {{ }} blocks holding `.Name`,
// `index .Labels "key"`, `normalize X` and parentheses. Errors name the unsupported expression.
Result<std::string> render_default_rule(const std::string& tmpl, const std::string& name,
                                        const std::map<std::string, std::string>& labels);

}  // namespace portier::providers::docker
