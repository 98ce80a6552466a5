// Helpers shared by the static and dynamic decoders. Internal to src/config.
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "config/decode.h"
#include "config/dynamic.h"
#include "config/yaml_reader.h"

namespace portier::config::detail {

std::string lower_ascii(std::string s);
Result<YAML::Node> parse_yaml(const std::string& text, Diagnostics& diag);
Result<std::string> read_file(const std::string& path);
// A router's (or an entrypoint's http.) tls: a mapping, or Traefik's short form `tls: true`.
void decode_router_tls(const YAML::Node& node, const std::string& path, Diagnostics& d,
                       std::optional<RouterTls>& out);
void read_string_map(const YAML::Node& n, const std::string& path, Diagnostics& d,
                     std::map<std::string, std::string>& out);
// One entry of http.middlewares: exactly one type, its options checked against Traefik's.
// Options of implemented types that portier does not act on yet are errors (the middleware is
// disabled: it never runs without the behaviour asked for).
// accessLog (access_log_decode.cc); `w` gets the options accepted and not acted on.
void decode_access_log(const YAML::Node& node, Diagnostics& d, Diagnostics& w, AccessLog& out);
void decode_middleware(const YAML::Node& node, const std::string& path, Diagnostics& d,
                       Middleware& mw);
// The `tcp` section (tcp_decode.cc); `mode` as decode_dynamic_node's.
void decode_tcp(const YAML::Node& node, Diagnostics& d, ObjectErrors mode, Tcp& out);
// One entry of http.serversTransports (transport_decode.cc).
void decode_servers_transport(const YAML::Node& node, const std::string& path, Diagnostics& d,
                              HttpServersTransport& t);
// The `udp` section (udp_decode.cc); `mode` as decode_dynamic_node's.
void decode_udp(const YAML::Node& node, Diagnostics& d, ObjectErrors mode, Udp& out);

// A list option: `item(node)` for each entry of a sequence; null is an empty list, anything else
// is an error ("`path` must be a list").
template <typename Item>
void read_list(const YAML::Node& list, const std::string& path, Diagnostics& d, Item item) {
  if (list && list.IsSequence()) {
    for (const auto& n : list) item(n);
  } else if (list && !list.IsNull()) {
    d.add(list.Mark(), "`" + path + "` must be a list");
  }
}

// The fields routers of every kind share: rule, ruleSyntax, priority, entryPoints, middlewares,
// service (Router and TcpRouter).
template <typename R>
void read_router_fields(YamlMap& m, Diagnostics& d, R& r) {
  read_string(m.get("rule"), m.child_path("rule"), d, r.rule);
  read_string(m.get("ruleSyntax"), m.child_path("ruleSyntax"), d, r.rule_syntax);
  long long prio = 0;
  read_int(m.get("priority"), m.child_path("priority"), d, -(1LL << 31), (1LL << 31) - 1, prio);
  r.priority = static_cast<int>(prio);
  read_string_list(m.get("entryPoints"), m.child_path("entryPoints"), d, r.entry_points);
  read_string_list(m.get("middlewares"), m.child_path("middlewares"), d, r.middlewares);
  read_string(m.get("service"), m.child_path("service"), d, r.service);
}

// A router's tls (RouterTls, TcpRouterTls): a mapping with certResolver, options and domains
// (plus what `extra(map, tls)` reads), or Traefik's short form `tls: true` (`false`: none).
template <typename Tls, typename Extra>
void decode_tls_block(const YAML::Node& node, const std::string& path, Diagnostics& d,
                      std::optional<Tls>& out, Extra extra) {
  if (node.IsNull()) return;
  if (node.IsScalar()) {
    bool on = false;
    if (read_bool(node, path, d, on)) {
      if (on) {
        out = Tls{};
      } else {
        out.reset();
      }
    }
    return;
  }
  Tls t;
  YamlMap tm(node, path, d);
  extra(tm, t);
  read_string(tm.get("certResolver"), tm.child_path("certResolver"), d, t.cert_resolver);
  read_string(tm.get("options"), tm.child_path("options"), d, t.options);
  read_list(tm.get("domains"), tm.child_path("domains"), d, [&](const YAML::Node& dn) {
    typename decltype(t.domains)::value_type dom;
    YamlMap dm(dn, tm.child_path("domains[]"), d);
    read_string(dm.get("main"), dm.child_path("main"), d, dom.main);
    read_string_list(dm.get("sans"), dm.child_path("sans"), d, dom.sans);
    dm.finish();
    t.domains.push_back(std::move(dom));
  });
  tm.finish();
  out = std::move(t);
}

// `weighted.services` of tcp and udp: a list of {name, weight (default 1)}.
template <typename WeightedService>
void read_weighted_services(YamlMap& wm, Diagnostics& d, std::vector<WeightedService>& out) {
  read_list(wm.get("services"), wm.child_path("services"), d, [&](const YAML::Node& sn) {
    WeightedService ws;
    YamlMap sm(sn, wm.child_path("services[]"), d);
    read_string(sm.get("name"), sm.child_path("name"), d, ws.name);
    long long w = 1;
    read_int(sm.get("weight"), sm.child_path("weight"), d, 0, 1 << 20, w);
    ws.weight = static_cast<int>(w);
    sm.finish();
    if (ws.name.empty()) d.add(sn.Mark(), "`" + sm.child_path("name") + "` is required");
    out.push_back(std::move(ws));
  });
}

// One section of named objects (`http.routers`, `tcp.services`, ...): each decoded with its own
// diagnostics, so in ObjectErrors::Disable mode an error becomes that object's provider_error
// and disables only it; in Fail mode it is the file's error.
template <typename Object, typename Decode>
void decode_section(YamlMap& parent, const char* key, const std::string& prefix, Diagnostics& d,
                    ObjectErrors mode, std::map<std::string, Object>& out, Decode decode) {
  for (auto& [name, node] : YamlMap(parent.get(key), prefix + key, d).entries()) {
    Object& o = out[name];
    Diagnostics od(d.file());
    decode(node, prefix + key + "." + name, od, o);
    if (od.empty()) continue;
    if (mode == ObjectErrors::Fail) {
      d.append(od);
    } else {
      o.provider_error = od.str();
    }
  }
}

}  // namespace portier::config::detail
