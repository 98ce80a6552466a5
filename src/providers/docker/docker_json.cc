#include <nlohmann/json.hpp>

#include "providers/docker/docker_api.h"
#include "providers/docker/labels.h"

namespace portier::providers::docker {

using json = nlohmann::json;

namespace {

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

Result<Container> parse_inspect(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error{"docker inspect: not a JSON object"};
  Container c;
  c.id = str(j, "Id");
  c.name = str(j, "Name");
  if (!c.name.empty() && c.name.front() == '/') c.name.erase(0, 1);
  const json& cfg = j.value("Config", json::object());
  if (cfg.contains("Labels") && cfg["Labels"].is_object()) {
    for (const auto& [k, v] : cfg["Labels"].items()) {
      if (v.is_string()) c.labels[k] = v.get<std::string>();
    }
  }
  auto add_ports = [&](const json& ports) {
    if (!ports.is_object()) return;
    for (const auto& [k, v] : ports.items()) {
      auto slash = k.find('/');
      if (k.substr(slash == std::string::npos ? k.size() : slash) == "/udp") continue;
      try {
        c.exposed_ports.insert(std::stoi(k.substr(0, slash)));
      } catch (const std::exception&) {
      }
    }
  };
  add_ports(cfg.value("ExposedPorts", json::object()));
  const json& state = j.value("State", json::object());
  c.running = state.value("Running", false);
  c.paused = state.value("Paused", false);
  if (state.contains("Health") && state["Health"].is_object()) {
    std::string h = str(state["Health"], "Status");
    c.health = h == "starting"    ? Health::Starting
               : h == "healthy"   ? Health::Healthy
               : h == "unhealthy" ? Health::Unhealthy
                                  : Health::None;
  }
  c.network_mode = str(j.value("HostConfig", json::object()), "NetworkMode");
  const json& ns = j.value("NetworkSettings", json::object());
  add_ports(ns.value("Ports", json::object()));
  if (ns.contains("Networks") && ns["Networks"].is_object()) {
    for (const auto& [name, net] : ns["Networks"].items()) {
      if (net.is_object()) c.networks[name] = str(net, "IPAddress");
    }
  }
  if (c.id.empty()) return Error{"docker inspect: no Id"};
  return c;
}

Result<std::vector<std::string>> parse_container_ids(
    const std::string& text, const std::vector<std::string>& label_prefixes) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_array()) return Error{"containers/json: not a JSON array"};
  std::vector<std::string> ids;
  for (const auto& c : j) {
    if (!c.is_object() || !c.contains("Id") || !c["Id"].is_string()) continue;
    const std::string state = str(c, "State");
    bool wanted = state == "running" || state == "paused" || state == "restarting";
    if (!wanted && c.contains("Labels") && c["Labels"].is_object()) {
      std::map<std::string, std::string> labels;
      for (const auto& [k, v] : c["Labels"].items()) {
        if (v.is_string()) labels[k] = v.get<std::string>();
      }
      wanted = allows_non_running(labels, label_prefixes);
    }
    if (wanted) ids.push_back(c["Id"]);
  }
  return ids;
}

std::optional<Event> parse_event(const std::string& line) {
  json j = json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  Event e;
  e.type = str(j, "Type");
  e.action = str(j, "Action");
  const json& actor = j.value("Actor", json::object());
  if (e.type == "network") {
    e.id = str(actor.value("Attributes", json::object()), "container");
  } else {
    e.id = str(actor, "ID");
    if (e.id.empty()) e.id = str(j, "id");
  }
  if (e.type == "container") {
    e.swarm_service = str(actor.value("Attributes", json::object()), "com.docker.swarm.service.id");
  }
  if (e.type.empty() || e.id.empty()) return std::nullopt;
  return e;
}

}  // namespace portier::providers::docker
