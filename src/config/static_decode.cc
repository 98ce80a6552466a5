// Static configuration decoding: entrypoints, resolvers, providers, api, log and the sections
// portier accepts before it acts on them.
#include <algorithm>
#include <utility>

#include "config/decode.h"
#include "config/decode_internal.h"
#include "config/schema.h"

namespace portier::config {
namespace {

using detail::decode_router_tls;
using detail::parse_yaml;
using detail::read_file;

void decode_entrypoint(const YAML::Node& node, const std::string& path, Diagnostics& d,
                       EntryPoint& ep) {
  YamlMap m(node, path, d);
  read_string(m.get("address"), m.child_path("address"), d, ep.address);
  if (ep.address.empty()) d.add(node.Mark(), "`" + m.child_path("address") + "` is required");
  long long max_header = static_cast<long long>(ep.max_header_bytes);
  read_int(m.get("maxHeaderBytes"), m.child_path("maxHeaderBytes"), d, 1024, 1 << 20, max_header);
  ep.max_header_bytes = static_cast<std::size_t>(max_header);
  {
    YamlMap t(m.get("transport"), m.child_path("transport"), d);
    YamlMap rt(t.get("respondingTimeouts"), t.child_path("respondingTimeouts"), d);
    auto& r = ep.responding_timeouts;
    read_duration(rt.get("readHeaderTimeout"), rt.child_path("readHeaderTimeout"), d,
                  r.read_header_timeout);
    read_duration(rt.get("readTimeout"), rt.child_path("readTimeout"), d, r.read_timeout);
    read_duration(rt.get("writeTimeout"), rt.child_path("writeTimeout"), d, r.write_timeout);
    read_duration(rt.get("idleTimeout"), rt.child_path("idleTimeout"), d, r.idle_timeout);
    rt.finish();
    YamlMap lc(t.get("lifeCycle"), t.child_path("lifeCycle"), d);
    read_duration(lc.get("graceTimeOut"), lc.child_path("graceTimeOut"), d,
                  ep.life_cycle.grace_timeout);
    lc.finish();
    t.finish();
  }
  {
    YamlMap fh(m.get("forwardedHeaders"), m.child_path("forwardedHeaders"), d);
    read_bool(fh.get("insecure"), fh.child_path("insecure"), d, ep.forwarded_headers.insecure);
    read_string_list(fh.get("trustedIPs"), fh.child_path("trustedIPs"), d,
                     ep.forwarded_headers.trusted_ips);
    fh.finish();
  }
  if (YAML::Node http_node = m.get("http")) {
    YamlMap h(http_node, m.child_path("http"), d);
    if (YAML::Node tls = h.get("tls")) decode_router_tls(tls, h.child_path("tls"), d, ep.http.tls);
    read_bool(h.get("sanitizePath"), h.child_path("sanitizePath"), d, ep.http.sanitize_path);
    {
      YamlMap ec(h.get("encodedCharacters"), h.child_path("encodedCharacters"), d);
      auto& e = ep.http.encoded_characters;
      const std::pair<const char*, bool*> flags[] = {
          {"allowEncodedSlash", &e.allow_encoded_slash},
          {"allowEncodedBackSlash", &e.allow_encoded_back_slash},
          {"allowEncodedNullCharacter", &e.allow_encoded_null_character},
          {"allowEncodedSemicolon", &e.allow_encoded_semicolon},
          {"allowEncodedPercent", &e.allow_encoded_percent},
          {"allowEncodedQuestionMark", &e.allow_encoded_question_mark},
          {"allowEncodedHash", &e.allow_encoded_hash},
      };
      for (const auto& [key, flag] : flags) read_bool(ec.get(key), ec.child_path(key), d, *flag);
      ec.finish();
    }
    if (YAML::Node u = h.get("underscoreHeadersStrategy")) {
      std::string v;
      read_string(u, h.child_path("underscoreHeadersStrategy"), d, v);
      if (v == "keep") {
        ep.http.underscore_headers = UnderscoreHeaders::Keep;
      } else if (v == "delete") {
        ep.http.underscore_headers = UnderscoreHeaders::Delete;
      } else if (v == "reject") {
        ep.http.underscore_headers = UnderscoreHeaders::Reject;
      } else {
        d.add(u.Mark(),
              "`" + h.child_path("underscoreHeadersStrategy") + "` must be keep, delete or reject");
      }
    }
    YamlMap rd(h.get("redirections"), h.child_path("redirections"), d);
    if (YAML::Node to_ep = rd.get("entryPoint")) {
      EntryPointRedirect r;
      YamlMap e(to_ep, rd.child_path("entryPoint"), d);
      read_string(e.get("to"), e.child_path("to"), d, r.to);
      read_string(e.get("scheme"), e.child_path("scheme"), d, r.scheme);
      read_bool(e.get("permanent"), e.child_path("permanent"), d, r.permanent);
      long long prio = 0;
      read_int(e.get("priority"), e.child_path("priority"), d, 0, 2147483646, prio);
      r.priority = static_cast<int>(prio);
      e.finish();
      if (r.to.empty()) d.add(to_ep.Mark(), "`" + e.child_path("to") + "` is required");
      if (r.scheme != "http" && r.scheme != "https") {
        d.add(to_ep.Mark(), "`" + e.child_path("scheme") + "` must be http or https");
      }
      ep.http.redirect = r;
    }
    rd.finish();
    h.finish();
  }
  m.finish();
}

void decode_resolver(const YAML::Node& node, const std::string& path, Diagnostics& d,
                     AcmeResolver& r) {
  YamlMap top(node, path, d);
  YAML::Node acme = top.get("acme");
  if (!acme) d.add(node.Mark(), "`" + path + ".acme` is required (the only resolver type)");
  YamlMap m(acme, top.child_path("acme"), d);
  read_string(m.get("email"), m.child_path("email"), d, r.email);
  read_string(m.get("storage"), m.child_path("storage"), d, r.storage);
  read_string(m.get("caServer"), m.child_path("caServer"), d, r.ca_server);
  read_string(m.get("keyType"), m.child_path("keyType"), d, r.key_type);
  long long hours = r.certificates_duration;
  read_int(m.get("certificatesDuration"), m.child_path("certificatesDuration"), d, 1, 1000000,
           hours);
  r.certificates_duration = hours;
  read_string(m.get("preferredChain"), m.child_path("preferredChain"), d, r.preferred_chain);
  read_string_list(m.get("caCertificates"), m.child_path("caCertificates"), d, r.ca_certificates);
  {
    YamlMap e(m.get("eab"), m.child_path("eab"), d);
    read_string(e.get("kid"), e.child_path("kid"), d, r.eab_kid);
    read_string(e.get("hmacEncoded"), e.child_path("hmacEncoded"), d, r.eab_hmac_encoded);
    e.finish();
  }
  YAML::Node hc = m.get("httpChallenge");
  {
    YamlMap h(hc, m.child_path("httpChallenge"), d);
    read_string(h.get("entryPoint"), h.child_path("entryPoint"), d, r.http_challenge_entrypoint);
    h.finish();
  }
  for (const char* other : {"tlsChallenge", "dnsChallenge"}) {
    if (YAML::Node n = m.get(other)) {
      d.add(n.Mark(), "`" + m.child_path(other) +
                          "` is not supported yet (portier solves HTTP-01 challenges only)");
    }
  }
  static const char* kKeyTypes[] = {"EC256", "EC384", "RSA2048", "RSA4096", "RSA8192"};
  bool known = false;
  for (const char* k : kKeyTypes) known = known || r.key_type == k;
  if (!known) {
    d.add(acme.Mark(), "`" + m.child_path("keyType") +
                           "` must be one of EC256, EC384, RSA2048, "
                           "RSA4096, RSA8192");
  }
  if (acme && r.http_challenge_entrypoint.empty()) {
    d.add(acme.Mark(), "`" + m.child_path("httpChallenge.entryPoint") +
                           "` is required (the plain-HTTP entrypoint Let's Encrypt reaches)");
  }
  m.finish();
  top.finish();
}

// loadBalancer.sticky: `cookie` is a mapping, or `true` (Traefik's label short form) for the
// defaults.

void decode_servers_transport(const YAML::Node& node, Diagnostics& d, ServersTransport& st) {
  YamlMap m(node, "serversTransport", d);
  long long idle = st.max_idle_conns_per_host;
  read_int(m.get("maxIdleConnsPerHost"), m.child_path("maxIdleConnsPerHost"), d, 0, 100000, idle);
  st.max_idle_conns_per_host = static_cast<int>(idle);
  YamlMap ft(m.get("forwardingTimeouts"), m.child_path("forwardingTimeouts"), d);
  auto& f = st.forwarding_timeouts;
  read_duration(ft.get("dialTimeout"), ft.child_path("dialTimeout"), d, f.dial_timeout);
  read_duration(ft.get("responseHeaderTimeout"), ft.child_path("responseHeaderTimeout"), d,
                f.response_header_timeout);
  read_duration(ft.get("idleConnTimeout"), ft.child_path("idleConnTimeout"), d,
                f.idle_conn_timeout);
  ft.finish();
  m.finish();
}

// Every middleware type of Traefik v3; those with a decoder below are implemented.

}  // namespace

Result<StaticConfig> decode_static_yaml(const std::string& text, const std::string& file) {
  Diagnostics d(file);
  auto root = parse_yaml(text, d);
  if (!root) return root.error();
  return decode_static_node(*root, file);
}

Result<StaticConfig> decode_static_node(const YAML::Node& root, const std::string& file) {
  Diagnostics d(file);
  StaticConfig cfg;
  YamlMap m(root, "", d);
  for (auto& [name, node] : YamlMap(m.get("entryPoints"), "entryPoints", d).entries()) {
    decode_entrypoint(node, "entryPoints." + name, d, cfg.entry_points[name]);
  }
  for (auto& [name, node] :
       YamlMap(m.get("certificatesResolvers"), "certificatesResolvers", d).entries()) {
    decode_resolver(node, "certificatesResolvers." + name, d, cfg.certificates_resolvers[name]);
  }
  for (const auto& [name, ep] : cfg.entry_points) {
    if (ep.http.redirect && !ep.http.redirect->to.empty() && ep.http.redirect->to.front() != ':' &&
        !cfg.entry_points.count(ep.http.redirect->to)) {
      d.add(YAML::Mark(), "entryPoints." + name + ".http.redirections.entryPoint.to: entrypoint `" +
                              ep.http.redirect->to + "` does not exist");
    }
  }
  for (const auto& [name, r] : cfg.certificates_resolvers) {
    if (!r.http_challenge_entrypoint.empty() &&
        !cfg.entry_points.count(r.http_challenge_entrypoint)) {
      d.add(YAML::Mark(), "certificatesResolvers." + name +
                              ".acme.httpChallenge.entryPoint: entrypoint `" +
                              r.http_challenge_entrypoint + "` does not exist");
    }
  }
  decode_servers_transport(m.get("serversTransport"), d, cfg.servers_transport);
  {
    YamlMap p(m.get("providers"), "providers", d);
    read_duration(p.get("providersThrottleDuration"), "providers.providersThrottleDuration", d,
                  cfg.providers.providers_throttle_duration);
    YAML::Node file_node = p.get("file");
    if (file_node) {
      FileProvider fp;
      YamlMap f(file_node, "providers.file", d);
      read_string(f.get("filename"), "providers.file.filename", d, fp.filename);
      read_string(f.get("directory"), "providers.file.directory", d, fp.directory);
      read_bool(f.get("watch"), "providers.file.watch", d, fp.watch);
      f.finish();
      if (fp.filename.empty() == fp.directory.empty()) {
        d.add(file_node.Mark(), "`providers.file` needs exactly one of filename or directory");
      }
      cfg.providers.file = fp;
    }
    if (YAML::Node docker_node = p.get("docker")) {
      DockerProvider dp;
      YamlMap dm(docker_node, "providers.docker", d);
      read_string(dm.get("endpoint"), "providers.docker.endpoint", d, dp.endpoint);
      read_bool(dm.get("exposedByDefault"), "providers.docker.exposedByDefault", d,
                dp.exposed_by_default);
      read_string(dm.get("defaultRule"), "providers.docker.defaultRule", d, dp.default_rule);
      read_string(dm.get("network"), "providers.docker.network", d, dp.network);
      read_bool(dm.get("allowEmptyServices"), "providers.docker.allowEmptyServices", d,
                dp.allow_empty_services);
      read_string(dm.get("constraints"), "providers.docker.constraints", d, dp.constraints);
      if (YAML::Node tls_node = dm.get("tls")) {
        ClientTls t;
        YamlMap tm(tls_node, "providers.docker.tls", d);
        read_string(tm.get("ca"), "providers.docker.tls.ca", d, t.ca);
        read_string(tm.get("cert"), "providers.docker.tls.cert", d, t.cert);
        read_string(tm.get("key"), "providers.docker.tls.key", d, t.key);
        read_bool(tm.get("insecureSkipVerify"), "providers.docker.tls.insecureSkipVerify", d,
                  t.insecure_skip_verify);
        tm.finish();
        dp.tls = t;
      }
      read_string_list(dm.get("labelPrefixes"), "providers.docker.labelPrefixes", d,
                       dp.label_prefixes);
      dm.finish();
      cfg.providers.docker = dp;
    }
    p.finish();
  }
  if (YAML::Node api_node = m.get("api")) {
    Api api;
    YamlMap a(api_node, "api", d);
    read_bool(a.get("insecure"), "api.insecure", d, api.insecure);
    read_bool(a.get("dashboard"), "api.dashboard", d, api.dashboard);
    a.finish();
    cfg.api = api;
  }
  {
    YamlMap l(m.get("log"), "log", d);
    read_string(l.get("level"), "log.level", d, cfg.log.level);
    l.finish();
  }
  m.finish();
  if (!d.empty()) return Error{d.str()};
  return cfg;
}

Result<StaticConfig> load_static_file(const std::string& path) {
  auto text = read_file(path);
  if (!text) return text.error();
  return decode_static_yaml(*text, path);
}

}  // namespace portier::config
