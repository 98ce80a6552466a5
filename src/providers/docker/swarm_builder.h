// Swarm services to dynamic configuration, Traefik's way, through the Docker provider's builder:
// each task that routing should reach becomes a Container carrying its service's labels (tasks
// of one service merge into one service with a server each, as compose replicas do), or, with
// `<prefix>.swarm.lbswarm=true`, the service's virtual IPs become one. Pure.
//
// Addresses: a task's IP on the chosen network (`providers.swarm.network` or the
// `swarm.network` label), its node's address for tasks on the host network (one server per
// node: they share it); ports: loadbalancer.server.port, else the service's published ports
// (their target port). Tasks being shut down or not yet running (healthy, with a healthcheck)
// get no server. A service with no such task is dropped, or kept without servers (503) with
// allowEmptyServices.
#pragma once

#include <vector>

#include "providers/docker/config_builder.h"
#include "providers/docker/swarm.h"

namespace portier::providers::docker {

// The containers the builder sees (the first half of build_swarm_configuration); problems found
// on the way are appended to `problems`.
std::vector<Container> swarm_containers(const SwarmState& state, const BuilderOptions& options,
                                        std::vector<Problem>& problems);

// `options.dialect` should be LabelDialect::Swarm. Problems name the service (tasks share its
// labels, so each problem is said once).
BuildOutput build_swarm_configuration(const SwarmState& state, const BuilderOptions& options);

}  // namespace portier::providers::docker
