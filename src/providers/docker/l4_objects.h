// The TCP and UDP objects of one container's labels (docs/tcp.md, docs/udp.md), joined to the
// provider's snapshot: part of build_configuration (config_builder.cc), pure like it.
//
// A router without a service label gets the container's one service of its kind (made when the
// labels define none: a TCP-only or UDP-only container is routed like Traefik's); each load
// balancer gets the container's address with its port label, else its lowest exposed port;
// replicas add servers to one service; a different definition under a taken name is disabled
// with an error (the first one stays). Internal to providers/docker.
#pragma once

#include <string>

#include "providers/docker/config_builder.h"
#include "providers/docker/labels.h"

namespace portier::providers::docker {

// `host`: the container's address on the chosen network, "" when it gets no traffic (not
// running, paused, no address): its services then get no server.
void add_tcp_objects(const Container& c, DecodedLabels& d, const std::string& default_service,
                     const std::string& host, BuildOutput& out);
void add_udp_objects(const Container& c, DecodedLabels& d, const std::string& default_service,
                     const std::string& host, BuildOutput& out);

// Replicas of one service (config::Service, config::TcpService): `mine`, a load balancer
// defined as `into` is but for its servers, adds its servers to `into` (true); anything else is
// a different definition (false, `into` unchanged).
template <typename Service>
bool add_replica_servers(const Service& mine, Service& into) {
  if (!mine.load_balancer || !into.load_balancer) return false;
  Service a = mine, b = into;
  a.load_balancer->servers.clear();
  b.load_balancer->servers.clear();
  if (!(a == b)) return false;
  auto& servers = into.load_balancer->servers;
  servers.insert(servers.end(), mine.load_balancer->servers.begin(),
                 mine.load_balancer->servers.end());
  return true;
}

}  // namespace portier::providers::docker
