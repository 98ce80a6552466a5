#include "config/decode.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "config/decode_internal.h"
#include "config/schema.h"
#include "config/yaml_reader.h"

namespace portier::config {
namespace {

using detail::decode_middleware;
using detail::decode_router_tls;
using detail::decode_section;
using detail::decode_tcp;
using detail::decode_servers_transport;
using detail::decode_udp;
using detail::lower_ascii;
using detail::parse_yaml;
using detail::read_file;
using detail::read_list;
using detail::read_router_fields;
using detail::read_string_map;

const std::string kDisabled = "; the object is disabled";

void decode_sticky(const YAML::Node& node, const std::string& path, Diagnostics& d,
                   std::optional<StickyCookie>& out) {
  YamlMap sm(node, path, d);
  YAML::Node cookie = sm.get("cookie");
  const std::string cp = sm.child_path("cookie");
  sm.finish();
  if (!cookie || cookie.IsNull()) return;
  if (cookie.IsScalar()) {
    bool on = false;
    if (read_bool(cookie, cp, d, on) && on) out = StickyCookie{};
    return;
  }
  StickyCookie c;
  YamlMap cm(cookie, cp, d);
  read_string(cm.get("name"), cm.child_path("name"), d, c.name);
  read_bool(cm.get("secure"), cm.child_path("secure"), d, c.secure);
  read_bool(cm.get("httpOnly"), cm.child_path("httpOnly"), d, c.http_only);
  read_string(cm.get("sameSite"), cm.child_path("sameSite"), d, c.same_site);
  long long max_age = 0;
  read_int(cm.get("maxAge"), cm.child_path("maxAge"), d, -(1LL << 31), (1LL << 31) - 1, max_age);
  c.max_age = static_cast<int>(max_age);
  read_string(cm.get("path"), cm.child_path("path"), d, c.path);
  read_string(cm.get("domain"), cm.child_path("domain"), d, c.domain);
  cm.finish();
  c.same_site = lower_ascii(c.same_site);
  if (!c.same_site.empty() && c.same_site != "none" && c.same_site != "lax" &&
      c.same_site != "strict") {
    d.add(cookie.Mark(), "`" + cm.child_path("sameSite") + "` must be none, lax or strict");
  }
  out = std::move(c);
}

// loadBalancer: servers, strategy, sticky cookie, active health check.
void decode_load_balancer(const YAML::Node& node, const std::string& path, Diagnostics& d,
                          LoadBalancer& lb) {
  YamlMap lbm(node, path, d);
  read_bool(lbm.get("passHostHeader"), lbm.child_path("passHostHeader"), d,
            lb.pass_host_header);
  read_string(lbm.get("serversTransport"), lbm.child_path("serversTransport"), d,
              lb.servers_transport);
  read_string(lbm.get("strategy"), lbm.child_path("strategy"), d, lb.strategy);
  if (YAML::Node sticky = lbm.get("sticky")) {
    decode_sticky(sticky, lbm.child_path("sticky"), d, lb.sticky);
  }
  if (YAML::Node hc_node = lbm.get("healthCheck")) {
    HealthCheck hc;
    const std::string hp = lbm.child_path("healthCheck");
    YamlMap hm(hc_node, hp, d);
    read_string(hm.get("path"), hp + ".path", d, hc.path);
    read_duration(hm.get("interval"), hp + ".interval", d, hc.interval);
    read_duration(hm.get("unhealthyInterval"), hp + ".unhealthyInterval", d,
                  hc.unhealthy_interval);
    read_duration(hm.get("timeout"), hp + ".timeout", d, hc.timeout);
    read_string(hm.get("scheme"), hp + ".scheme", d, hc.scheme);
    read_string(hm.get("hostname"), hp + ".hostname", d, hc.hostname);
    long long port = 0, status = 0;
    read_int(hm.get("port"), hp + ".port", d, 0, 65535, port);
    read_int(hm.get("status"), hp + ".status", d, 0, 599, status);
    hc.port = static_cast<int>(port);
    hc.status = static_cast<int>(status);
    read_string_map(hm.get("headers"), hp + ".headers", d, hc.headers);
    read_string(hm.get("method"), hp + ".method", d, hc.method);
    read_bool(hm.get("followRedirects"), hp + ".followRedirects", d, hc.follow_redirects);
    if (YAML::Node mode = hm.get("mode")) {
      std::string v;
      if (read_string(mode, hp + ".mode", d, v) && lower_ascii(v) != "http") {
        d.add(mode.Mark(), "`" + hp + ".mode: " + v + "` is not supported yet (http only)");
      }
    }
    hm.finish();
    if (hc.interval.count() <= 0)
      d.add(hc_node.Mark(), "`" + hp + ".interval` must be positive");
    lb.health_check = std::move(hc);
  }
  YAML::Node servers = lbm.get("servers");
  if (servers && !servers.IsSequence()) {
    d.add(servers.Mark(), "`" + lbm.child_path("servers") + "` must be a list");
  } else if (servers) {
    for (const auto& sn : servers) {
      Server srv;
      YamlMap sm(sn, lbm.child_path("servers[]"), d);
      read_string(sm.get("url"), sm.child_path("url"), d, srv.url);
      long long w = 1;
      read_int(sm.get("weight"), sm.child_path("weight"), d, 0, 1 << 20, w);
      srv.weight = static_cast<int>(w);
      unsupported_keys(sm, d, d, {{"preservePath", ""}, {"fenced", ""}}, kDisabled);
      sm.finish();
      lb.servers.push_back(std::move(srv));
    }
  }
  // portier streams responses as they come: flushInterval has nothing to change.
  check_schema(lbm.get("responseForwarding"), "flushInterval", lbm.child_path("responseForwarding"),
               d);
  unsupported_keys(
      lbm, d, d,
      {{"passiveHealthCheck", "failureWindow,maxFailedAttempts"}, {"nginxUpstreamHashBy", ""}},
      kDisabled);
  lbm.finish();
}

// `healthCheck: {}` of weighted, failover and mirroring: an empty mapping (Traefik has no
// options there either).
bool decode_propagation(const YAML::Node& node, const std::string& path, Diagnostics& d) {
  YamlMap m(node, path, d);
  m.finish();
  return true;
}

void decode_weighted(const YAML::Node& node, const std::string& path, Diagnostics& d,
                     Weighted& w) {
  YamlMap m(node, path, d);
  read_list(m.get("services"), m.child_path("services"), d, [&](const YAML::Node& sn) {
    WeightedService ws;
    YamlMap sm(sn, m.child_path("services[]"), d);
    read_string(sm.get("name"), sm.child_path("name"), d, ws.name);
    long long weight = 1;
    read_int(sm.get("weight"), sm.child_path("weight"), d, 0, 1 << 20, weight);
    ws.weight = static_cast<int>(weight);
    sm.finish();
    if (sm.ok() && ws.name.empty()) {
      d.add(sn.Mark(), "`" + sm.child_path("name") + "` is required");
    }
    w.services.push_back(std::move(ws));
  });
  if (YAML::Node sticky = m.get("sticky")) decode_sticky(sticky, m.child_path("sticky"), d, w.sticky);
  if (YAML::Node hc = m.get("healthCheck")) {
    w.health_check = decode_propagation(hc, m.child_path("healthCheck"), d);
  }
  m.finish();
}

void decode_failover(const YAML::Node& node, const std::string& path, Diagnostics& d,
                     Failover& f) {
  YamlMap m(node, path, d);
  read_string(m.get("service"), m.child_path("service"), d, f.service);
  read_string(m.get("fallback"), m.child_path("fallback"), d, f.fallback);
  unsupported_keys(m, d, d, {{"errors", "maxRequestBodyBytes,status"}}, kDisabled);
  if (YAML::Node hc = m.get("healthCheck")) {
    f.health_check = decode_propagation(hc, m.child_path("healthCheck"), d);
  }
  m.finish();
}

void decode_mirroring(const YAML::Node& node, const std::string& path, Diagnostics& d,
                      Mirroring& mr) {
  YamlMap m(node, path, d);
  read_string(m.get("service"), m.child_path("service"), d, mr.service);
  read_bool(m.get("mirrorBody"), m.child_path("mirrorBody"), d, mr.mirror_body);
  read_int(m.get("maxBodySize"), m.child_path("maxBodySize"), d, -1, 1LL << 62, mr.max_body_size);
  read_list(m.get("mirrors"), m.child_path("mirrors"), d, [&](const YAML::Node& mn) {
    Mirror mi;
    YamlMap mm(mn, m.child_path("mirrors[]"), d);
    read_string(mm.get("name"), mm.child_path("name"), d, mi.name);
    long long percent = 0;
    read_int(mm.get("percent"), mm.child_path("percent"), d, 0, 100, percent);
    mi.percent = static_cast<int>(percent);
    mm.finish();
    if (mm.ok() && mi.name.empty()) {
      d.add(mn.Mark(), "`" + mm.child_path("name") + "` is required");
    }
    mr.mirrors.push_back(std::move(mi));
  });
  if (YAML::Node hc = m.get("healthCheck")) {
    mr.health_check = decode_propagation(hc, m.child_path("healthCheck"), d);
  }
  m.finish();
}

// A service: exactly one of loadBalancer, weighted, failover, mirroring.
void decode_service(const YAML::Node& node, const std::string& path, Diagnostics& d,
                    Service& s) {
  YamlMap m(node, path, d);
  int kinds = 0;
  if (YAML::Node n = m.get("loadBalancer")) {
    ++kinds;
    decode_load_balancer(n, m.child_path("loadBalancer"), d, s.load_balancer.emplace());
  }
  if (YAML::Node n = m.get("weighted")) {
    ++kinds;
    decode_weighted(n, m.child_path("weighted"), d, s.weighted.emplace());
  }
  if (YAML::Node n = m.get("failover")) {
    ++kinds;
    decode_failover(n, m.child_path("failover"), d, s.failover.emplace());
  }
  if (YAML::Node n = m.get("mirroring")) {
    ++kinds;
    decode_mirroring(n, m.child_path("mirroring"), d, s.mirroring.emplace());
  }
  unsupported_keys(
      m, d, d,
      {{"highestRandomWeight", "services{name,weight},healthCheck{}"}, {"middlewares", ""}},
      kDisabled);
  m.finish();
  if (kinds > 1) {
    d.add(node.Mark(), "`" + path +
                           "` must hold exactly one of loadBalancer, weighted, failover and "
                           "mirroring");
  }
}

void decode_certificate(const YAML::Node& n, const std::string& path, Diagnostics& d,
                        CertificateFile& c) {
  YamlMap m(n, path, d);
  read_string(m.get("certFile"), m.child_path("certFile"), d, c.cert_file);
  read_string(m.get("keyFile"), m.child_path("keyFile"), d, c.key_file);
  read_string_list(m.get("stores"), m.child_path("stores"), d, c.stores);
  m.finish();
  if (c.cert_file.empty() || c.key_file.empty()) {
    d.add(n.Mark(), "`" + path + "` needs certFile and keyFile");
  }
}

void decode_tls(const YAML::Node& node, Diagnostics& d, Tls& tls) {
  if (!node) return;
  YamlMap m(node, "tls", d);
  YAML::Node certs = m.get("certificates");
  if (certs && certs.IsSequence()) {
    for (const auto& c : certs) {
      CertificateFile cf;
      decode_certificate(c, "tls.certificates[]", d, cf);
      tls.certificates.push_back(std::move(cf));
    }
  } else if (certs && !certs.IsNull()) {
    d.add(certs.Mark(), "`tls.certificates` must be a list");
  }
  for (auto& [name, on] : YamlMap(m.get("options"), "tls.options", d).entries()) {
    TlsOptions o;
    const std::string p = "tls.options." + name;
    YamlMap om(on, p, d);
    read_string(om.get("minVersion"), p + ".minVersion", d, o.min_version);
    read_string(om.get("maxVersion"), p + ".maxVersion", d, o.max_version);
    read_string_list(om.get("cipherSuites"), p + ".cipherSuites", d, o.cipher_suites);
    read_string_list(om.get("curvePreferences"), p + ".curvePreferences", d, o.curve_preferences);
    read_string_list(om.get("alpnProtocols"), p + ".alpnProtocols", d, o.alpn_protocols);
    read_bool(om.get("sniStrict"), p + ".sniStrict", d, o.sni_strict);
    if (YAML::Node ca = om.get("clientAuth")) {
      ClientAuth c;
      YamlMap cm(ca, p + ".clientAuth", d);
      read_string_list(cm.get("caFiles"), p + ".clientAuth.caFiles", d, c.ca_files);
      read_string(cm.get("clientAuthType"), p + ".clientAuth.clientAuthType", d,
                  c.client_auth_type);
      cm.finish();
      o.client_auth = c;
    }
    for (const auto* v : {&o.min_version, &o.max_version}) {
      if (!v->empty() && *v != "VersionTLS10" && *v != "VersionTLS11" && *v != "VersionTLS12" &&
          *v != "VersionTLS13") {
        d.add(on.Mark(),
              "`" + p + "`: unknown TLS version `" + *v + "` (VersionTLS12, VersionTLS13)");
      }
    }
    om.finish();
    tls.options[name] = std::move(o);
  }
  for (auto& [name, sn] : YamlMap(m.get("stores"), "tls.stores", d).entries()) {
    TlsStore st;
    YamlMap sm(sn, "tls.stores." + name, d);
    if (YAML::Node dc = sm.get("defaultCertificate")) {
      CertificateFile cf;
      decode_certificate(dc, "tls.stores." + name + ".defaultCertificate", d, cf);
      st.default_certificate = std::move(cf);
    }
    sm.finish();
    tls.stores[name] = std::move(st);
  }
  m.finish();
}

}  // namespace

Result<Configuration> decode_dynamic_yaml(const std::string& text, const std::string& file) {
  Diagnostics d(file);
  auto root = parse_yaml(text, d);
  if (!root) return root.error();
  return decode_dynamic_node(*root, file, ObjectErrors::Disable);
}

namespace {

void decode_router(const YAML::Node& node, const std::string& path, Diagnostics& d, Router& r) {
  YamlMap m(node, path, d);
  read_router_fields(m, d, r);
  if (YAML::Node tls = m.get("tls")) decode_router_tls(tls, m.child_path("tls"), d, r.tls);
  // Per-router access log, metrics and tracing switches: none of those exist yet.
  check_schema(m.get("observability"), "accessLogs,metrics,tracing,traceVerbosity",
               m.child_path("observability"), d);
  unsupported_keys(m, d, d, {{"parentRefs", ""}}, kDisabled);
  m.finish();
}

}  // namespace

Result<Configuration> decode_dynamic_node(const YAML::Node& root, const std::string& file,
                                          ObjectErrors mode) {
  Diagnostics d(file);
  Diagnostics w(file);
  Configuration cfg;
  YamlMap top(root, "", d);
  YamlMap http(top.get("http"), "http", d);
  decode_section(http, "routers", "http.", d, mode, cfg.http.routers, decode_router);
  decode_section(http, "services", "http.", d, mode, cfg.http.services, decode_service);
  decode_section(http, "middlewares", "http.", d, mode, cfg.http.middlewares, decode_middleware);
  decode_section(http, "serversTransports", "http.", d, mode, cfg.http.servers_transports,
                 decode_servers_transport);
  unsupported_keys(http, d, w, {{"models", ""}}, "; accepted and ignored");
  http.finish();
  decode_tls(top.get("tls"), d, cfg.tls);
  decode_tcp(top.get("tcp"), d, mode, cfg.tcp);
  decode_udp(top.get("udp"), d, mode, cfg.udp);
  // A file read by both sides (traefik.yml named by providers.file.filename): the static
  // sections are the static reader's.
  for (const char* k :
       {"global", "serversTransport", "tcpServersTransport", "entryPoints", "providers", "api",
        "metrics", "ping", "log", "accessLog", "tracing", "hostResolver", "certificatesResolvers",
        "experimental", "core", "spiffe", "ocsp"}) {
    top.get(k);
  }
  top.finish();
  if (!d.empty()) return Error{d.str()};
  cfg.warnings = w.lines();
  return cfg;
}

Result<Configuration> load_dynamic_file(const std::string& path) {
  auto text = read_file(path);
  if (!text) return text.error();
  return decode_dynamic_yaml(*text, path);
}

}  // namespace portier::config
