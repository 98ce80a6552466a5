// The `udp` section of a dynamic configuration (Traefik v3's names). Each router and service is
// decoded with its own diagnostics, as the tcp and http objects are.
#include <utility>

#include "config/decode.h"
#include "config/decode_internal.h"
#include "config/yaml_reader.h"

namespace portier::config::detail {
namespace {

void decode_udp_router(const YAML::Node& node, const std::string& path, Diagnostics& d,
                       UdpRouter& r) {
  YamlMap m(node, path, d);
  read_string_list(m.get("entryPoints"), m.child_path("entryPoints"), d, r.entry_points);
  read_string(m.get("service"), m.child_path("service"), d, r.service);
  m.finish();  // `rule` and `priority` are unknown keys here, as in Traefik
}

void decode_udp_service(const YAML::Node& node, const std::string& path, Diagnostics& d,
                        UdpService& s) {
  YamlMap m(node, path, d);
  int kinds = 0;
  if (YAML::Node lbn = m.get("loadBalancer")) {
    ++kinds;
    std::vector<UdpServer> servers;
    YamlMap lm(lbn, m.child_path("loadBalancer"), d);
    YAML::Node list = lm.get("servers");
    if (list && list.IsSequence()) {
      for (const auto& sn : list) {
        UdpServer srv;
        YamlMap sm(sn, lm.child_path("servers[]"), d);
        read_string(sm.get("address"), sm.child_path("address"), d, srv.address);
        sm.finish();
        if (srv.address.empty()) d.add(sn.Mark(), "`" + sm.child_path("address") + "` is required");
        servers.push_back(std::move(srv));
      }
    } else if (list && !list.IsNull()) {
      d.add(list.Mark(), "`" + lm.child_path("servers") + "` must be a list");
    }
    lm.finish();
    s.load_balancer = std::move(servers);
  }
  if (YAML::Node wn = m.get("weighted")) {
    ++kinds;
    std::vector<UdpWeightedService> list;
    YamlMap wm(wn, m.child_path("weighted"), d);
    YAML::Node services = wm.get("services");
    if (services && services.IsSequence()) {
      for (const auto& sn : services) {
        UdpWeightedService ws;
        YamlMap sm(sn, wm.child_path("services[]"), d);
        read_string(sm.get("name"), sm.child_path("name"), d, ws.name);
        long long w = 1;
        read_int(sm.get("weight"), sm.child_path("weight"), d, 0, 1 << 20, w);
        ws.weight = static_cast<int>(w);
        sm.finish();
        if (ws.name.empty()) d.add(sn.Mark(), "`" + sm.child_path("name") + "` is required");
        list.push_back(std::move(ws));
      }
    } else if (services && !services.IsNull()) {
      d.add(services.Mark(), "`" + wm.child_path("services") + "` must be a list");
    }
    wm.finish();
    s.weighted = std::move(list);
  }
  m.finish();
  if (kinds != 1) {
    d.add(node.Mark(), "`" + path + "` must hold exactly one of loadBalancer and weighted");
  }
}

template <typename Object, typename Decode>
void decode_each(YamlMap& section, const char* key, Diagnostics& d, ObjectErrors mode,
                 std::map<std::string, Object>& out, Decode decode) {
  const std::string prefix = std::string("udp.") + key;
  for (auto& [name, node] : YamlMap(section.get(key), prefix, d).entries()) {
    Object& o = out[name];
    Diagnostics od(d.file());
    decode(node, prefix + "." + name, od, o);
    if (od.empty()) continue;
    if (mode == ObjectErrors::Fail) {
      d.append(od);
    } else {
      o.provider_error = od.str();
    }
  }
}

}  // namespace

void decode_udp(const YAML::Node& node, Diagnostics& d, ObjectErrors mode, Udp& out) {
  if (!node || node.IsNull()) return;
  YamlMap m(node, "udp", d);
  decode_each(m, "routers", d, mode, out.routers, decode_udp_router);
  decode_each(m, "services", d, mode, out.services, decode_udp_service);
  m.finish();
}

}  // namespace portier::config::detail
