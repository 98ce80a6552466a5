#include "config/decode.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "config/decode_internal.h"
#include "config/schema.h"
#include "config/yaml_reader.h"

namespace portier::config {
namespace {

using detail::decode_router_tls;
using detail::lower_ascii;
using detail::parse_yaml;
using detail::read_file;

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

const std::vector<std::string> kMiddlewareTypes = {
    "addPrefix",        "basicAuth",   "buffering",     "chain",           "circuitBreaker",
    "compress",         "contentType", "digestAuth",    "errors",          "forwardAuth",
    "grpcWeb",          "headers",     "ipAllowList",   "inFlightReq",     "passTLSClientCert",
    "plugin",           "rateLimit",   "redirectRegex", "redirectScheme",  "replacePath",
    "replacePathRegex", "retry",       "stripPrefix",   "stripPrefixRegex"};

void read_string_map(const YAML::Node& n, const std::string& path, Diagnostics& d,
                     std::map<std::string, std::string>& out) {
  if (!n || n.IsNull()) return;
  if (!n.IsMap()) {
    d.add(n.Mark(), "`" + path + "` must be a mapping of names to values");
    return;
  }
  for (const auto& kv : n) {
    std::string v;
    if (read_string(kv.second, path + "." + kv.first.Scalar(), d, v)) out[kv.first.Scalar()] = v;
  }
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
      sm.finish();
      lb.servers.push_back(std::move(srv));
    }
  }
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
  YAML::Node services = m.get("services");
  if (services && !services.IsNull() && !services.IsSequence()) {
    d.add(services.Mark(), "`" + m.child_path("services") + "` must be a list");
  } else if (services) {
    for (const auto& sn : services) {
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
    }
  }
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
  YAML::Node mirrors = m.get("mirrors");
  if (mirrors && !mirrors.IsNull() && !mirrors.IsSequence()) {
    d.add(mirrors.Mark(), "`" + m.child_path("mirrors") + "` must be a list");
  } else if (mirrors) {
    for (const auto& mn : mirrors) {
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
    }
  }
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
  m.finish();
  if (kinds > 1) {
    d.add(node.Mark(), "`" + path +
                           "` must hold exactly one of loadBalancer, weighted, failover and "
                           "mirroring");
  }
}

void decode_middleware(const YAML::Node& node, const std::string& path, Diagnostics& d,
                       Middleware& mw) {
  if (!node.IsMap() || node.size() != 1) {
    d.add(node.Mark(), "`" + path + "` must hold exactly one middleware type, e.g. stripPrefix");
    return;
  }
  const auto kv = *node.begin();
  std::string type = kv.first.Scalar();
  auto known =
      std::find_if(kMiddlewareTypes.begin(), kMiddlewareTypes.end(),
                   [&](const std::string& t) { return lower_ascii(t) == lower_ascii(type); });
  if (known == kMiddlewareTypes.end()) {
    std::string msg = "unknown middleware type `" + type + "` in `" + path + "`";
    if (std::string s = closest(type, kMiddlewareTypes); !s.empty())
      msg += "; did you mean `" + s + "`?";
    d.add(kv.first.Mark(), msg);
    return;
  }
  mw.type = *known;
  const std::string p = path + "." + mw.type;
  YamlMap m(kv.second, p, d);
  if (mw.type == "redirectScheme") {
    RedirectScheme r;
    read_string(m.get("scheme"), p + ".scheme", d, r.scheme);
    read_string(m.get("port"), p + ".port", d, r.port);
    read_bool(m.get("permanent"), p + ".permanent", d, r.permanent);
    mw.redirect_scheme = r;
  } else if (mw.type == "redirectRegex") {
    RedirectRegex r;
    read_string(m.get("regex"), p + ".regex", d, r.regex);
    read_string(m.get("replacement"), p + ".replacement", d, r.replacement);
    read_bool(m.get("permanent"), p + ".permanent", d, r.permanent);
    mw.redirect_regex = r;
  } else if (mw.type == "stripPrefix") {
    StripPrefix sp;
    read_string_list(m.get("prefixes"), p + ".prefixes", d, sp.prefixes);
    bool force_slash = true;  // deprecated in Traefik, accepted and ignored
    read_bool(m.get("forceSlash"), p + ".forceSlash", d, force_slash);
    mw.strip_prefix = sp;
  } else if (mw.type == "addPrefix") {
    AddPrefix ap;
    read_string(m.get("prefix"), p + ".prefix", d, ap.prefix);
    mw.add_prefix = ap;
  } else if (mw.type == "replacePath") {
    ReplacePath rp;
    read_string(m.get("path"), p + ".path", d, rp.path);
    mw.replace_path = rp;
  } else if (mw.type == "chain") {
    Chain c;
    read_string_list(m.get("middlewares"), p + ".middlewares", d, c.middlewares);
    mw.chain = c;
  } else if (mw.type == "retry") {
    Retry r;
    long long attempts = 0;
    read_int(m.get("attempts"), p + ".attempts", d, -(1LL << 31), (1LL << 31) - 1, attempts);
    r.attempts = static_cast<int>(attempts);
    read_duration(m.get("initialInterval"), p + ".initialInterval", d, r.initial_interval);
    mw.retry = r;
  } else if (mw.type == "headers") {
    Headers h;
    read_string_map(m.get("customRequestHeaders"), p + ".customRequestHeaders", d,
                    h.custom_request_headers);
    read_string_map(m.get("customResponseHeaders"), p + ".customResponseHeaders", d,
                    h.custom_response_headers);
    read_int(m.get("stsSeconds"), p + ".stsSeconds", d, 0, 1LL << 40, h.sts_seconds);
    read_bool(m.get("stsIncludeSubdomains"), p + ".stsIncludeSubdomains", d,
              h.sts_include_subdomains);
    read_bool(m.get("stsPreload"), p + ".stsPreload", d, h.sts_preload);
    read_bool(m.get("forceSTSHeader"), p + ".forceSTSHeader", d, h.force_sts_header);
    read_bool(m.get("frameDeny"), p + ".frameDeny", d, h.frame_deny);
    read_string(m.get("customFrameOptionsValue"), p + ".customFrameOptionsValue", d,
                h.custom_frame_options_value);
    read_bool(m.get("contentTypeNosniff"), p + ".contentTypeNosniff", d, h.content_type_nosniff);
    read_bool(m.get("browserXssFilter"), p + ".browserXssFilter", d, h.browser_xss_filter);
    read_string(m.get("contentSecurityPolicy"), p + ".contentSecurityPolicy", d,
                h.content_security_policy);
    read_string(m.get("referrerPolicy"), p + ".referrerPolicy", d, h.referrer_policy);
    read_string(m.get("permissionsPolicy"), p + ".permissionsPolicy", d, h.permissions_policy);
    mw.headers = h;
  } else {
    return;  // not implemented yet: options are not checked; routers using it report that
  }
  m.finish();
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
  return decode_dynamic_node(*root, file);
}

Result<Configuration> decode_dynamic_node(const YAML::Node& root, const std::string& file) {
  Diagnostics d(file);
  Configuration cfg;
  YamlMap top(root, "", d);
  YamlMap http(top.get("http"), "http", d);
  for (auto& [name, node] : YamlMap(http.get("routers"), "http.routers", d).entries()) {
    Router r;
    YamlMap m(node, "http.routers." + name, d);
    read_string(m.get("rule"), m.child_path("rule"), d, r.rule);
    long long prio = 0;
    read_int(m.get("priority"), m.child_path("priority"), d, -(1LL << 31), (1LL << 31) - 1, prio);
    r.priority = static_cast<int>(prio);
    read_string_list(m.get("entryPoints"), m.child_path("entryPoints"), d, r.entry_points);
    read_string_list(m.get("middlewares"), m.child_path("middlewares"), d, r.middlewares);
    read_string(m.get("service"), m.child_path("service"), d, r.service);
    read_string(m.get("ruleSyntax"), m.child_path("ruleSyntax"), d, r.rule_syntax);
    if (YAML::Node tls = m.get("tls")) decode_router_tls(tls, m.child_path("tls"), d, r.tls);
    m.finish();
    cfg.http.routers[name] = std::move(r);
  }
  for (auto& [name, node] : YamlMap(http.get("services"), "http.services", d).entries()) {
    decode_service(node, "http.services." + name, d, cfg.http.services[name]);
  }
  for (auto& [name, node] : YamlMap(http.get("middlewares"), "http.middlewares", d).entries()) {
    decode_middleware(node, "http.middlewares." + name, d, cfg.http.middlewares[name]);
  }
  http.finish();
  decode_tls(top.get("tls"), d, cfg.tls);
  top.finish();
  if (!d.empty()) return Error{d.str()};
  return cfg;
}

Result<Configuration> load_dynamic_file(const std::string& path) {
  auto text = read_file(path);
  if (!text) return text.error();
  return decode_dynamic_yaml(*text, path);
}

}  // namespace portier::config
