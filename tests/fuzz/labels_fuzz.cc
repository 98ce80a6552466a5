// Fuzz target for the Docker provider's pure half: container labels (Traefik's grammar, under
// `traefik.` and `portier.`) decoded into the dynamic model and built into a configuration with
// the provider's defaults (default rule template, port choice, services per compose project).
// Invariants: no crash, no UB, no exception; every problem names its container; objects with
// errors are left out rather than half-built (no router without a rule or a service); the
// result is deterministic; normalize() yields only [A-Za-z0-9-].
//
// Input: "key=value" lines (labels of one container); a line "--" starts a second container.
// The first byte's low bits choose network mode, health and pause state.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "providers/docker/config_builder.h"
#include "providers/docker/labels.h"

using namespace portier::providers::docker;
using portier::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t opts = data[0];
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  std::vector<Container> containers(1);
  while (!in.empty() && containers.size() <= 2) {
    std::size_t e = in.find('\n');
    std::string_view line = in.substr(0, e);
    in = e == std::string_view::npos ? std::string_view() : in.substr(e + 1);
    if (line == "--") {
      containers.emplace_back();
      continue;
    }
    std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    containers.back().labels[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
  }
  for (std::size_t i = 0; i < containers.size(); ++i) {
    Container& c = containers[i];
    c.id = "id" + std::to_string(i);
    c.name = "app_" + std::to_string(i);
    c.network_mode = (opts & 1) ? "host" : "bridge";
    c.networks = {{"bridge", "172.17.0." + std::to_string(2 + i)}, {"front", "10.0.0.2"}};
    c.exposed_ports = (opts & 2) ? std::set<int>{80, 8080} : std::set<int>{80};
    c.paused = (opts & 4) != 0 && i == 1;
    c.health = (opts & 8) ? Health::Unhealthy : Health::None;
  }

  DecodedLabels d = decode_labels(containers[0].labels, {"portier", "traefik"}, "app_0");
  for (const auto& err : d.errors) {
    check(!err.message.empty(), "label error without a message");
  }

  BuilderOptions options;
  options.exposed_by_default = (opts & 16) == 0;
  options.allow_empty_services = (opts & 32) != 0;
  BuildOutput out = build_configuration(containers, options);
  BuildOutput again = build_configuration(containers, options);
  check(out.config == again.config, "build is not deterministic");
  for (const auto& p : out.problems) check(!p.container.empty(), "problem without a container");
  for (const auto& [name, r] : out.config.http.routers) {
    check(!name.empty(), "router without a name");
    if (!r.provider_error.empty()) continue;  // kept to show its label error in the API
    check(!r.rule.empty(), "router without a rule");
    check(!r.service.empty(), "router without a service");
  }
  for (const auto& c : containers) {
    for (const auto& [k, v] : c.labels) {
      for (char ch : normalize(v)) {
        check((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                  ch == '-',
              "normalize kept a character it should not");
      }
    }
  }
  return 0;
}
