// Docker Swarm as the Swarm provider sees it: the few facts from the Engine's /services, /tasks,
// /nodes and /networks that routing needs. Plain data, parsed from Engine JSON by the pure
// functions below, turned into configuration by swarm_builder.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/result.h"

namespace portier::providers::docker {

struct SwarmTask {
  std::string id;
  std::string service_id;
  int slot = 0;  // replicated services; 0 for global ones
  std::string node_id;
  std::string state;          // Status.State: "new" ... "starting", "running", "shutdown", ...
  std::string desired_state;  // "running", "shutdown", "remove", ...
  bool host_network = false;  // attached to the host network: reached on its node's address
  std::map<std::string, std::string> addresses;  // network name -> IP (first, no prefix length)
  bool operator==(const SwarmTask&) const = default;
};

struct SwarmService {
  std::string id;
  std::string name;
  std::map<std::string, std::string> labels;  // Spec.Labels: compose's deploy.labels
  bool global = false;
  bool dnsrr = false;                              // EndpointSpec.Mode dnsrr (no virtual IP)
  std::map<std::string, std::string> virtual_ips;  // network ID -> VIP (no prefix length)
  std::set<int> ports;       // Endpoint.Ports, TCP: their target port (the task's own)
  std::string update_state;  // UpdateStatus.State ("updating", "completed", ...), "" if none
  std::vector<SwarmTask> tasks;
  bool operator==(const SwarmService&) const = default;
};

struct SwarmState {
  std::map<std::string, SwarmService> services;  // by ID
  std::map<std::string, std::string> nodes;      // node ID -> address (Status.Addr)
  std::map<std::string, std::string> networks;   // network ID -> name
  bool operator==(const SwarmState&) const = default;
};

// Is the task where routing should send requests: meant to run and running? A task with a
// healthcheck is "running" only once healthy (the Engine holds it in "starting" until then); a
// task being shut down has another desired state before its container is stopped.
bool routable(const SwarmTask& t);
// Is the service changing: an update or rollback in progress, or a task on its way in or out?
// The provider then re-reads it often (task changes emit no event).
bool converging(const SwarmService& s);

// Engine JSON to plain data (GET /services, /services/{id}, /tasks, /nodes, /networks).
Result<std::vector<SwarmService>> parse_services(const std::string& json);
Result<SwarmService> parse_service(const std::string& json);
Result<std::vector<SwarmTask>> parse_tasks(const std::string& json);
// Node ID -> address. Status.Addr; a manager that reports 0.0.0.0 there (an Engine bug when it
// listens on every address) gives the host of ManagerStatus.Addr instead.
Result<std::map<std::string, std::string>> parse_nodes(const std::string& json);
Result<std::map<std::string, std::string>> parse_networks(const std::string& json);

}  // namespace portier::providers::docker
