// A container as the Docker provider sees it: the few facts from `docker inspect` that routing
// needs. Plain data, produced by the Engine API client, consumed by the pure config builder.
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
  bool operator==(const Container&) const = default;
};

}  // namespace portier::providers::docker
