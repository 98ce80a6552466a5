#include "providers/docker/swarm_builder.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "common/ascii.h"
#include "providers/docker/labels.h"

namespace portier::providers::docker {
namespace {

// An IPv6 address goes into URLs in brackets.
std::string url_host(const std::string& ip) {
  return ip.find(':') != std::string::npos ? "[" + ip + "]" : ip;
}

bool lb_swarm(const SwarmService& s, const std::vector<std::string>& prefixes) {
  auto v = prefixed_label(s.labels, prefixes, "swarm.lbswarm");
  if (!v) v = prefixed_label(s.labels, prefixes, "docker.lbswarm");
  return v && ascii_lower(*v) == "true";
}

}  // namespace

std::vector<Container> swarm_containers(const SwarmState& state, const BuilderOptions& options,
                                        std::vector<Problem>& problems) {
  std::vector<Container> out;
  auto warn = [&](const SwarmService& s, std::string message) {
    problems.push_back({Problem::Level::Warning, s.name, "", std::move(message)});
  };
  for (const auto& [id, s] : state.services) {
    Container base;
    base.service_name = s.name;
    base.labels = s.labels;
    base.exposed_ports = s.ports;
    if (lb_swarm(s, options.label_prefixes)) {
      Container vip = base;
      vip.id = s.id;
      vip.name = s.name;
      for (const auto& [network_id, ip] : s.virtual_ips) {
        auto n = state.networks.find(network_id);
        if (n != state.networks.end() && !n->second.empty()) vip.networks[n->second] = url_host(ip);
      }
      if (!vip.networks.empty()) {
        out.push_back(std::move(vip));
        continue;
      }
      warn(s, s.dnsrr ? "lbswarm: the service uses DNS round robin, it has no virtual IP; its "
                        "tasks are routed to instead"
                      : "lbswarm: the service has no virtual IP (host network, or no network); "
                        "its tasks are routed to instead");
    }
    std::vector<const SwarmTask*> tasks;
    for (const auto& t : s.tasks) {
      if (routable(t)) tasks.push_back(&t);
    }
    std::sort(tasks.begin(), tasks.end(), [](const SwarmTask* a, const SwarmTask* b) {
      return std::tie(a->slot, a->node_id, a->id) < std::tie(b->slot, b->node_id, b->id);
    });
    std::set<std::string> host_nodes;  // tasks on a node's host network share its address
    bool any = false;
    for (const SwarmTask* t : tasks) {
      Container c = base;
      c.id = t->id;
      c.name = s.name + "." + (s.global ? t->node_id : std::to_string(t->slot)) + "." + t->id;
      if (t->host_network) {
        if (!host_nodes.insert(t->node_id).second) continue;
        auto node = state.nodes.find(t->node_id);
        if (node == state.nodes.end() || node->second.empty()) {
          problems.push_back({Problem::Level::Error, s.name, "",
                              "task " + c.name + " runs on the host network of node " + t->node_id +
                                  ", whose address the Engine does not give"});
          continue;
        }
        c.network_mode = "host";
        c.host_address = url_host(node->second);
      } else {
        for (const auto& [network, ip] : t->addresses) c.networks[network] = url_host(ip);
      }
      out.push_back(std::move(c));
      any = true;
    }
    if (!any && options.allow_empty_services) {
      Container empty = base;
      empty.id = s.id;
      empty.name = s.name;
      empty.running = false;
      empty.placeholder = true;
      out.push_back(std::move(empty));
    }
  }
  return out;
}

BuildOutput build_swarm_configuration(const SwarmState& state, const BuilderOptions& options) {
  std::vector<Problem> problems;
  std::vector<Container> containers = swarm_containers(state, options, problems);
  BuildOutput out = build_configuration(containers, options);
  std::map<std::string, std::string> service_of;  // container name -> service name
  for (const auto& c : containers) service_of[c.name] = c.service_name;
  for (auto p : out.problems) {
    if (auto it = service_of.find(p.container); it != service_of.end()) p.container = it->second;
    auto same = [&](const Problem& q) {
      return q.level == p.level && q.container == p.container && q.object == p.object &&
             q.message == p.message;
    };
    if (std::none_of(problems.begin(), problems.end(), same)) problems.push_back(std::move(p));
  }
  out.problems = std::move(problems);
  return out;
}

}  // namespace portier::providers::docker
