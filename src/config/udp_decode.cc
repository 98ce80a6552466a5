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
    read_list(lm.get("servers"), lm.child_path("servers"), d, [&](const YAML::Node& sn) {
      UdpServer srv;
      YamlMap sm(sn, lm.child_path("servers[]"), d);
      read_string(sm.get("address"), sm.child_path("address"), d, srv.address);
      sm.finish();
      if (srv.address.empty()) d.add(sn.Mark(), "`" + sm.child_path("address") + "` is required");
      servers.push_back(std::move(srv));
    });
    lm.finish();
    s.load_balancer = std::move(servers);
  }
  if (YAML::Node wn = m.get("weighted")) {
    ++kinds;
    std::vector<UdpWeightedService> list;
    YamlMap wm(wn, m.child_path("weighted"), d);
    read_weighted_services(wm, d, list);
    wm.finish();
    s.weighted = std::move(list);
  }
  m.finish();
  if (kinds != 1) {
    d.add(node.Mark(), "`" + path + "` must hold exactly one of loadBalancer and weighted");
  }
}

}  // namespace

void decode_udp(const YAML::Node& node, Diagnostics& d, ObjectErrors mode, Udp& out) {
  if (!node || node.IsNull()) return;
  YamlMap m(node, "udp", d);
  decode_section(m, "routers", "udp.", d, mode, out.routers, decode_udp_router);
  decode_section(m, "services", "udp.", d, mode, out.services, decode_udp_service);
  m.finish();
}

}  // namespace portier::config::detail
