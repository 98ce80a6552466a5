// The `tcp` section of a dynamic configuration (Traefik v3's names). Each router, service,
// middleware and serversTransport is decoded with its own diagnostics, as the http objects are:
// in ObjectErrors::Disable mode an error disables only that object.
#include <utility>

#include "config/decode.h"
#include "config/decode_internal.h"
#include "config/schema.h"
#include "config/yaml_reader.h"

namespace portier::config::detail {
namespace {

const std::string kDisabled = "; the object is disabled";

// `proxyProtocol: {version: 1|2}`.
void decode_proxy_protocol(const YAML::Node& node, const std::string& path, Diagnostics& d,
                           int& version) {
  if (section_off(node)) return;
  YamlMap m(node, path, d);
  long long v = 1;  // Traefik's default when the section is set without a version
  read_int(m.get("version"), m.child_path("version"), d, 1, 2, v);
  m.finish();
  version = static_cast<int>(v);
}

void decode_tcp_router(const YAML::Node& node, const std::string& path, Diagnostics& d,
                       TcpRouter& r) {
  YamlMap m(node, path, d);
  read_router_fields(m, d, r);
  if (YAML::Node tls = m.get("tls")) {
    decode_tls_block(tls, m.child_path("tls"), d, r.tls, [&](YamlMap& tm, TcpRouterTls& t) {
      read_bool(tm.get("passthrough"), tm.child_path("passthrough"), d, t.passthrough);
    });
  }
  m.finish();
  if (r.rule_syntax == "v2") {
    d.add(node.Mark(), "`" + path + ".ruleSyntax: v2` is not supported (v3 only)");
  }
}

void decode_tcp_service(const YAML::Node& node, const std::string& path, Diagnostics& d,
                    TcpService& s) {
  YamlMap m(node, path, d);
  int kinds = 0;
  if (YAML::Node lbn = m.get("loadBalancer")) {
    ++kinds;
    TcpLoadBalancer lb;
    YamlMap lm(lbn, m.child_path("loadBalancer"), d);
    read_list(lm.get("servers"), lm.child_path("servers"), d, [&](const YAML::Node& sn) {
      TcpServer srv;
      YamlMap sm(sn, lm.child_path("servers[]"), d);
      read_string(sm.get("address"), sm.child_path("address"), d, srv.address);
      read_bool(sm.get("tls"), sm.child_path("tls"), d, srv.tls);
      sm.finish();
      if (srv.address.empty()) d.add(sn.Mark(), "`" + sm.child_path("address") + "` is required");
      if (srv.tls) {
        d.add(sn.Mark(), "`" + sm.child_path("tls") + "` is not supported yet" + kDisabled);
      }
      lb.servers.push_back(std::move(srv));
    });
    read_string(lm.get("serversTransport"), lm.child_path("serversTransport"), d,
                lb.servers_transport);
    decode_proxy_protocol(lm.get("proxyProtocol"), lm.child_path("proxyProtocol"), d,
                          lb.proxy_protocol_version);
    Duration delay{0};  // deprecated in v3 (serversTransports.terminationDelay): accepted
    read_duration(lm.get("terminationDelay"), lm.child_path("terminationDelay"), d, delay);
    unsupported_keys(lm, d, d,
                     {{"healthCheck", "port,send,expect,interval,unhealthyInterval,timeout"}},
                     kDisabled);
    lm.finish();
    s.load_balancer = std::move(lb);
  }
  if (YAML::Node wn = m.get("weighted")) {
    ++kinds;
    std::vector<TcpWeightedService> list;
    YamlMap wm(wn, m.child_path("weighted"), d);
    read_weighted_services(wm, d, list);
    check_schema(wm.get("healthCheck"), "", wm.child_path("healthCheck"), d);
    wm.finish();
    s.weighted = std::move(list);
  }
  m.finish();
  if (kinds != 1) {
    d.add(node.Mark(), "`" + path + "` must hold exactly one of loadBalancer and weighted");
  }
}

void decode_tcp_middleware(const YAML::Node& node, const std::string& path, Diagnostics& d,
                       TcpMiddleware& mw) {
  YamlMap m(node, path, d);
  int kinds = 0;
  for (const char* key : {"ipAllowList", "ipWhiteList"}) {
    if (YAML::Node n = m.get(key)) {
      ++kinds;
      std::vector<std::string> ranges;
      YamlMap am(n, m.child_path(key), d);
      read_string_list(am.get("sourceRange"), am.child_path("sourceRange"), d, ranges);
      am.finish();
      if (ranges.empty()) d.add(n.Mark(), "`" + am.child_path("sourceRange") + "` is required");
      mw.ip_allow_list = std::move(ranges);
    }
  }
  if (YAML::Node n = m.get("inFlightConn")) {
    ++kinds;
    YamlMap im(n, m.child_path("inFlightConn"), d);
    long long amount = 0;
    read_int(im.get("amount"), im.child_path("amount"), d, 1, 1LL << 30, amount);
    im.finish();
    if (amount <= 0) d.add(n.Mark(), "`" + im.child_path("amount") + "` must be at least 1");
    mw.in_flight_conn = static_cast<int>(amount);
  }
  m.finish();
  if (kinds != 1) {
    d.add(node.Mark(), "`" + path + "` must hold exactly one of ipAllowList and inFlightConn");
  }
}

void decode_tcp_transport(const YAML::Node& node, const std::string& path, Diagnostics& d,
                      TcpServersTransport& t) {
  YamlMap m(node, path, d);
  read_duration(m.get("dialTimeout"), m.child_path("dialTimeout"), d, t.dial_timeout);
  Duration keep_alive{0};  // the kernel's keep-alive probes: accepted, not set
  read_duration(m.get("dialKeepAlive"), m.child_path("dialKeepAlive"), d, keep_alive);
  read_duration(m.get("terminationDelay"), m.child_path("terminationDelay"), d,
                t.termination_delay);
  decode_proxy_protocol(m.get("proxyProtocol"), m.child_path("proxyProtocol"), d,
                        t.proxy_protocol_version);
  unsupported_keys(m, d, d,
                   {{"tls",
                     "serverName,certificates,insecureSkipVerify,rootCAs,peerCertSANs{type,value},"
                     "peerCertURI,spiffe{ids,trustDomain}"}},
                   "; services using it are disabled");
  m.finish();
}

}  // namespace

void decode_tcp(const YAML::Node& node, Diagnostics& d, ObjectErrors mode, Tcp& out) {
  if (!node || node.IsNull()) return;
  YamlMap m(node, "tcp", d);
  decode_section(m, "routers", "tcp.", d, mode, out.routers, decode_tcp_router);
  decode_section(m, "services", "tcp.", d, mode, out.services, decode_tcp_service);
  decode_section(m, "middlewares", "tcp.", d, mode, out.middlewares, decode_tcp_middleware);
  decode_section(m, "serversTransports", "tcp.", d, mode, out.servers_transports,
                 decode_tcp_transport);
  m.finish();
}

}  // namespace portier::config::detail
