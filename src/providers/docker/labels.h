// Docker labels in Traefik v3's grammar (`traefik.http.routers.r.rule=...`, or `portier.`),
// decoded into the dynamic model one object at a time, so a misspelt label disables only the
// object it belongs to and is reported with the closest known key. Pure: no I/O.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/dynamic.h"

namespace portier::providers::docker {

// What a service's `loadbalancer.server.*` labels say (Docker's singular form).
struct ServerLabels {
  std::optional<int> port;
  std::string scheme;  // "" = http
  std::string url;     // a full URL overrides the container address
  std::optional<int> weight;
  bool operator==(const ServerLabels&) const = default;
};

struct LabelError {
  std::string kind;  // "router", "service", "middleware", "tcp router", ..., "container"
  std::string name;  // object name ("" for container-wide)
  std::string message;
  bool warning = false;  // reported, but nothing is left out
};

// Who reads the labels: the Docker provider (a container's) or the Swarm provider (a service's:
// `swarm.network` and `swarm.lbswarm` too, and Traefik's older `docker.network` and
// `docker.lbswarm`; `docker.allownonrunning` is a container's only).
enum class LabelDialect { Docker, Swarm };

struct DecodedLabels {
  std::optional<bool> enable;                   // <prefix>.enable
  std::string network;                          // <prefix>.docker.network (Swarm: swarm.network)
  bool allow_non_running = false;               // <prefix>.docker.allownonrunning
  bool lb_swarm = false;                        // Swarm: <prefix>.swarm.lbswarm, docker.lbswarm
  config::Configuration config;                 // routers, services (without servers), middlewares
  std::map<std::string, ServerLabels> servers;  // by service name
  // tcp.services.<name>.loadbalancer.server.port, by TCP service name (0: the exposed port).
  std::map<std::string, int> tcp_ports;
  std::map<std::string, int> udp_ports;  // the same for udp.services
  std::vector<LabelError> errors;               // objects named here were left out
};

// Decodes the labels under `prefixes` (e.g. {"portier", "traefik"}); on a conflict the first
// prefix wins. Keys are case-insensitive. Traefik v1 labels (`traefik.port`,
// `traefik.frontend.rule`, ...) are ignored with one warning naming them all.
DecodedLabels decode_labels(const std::map<std::string, std::string>& labels,
                            const std::vector<std::string>& prefixes,
                            const std::string& container_name,
                            LabelDialect dialect = LabelDialect::Docker);

// Traefik's normalize: the alphanumeric runs of `name` joined with '-' ("web_my.proj" ->
// "web-my-proj").
std::string normalize(const std::string& name);

// The value of `<prefix>.<key>` (both case-insensitive) under the first prefix that has it.
std::optional<std::string> prefixed_label(const std::map<std::string, std::string>& labels,
                                          const std::vector<std::string>& prefixes,
                                          const std::string& key);

// Does the container ask to be routed while not running (`<prefix>.docker.allownonrunning`)?
bool allows_non_running(const std::map<std::string, std::string>& labels,
                        const std::vector<std::string>& prefixes);

}  // namespace portier::providers::docker
