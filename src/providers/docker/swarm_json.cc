#include <algorithm>
#include <nlohmann/json.hpp>

#include "providers/docker/swarm.h"

namespace portier::providers::docker {

using json = nlohmann::json;

namespace {

const json& member(const json& j, const char* key) {
  static const json empty = json::object();
  if (!j.is_object()) return empty;
  auto it = j.find(key);
  return it != j.end() && it->is_object() ? *it : empty;
}

std::string str(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// "10.0.1.5/24" -> "10.0.1.5"; "" stays "".
std::string without_prefix_length(const std::string& cidr) {
  return cidr.substr(0, cidr.find('/'));
}

Result<json> parse(const std::string& text, bool array, const char* what) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || (array ? !j.is_array() : !j.is_object())) {
    return Error{std::string("swarm: ") + what + ": not a JSON " + (array ? "array" : "object")};
  }
  return Result<json>(boost::system::in_place_value, std::move(j));
}

bool terminal(const std::string& state) {
  static const char* kTerminal[] = {"complete", "shutdown", "failed",
                                    "rejected", "remove",   "orphaned"};
  return std::any_of(std::begin(kTerminal), std::end(kTerminal),
                     [&](const char* t) { return state == t; });
}

SwarmService service_from(const json& j) {
  SwarmService s;
  s.id = str(j, "ID");
  const json& spec = member(j, "Spec");
  s.name = str(spec, "Name");
  for (const auto& [k, v] : member(spec, "Labels").items()) {
    if (v.is_string()) s.labels[k] = v.get<std::string>();
  }
  s.global = member(spec, "Mode").contains("Global");
  s.dnsrr = str(member(spec, "EndpointSpec"), "Mode") == "dnsrr";
  const json& endpoint = member(j, "Endpoint");
  if (auto vips = endpoint.find("VirtualIPs"); vips != endpoint.end() && vips->is_array()) {
    for (const auto& vip : *vips) {
      const std::string addr = without_prefix_length(str(vip, "Addr"));
      if (!addr.empty()) s.virtual_ips[str(vip, "NetworkID")] = addr;
    }
  }
  // Endpoint.Ports as the Engine resolved them; Spec.EndpointSpec.Ports before it has.
  const json* ports = nullptr;
  if (auto p = endpoint.find("Ports"); p != endpoint.end() && p->is_array()) {
    ports = &*p;
  } else if (const json& es = member(spec, "EndpointSpec"); es.contains("Ports")) {
    ports = &es["Ports"];
  }
  if (ports != nullptr && ports->is_array()) {
    for (const auto& p : *ports) {
      if (!p.is_object() || (p.contains("Protocol") && str(p, "Protocol") != "tcp")) continue;
      if (auto t = p.find("TargetPort"); t != p.end() && t->is_number_integer()) {
        const int port = t->get<int>();
        if (port > 0 && port <= 65535) s.ports.insert(port);
      }
    }
  }
  s.update_state = str(member(j, "UpdateStatus"), "State");
  return s;
}

}  // namespace

bool routable(const SwarmTask& t) { return t.desired_state == "running" && t.state == "running"; }

bool converging(const SwarmService& s) {
  if (s.update_state == "updating" || s.update_state == "rollback_started") return true;
  return std::any_of(s.tasks.begin(), s.tasks.end(), [](const SwarmTask& t) {
    const bool wanted = t.desired_state == "running" || t.desired_state == "ready";
    const bool coming = wanted && t.state != "running" && !terminal(t.state);
    const bool going = !wanted && t.state == "running";
    return coming || going;
  });
}

Result<std::vector<SwarmService>> parse_services(const std::string& text) {
  auto j = parse(text, true, "services");
  if (!j) return j.error();
  std::vector<SwarmService> out;
  for (const auto& s : *j) {
    if (s.is_object() && !str(s, "ID").empty()) out.push_back(service_from(s));
  }
  return out;
}

Result<SwarmService> parse_service(const std::string& text) {
  auto j = parse(text, false, "service");
  if (!j) return j.error();
  SwarmService s = service_from(*j);
  if (s.id.empty()) return Error{"swarm: service: no ID"};
  return s;
}

Result<std::vector<SwarmTask>> parse_tasks(const std::string& text) {
  auto j = parse(text, true, "tasks");
  if (!j) return j.error();
  std::vector<SwarmTask> out;
  for (const auto& t : *j) {
    if (!t.is_object() || str(t, "ID").empty()) continue;
    SwarmTask task;
    task.id = str(t, "ID");
    task.service_id = str(t, "ServiceID");
    if (auto slot = t.find("Slot"); slot != t.end() && slot->is_number_integer()) {
      task.slot = slot->get<int>();
    }
    task.node_id = str(t, "NodeID");
    task.state = str(member(t, "Status"), "State");
    task.desired_state = str(t, "DesiredState");
    if (auto att = t.find("NetworksAttachments"); att != t.end() && att->is_array()) {
      for (const auto& a : *att) {
        const json& network = member(a, "Network");
        const std::string name = str(member(network, "Spec"), "Name");
        if (str(member(network, "DriverState"), "Name") == "host" || name == "host") {
          task.host_network = true;
          continue;
        }
        auto addrs = a.is_object() ? a.find("Addresses") : a.end();
        if (name.empty() || addrs == a.end() || !addrs->is_array() || addrs->empty() ||
            !addrs->front().is_string()) {
          continue;
        }
        task.addresses[name] = without_prefix_length(addrs->front().get<std::string>());
      }
    }
    out.push_back(std::move(task));
  }
  return out;
}

Result<std::map<std::string, std::string>> parse_nodes(const std::string& text) {
  auto j = parse(text, true, "nodes");
  if (!j) return j.error();
  std::map<std::string, std::string> out;
  for (const auto& n : *j) {
    std::string addr = str(member(n, "Status"), "Addr");
    if (addr.empty() || addr == "0.0.0.0") {
      std::string manager = str(member(n, "ManagerStatus"), "Addr");  // "10.0.0.5:2377"
      if (auto colon = manager.rfind(':'); colon != std::string::npos) manager.resize(colon);
      if (manager.size() > 2 && manager.front() == '[' && manager.back() == ']') {
        manager = manager.substr(1, manager.size() - 2);
      }
      if (!manager.empty()) addr = manager;
    }
    if (!str(n, "ID").empty()) out[str(n, "ID")] = addr;
  }
  return out;
}

Result<std::map<std::string, std::string>> parse_networks(const std::string& text) {
  auto j = parse(text, true, "networks");
  if (!j) return j.error();
  std::map<std::string, std::string> out;
  for (const auto& n : *j) {
    if (!str(n, "Id").empty()) out[str(n, "Id")] = str(n, "Name");
  }
  return out;
}

}  // namespace portier::providers::docker
