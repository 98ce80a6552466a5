#include "providers/docker/labels.h"

#include "common/ascii.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>

#include "config/decode.h"
#include "config/yaml_reader.h"

namespace portier::providers::docker {
namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i <= s.size()) {
    std::size_t j = std::min(s.find(sep, i), s.size());
    out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

// Sets tree[k0][k1]... = value; a segment "name[3]" addresses element 3 of a sequence.
bool set_path(YAML::Node node, const std::vector<std::string>& keys, std::size_t i,
              const std::string& value) {
  // A label that gave this node a value (`domains[0]=a`) cannot also have keys below it
  // (`domains[0].sans=b`): yaml-cpp throws on a string subscript of a scalar or sequence.
  if (!node.IsMap() && !node.IsNull()) return false;
  std::string key = keys[i];
  std::optional<std::size_t> index;
  if (auto open = key.find('['); open != std::string::npos && key.back() == ']') {
    std::string digits = key.substr(open + 1, key.size() - open - 2);
    if (digits.empty() || digits.size() > 3 ||
        !std::all_of(digits.begin(), digits.end(), ::isdigit)) {
      return false;
    }
    index = std::stoul(digits);
    key.resize(open);
  }
  // Reuse an existing key that differs only in case.
  if (node.IsMap()) {
    for (const auto& kv : node) {
      if (ascii_lower(kv.first.Scalar()) == ascii_lower(key)) key = kv.first.Scalar();
    }
  }
  YAML::Node child = node[key];
  if (index) {
    if (!child.IsSequence()) node[key] = YAML::Node(YAML::NodeType::Sequence);
    YAML::Node seq = node[key];
    while (seq.size() <= *index) seq.push_back(YAML::Node(YAML::NodeType::Map));
    if (i + 1 == keys.size()) {
      seq[*index] = value;
      return true;
    }
    return set_path(seq[*index], keys, i + 1, value);
  }
  if (i + 1 == keys.size()) {
    node[key] = value;
    return true;
  }
  if (!child.IsMap()) node[key] = YAML::Node(YAML::NodeType::Map);
  return set_path(node[key], keys, i + 1, value);
}

bool parse_int(const std::string& s, int min, int max, int& out) {
  if (s.empty() || s.size() > 9 || !std::all_of(s.begin(), s.end(), ::isdigit)) return false;
  int v = std::stoi(s);
  if (v < min || v > max) return false;
  out = v;
  return true;
}

// Traefik v1's labels: the first key segment, or the second after a v1 "segment" name
// (`traefik.<segment>.port`). Traefik v3 ignores them; portier says so.
bool is_v1_label(const std::vector<std::string>& parts) {
  static const std::vector<std::string> kV1 = {"port",    "protocol", "weight",  "backend",
                                               "frontend", "tags",    "domain"};
  auto v1 = [&](const std::string& p) {
    return std::find(kV1.begin(), kV1.end(), ascii_lower(p)) != kV1.end();
  };
  if (v1(parts[0])) return true;
  return parts.size() >= 2 && ascii_lower(parts[0]) != "http" && ascii_lower(parts[0]) != "tcp" &&
         ascii_lower(parts[0]) != "udp" && ascii_lower(parts[0]) != "docker" &&
         ascii_lower(parts[0]) != "swarm" && v1(parts[1]);
}

// `<prefix>.docker.*` and `<prefix>.swarm.*`: the provider's own keys, not configuration. True
// when `lkey` is one (then applied to `out`, or reported). Keys are visited in order, so
// swarm.* (after docker.*) wins where both are set.
bool provider_key(const std::string& lkey, const std::string& value, LabelDialect dialect,
                  DecodedLabels& out) {
  const bool swarm = dialect == LabelDialect::Swarm;
  auto flag = [&](bool& into) {
    if (ascii_lower(value) == "true" || ascii_lower(value) == "false") {
      into = ascii_lower(value) == "true";
    } else {
      out.errors.push_back({"container", "", "label " + lkey + " must be true or false"});
    }
  };
  auto ignored = [&](const std::string& why) {
    out.errors.push_back({"container", "", "label " + lkey + " " + why + "; ignored", true});
  };
  if (lkey == "docker.network" || (swarm && lkey == "swarm.network")) {
    out.network = value;
  } else if (lkey == "docker.allownonrunning") {
    if (swarm) {
      ignored("applies to containers (providers.docker), not to Swarm services");
    } else {
      flag(out.allow_non_running);
    }
  } else if (lkey == "docker.lbswarm" || (swarm && lkey == "swarm.lbswarm")) {
    if (swarm) {
      flag(out.lb_swarm);
    } else {
      ignored("applies to Swarm services (providers.swarm), not to containers");
    }
  } else if (lkey == "swarm.network" || lkey == "swarm.lbswarm") {
    ignored("applies to Swarm services (providers.swarm), not to containers");
  } else {
    return false;
  }
  if (swarm && lkey.rfind("docker.", 0) == 0 && lkey != "docker.allownonrunning") {
    out.errors.push_back({"container", "",
                          "label " + lkey + " is Traefik's older name for Swarm services; use " +
                              "swarm." + lkey.substr(7),
                          true});
  }
  return true;
}

struct ObjectLabels {
  std::vector<std::pair<std::vector<std::string>, std::string>> keys;  // path below the object
};

}  // namespace

std::string normalize(const std::string& name) {
  // Traefik's provider.Normalize: split on every non-alphanumeric rune, join with '-'.
  std::string out;
  bool pending_dash = false;
  for (char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      if (pending_dash && !out.empty()) out.push_back('-');
      pending_dash = false;
      out.push_back(c);
    } else {
      pending_dash = true;
    }
  }
  return out;
}

std::optional<std::string> prefixed_label(const std::map<std::string, std::string>& labels,
                                          const std::vector<std::string>& prefixes,
                                          const std::string& key) {
  for (const auto& prefix : prefixes) {
    const std::string full = ascii_lower(prefix) + "." + ascii_lower(key);
    for (const auto& [label, value] : labels) {
      if (ascii_lower(label) == full) return value;
    }
  }
  return std::nullopt;
}

bool allows_non_running(const std::map<std::string, std::string>& labels,
                        const std::vector<std::string>& prefixes) {
  auto v = prefixed_label(labels, prefixes, "docker.allownonrunning");
  return v && ascii_lower(*v) == "true";
}

DecodedLabels decode_labels(const std::map<std::string, std::string>& labels,
                            const std::vector<std::string>& prefixes,
                            const std::string& container_name, LabelDialect dialect) {
  DecodedLabels out;
  // Keys below a prefix, lower-cased for conflict detection; the first prefix wins.
  std::map<std::string, std::pair<std::string, std::string>> chosen;  // lower key -> key, value
  for (const auto& prefix : prefixes) {
    const std::string p = ascii_lower(prefix) + ".";
    for (const auto& [label, value] : labels) {
      if (ascii_lower(label).rfind(p, 0) != 0) continue;
      std::string key = label.substr(p.size());
      chosen.try_emplace(ascii_lower(key), key, value);
    }
  }

  // Group by object: kind ("routers"...), name -> keys below it.
  std::map<std::string, std::map<std::string, ObjectLabels>> objects;
  std::vector<std::string> top = {"enable",           "http.routers", "http.services",
                                  "http.middlewares", "tcp.routers",  "tcp.services",
                                  "tcp.middlewares",  "udp.routers",  "udp.services"};
  if (dialect == LabelDialect::Swarm) {
    top.insert(top.end(), {"swarm.network", "swarm.lbswarm"});
  } else {
    top.insert(top.end(), {"docker.network", "docker.allownonrunning"});
  }
  std::vector<std::string> v1_labels;
  for (const auto& [lkey, kv] : chosen) {
    const auto& [key, value] = kv;
    auto parts = split(key, '.');
    if (lkey == "enable") {
      if (ascii_lower(value) == "true" || ascii_lower(value) == "false") {
        out.enable = ascii_lower(value) == "true";
      } else {
        out.errors.push_back({"container", "", "label enable must be true or false"});
      }
      continue;
    }
    if (provider_key(lkey, value, dialect, out)) continue;
    if (is_v1_label(parts)) {
      v1_labels.push_back(key);
      continue;
    }
    if (parts.size() >= 4 && ascii_lower(parts[0]) == "http" &&
        (ascii_lower(parts[1]) == "routers" || ascii_lower(parts[1]) == "services" ||
         ascii_lower(parts[1]) == "middlewares")) {
      if (parts[2].empty()) {  // "http.routers..rule": an object without a name (fuzzer)
        out.errors.push_back({"container", "", "label `" + key + "` names no object"});
        continue;
      }
      objects[ascii_lower(parts[1])][parts[2]].keys.emplace_back(
          std::vector<std::string>(parts.begin() + 3, parts.end()), value);
      continue;
    }
    if (parts.size() >= 4 && ascii_lower(parts[0]) == "tcp" &&
        (ascii_lower(parts[1]) == "routers" || ascii_lower(parts[1]) == "services" ||
         ascii_lower(parts[1]) == "middlewares")) {
      if (parts[2].empty()) {
        out.errors.push_back({"container", "", "label `" + key + "` names no object"});
        continue;
      }
      objects["tcp." + ascii_lower(parts[1])][parts[2]].keys.emplace_back(
          std::vector<std::string>(parts.begin() + 3, parts.end()), value);
      continue;
    }
    if (parts.size() >= 4 && ascii_lower(parts[0]) == "udp" &&
        (ascii_lower(parts[1]) == "routers" || ascii_lower(parts[1]) == "services")) {
      if (parts[2].empty()) {
        out.errors.push_back({"container", "", "label `" + key + "` names no object"});
        continue;
      }
      objects["udp." + ascii_lower(parts[1])][parts[2]].keys.emplace_back(
          std::vector<std::string>(parts.begin() + 3, parts.end()), value);
      continue;
    }
    std::string msg = "unknown label `" + key + "`";
    if (std::string s =
            config::closest(parts.size() > 1 ? parts[0] + "." + parts[1] : parts[0], top);
        !s.empty()) {
      msg += "; did you mean `" + s + "...`?";
    }
    out.errors.push_back({"container", "", msg});
  }

  if (!v1_labels.empty()) {
    std::string list;
    for (const auto& k : v1_labels) list += (list.empty() ? "" : ", ") + k;
    out.errors.push_back({"container", "",
                          "Traefik v1 label" + std::string(v1_labels.size() > 1 ? "s" : "") +
                              ", ignored: " + list +
                              " (v3 names: http.routers.<name>.rule, "
                              "http.services.<name>.loadbalancer.server.port, ...)",
                          true});
  }

  const std::string where = "container " + container_name + " labels";
  auto decode_object = [&](const std::string& kind, const std::string& name,
                           const ObjectLabels& obj, YAML::Node root,
                           const std::string& singular) -> std::optional<config::Configuration> {
    const std::string section = singular.rfind("tcp ", 0) == 0   ? "tcp"
                                : singular.rfind("udp ", 0) == 0 ? "udp"
                                                                 : "http";
    YAML::Node object = root[section][kind][name];
    for (const auto& [path, value] : obj.keys) {
      bool ok = false;
      try {
        ok = set_path(object, path, 0, value);
      } catch (const YAML::Exception&) {
        ok = false;  // a backstop: labels come from whoever can start a container
      }
      if (!ok) {
        out.errors.push_back({singular, name,
                              "malformed label key below " + name +
                                  " (a key set both to a value and to keys below it?)"});
        return std::nullopt;
      }
    }
    auto cfg = config::decode_dynamic_node(root, where);
    if (!cfg) {
      out.errors.push_back({singular, name, cfg.error().message});
      return std::nullopt;
    }
    return *cfg;
  };

  for (const auto& [name, obj] : objects["routers"]) {
    YAML::Node root;
    root["http"]["routers"][name] = YAML::Node(YAML::NodeType::Map);
    // `tls=true` is Traefik's short form for "TLS with defaults".
    ObjectLabels filtered;
    bool tls_on = false;
    for (const auto& [path, value] : obj.keys) {
      if (path.size() == 1 && ascii_lower(path[0]) == "tls") {
        tls_on = ascii_lower(value) == "true";
        continue;
      }
      filtered.keys.emplace_back(path, value);
    }
    if (tls_on) root["http"]["routers"][name]["tls"] = YAML::Node(YAML::NodeType::Map);
    if (auto cfg = decode_object("routers", name, filtered, root, "router")) {
      out.config.http.routers[name] = cfg->http.routers.at(name);
    }
  }
  for (const auto& [name, obj] : objects["services"]) {
    YAML::Node root;
    root["http"]["services"][name]["loadBalancer"] = YAML::Node(YAML::NodeType::Map);
    ObjectLabels rest;
    ServerLabels server;
    bool bad = false;
    for (const auto& [path, value] : obj.keys) {
      // Docker's singular loadbalancer.server.{port,scheme,url,weight}.
      if (path.size() == 3 && ascii_lower(path[0]) == "loadbalancer" && ascii_lower(path[1]) == "server") {
        const std::string opt = ascii_lower(path[2]);
        int n = 0;
        if (opt == "port" && parse_int(value, 1, 65535, n)) {
          server.port = n;
        } else if (opt == "weight" && parse_int(value, 0, 1 << 20, n)) {
          server.weight = n;
        } else if (opt == "scheme" && (value == "http" || value == "https" || value == "h2c")) {
          server.scheme = value;
        } else if (opt == "url") {
          server.url = value;
        } else {
          std::string msg =
              "label `http.services." + name + ".loadbalancer.server." + path[2] + "`: ";
          msg += (opt == "port" || opt == "weight" || opt == "scheme")
                     ? "invalid value `" + value + "`"
                     : "unknown option; known: port, scheme, url, weight";
          out.errors.push_back({"service", name, msg});
          bad = true;
        }
        continue;
      }
      rest.keys.emplace_back(path, value);
    }
    if (bad) continue;
    if (auto cfg = decode_object("services", name, rest, root, "service")) {
      out.config.http.services[name] = cfg->http.services.at(name);
      out.servers[name] = server;
    }
  }
  // Objects whose labels go to the file decoders as they are: `sel` picks their map in a
  // Configuration.
  auto decode_plain = [&](const std::string& key, const std::string& section,
                          const std::string& kind, const std::string& singular, auto sel) {
    for (const auto& [name, obj] : objects[key]) {
      YAML::Node root;
      root[section][kind][name] = YAML::Node(YAML::NodeType::Map);
      if (auto cfg = decode_object(kind, name, obj, root, singular)) {
        sel(out.config)[name] = sel(*cfg).at(name);
      }
    }
  };
  // tcp and udp services: the same decoders as files, with Docker's singular
  // loadbalancer.server.port taken out into `ports`.
  auto decode_l4_services = [&](const std::string& proto, auto sel,
                                std::map<std::string, int>& ports) {
    for (const auto& [name, obj] : objects[proto + ".services"]) {
      YAML::Node root;
      root[proto]["services"][name]["loadBalancer"] = YAML::Node(YAML::NodeType::Map);
      ObjectLabels rest;
      int port = 0;
      bool bad = false;
      for (const auto& [path, value] : obj.keys) {
        if (path.size() == 3 && ascii_lower(path[0]) == "loadbalancer" && ascii_lower(path[1]) == "server") {
          if (ascii_lower(path[2]) != "port" || !parse_int(value, 1, 65535, port)) {
            out.errors.push_back({proto + " service", name,
                                  "label `" + proto + ".services." + name +
                                      ".loadbalancer.server." + path[2] + "`: " +
                                      (ascii_lower(path[2]) == "port"
                                           ? "invalid value `" + value + "`"
                                           : std::string("unknown option; known: port"))});
            bad = true;
          }
          continue;
        }
        rest.keys.emplace_back(path, value);
      }
      if (bad) continue;
      if (auto cfg = decode_object("services", name, rest, root, proto + " service")) {
        sel(out.config)[name] = sel(*cfg).at(name);
        ports[name] = port;
      }
    }
  };
  using Cfg = config::Configuration;
  decode_plain("middlewares", "http", "middlewares", "middleware",
               [](Cfg& c) -> auto& { return c.http.middlewares; });
  decode_plain("tcp.routers", "tcp", "routers", "tcp router",
               [](Cfg& c) -> auto& { return c.tcp.routers; });
  decode_l4_services("tcp", [](Cfg& c) -> auto& { return c.tcp.services; }, out.tcp_ports);
  // udp.*: the same, without middlewares (Traefik has none for UDP).
  decode_plain("udp.routers", "udp", "routers", "udp router",
               [](Cfg& c) -> auto& { return c.udp.routers; });
  decode_l4_services("udp", [](Cfg& c) -> auto& { return c.udp.services; }, out.udp_ports);
  decode_plain("tcp.middlewares", "tcp", "middlewares", "tcp middleware",
               [](Cfg& c) -> auto& { return c.tcp.middlewares; });
  return out;
}

}  // namespace portier::providers::docker
