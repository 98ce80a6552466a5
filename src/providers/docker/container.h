// A container as the Docker provider sees it: the few facts from `docker inspect` that routing
// needs. Plain data, produced by the Engine API client, consumed by the pure config builder.
// The Swarm provider makes one per task (or per service, for its virtual IP) from the service's
// labels, so that both providers share the builder.
#pragma once

#include <map>
#include <set>
#include <string>

namespace portier::providers::docker {

enum class Health { None, Starting, Healthy, Unhealthy };

struct Container {
  std::string id;
  std::string name;  // without the leading '/'
  std::map<std::string, std::string> labels;
  bool running = true;
  bool paused = false;
  Health health = Health::None;
  std::string network_mode;                     // "host", "bridge", "container:...", a name
  std::map<std::string, std::string> networks;  // network name -> IPv4 address
  std::set<int> exposed_ports;                  // TCP ports from the image and --expose
  // Swarm: the service a task belongs to, which names its default service and router ("" =
  // `name`, or the compose service).
  std::string service_name;
  // With network_mode "host": the address it is reached on ("" = 127.0.0.1; Swarm: its node's).
  std::string host_address;
  // Swarm: stands for a service with no task to route to, kept (its routers answer 503) when
  // allowEmptyServices asks so; never running.
  bool placeholder = false;
  bool operator==(const Container&) const = default;
};

}  // namespace portier::providers::docker
