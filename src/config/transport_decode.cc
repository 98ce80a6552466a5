// http.serversTransports.<name> (Traefik v3's dynamic ServersTransport).
#include <yaml-cpp/yaml.h>

#include "config/decode_internal.h"

namespace portier::config::detail {

void decode_servers_transport(const YAML::Node& node, const std::string& path, Diagnostics& d,
                              HttpServersTransport& t) {
  YamlMap m(node, path, d);
  read_string(m.get("serverName"), m.child_path("serverName"), d, t.server_name);
  read_bool(m.get("insecureSkipVerify"), m.child_path("insecureSkipVerify"), d,
            t.insecure_skip_verify);
  read_string_list(m.get("rootCAs"), m.child_path("rootCAs"), d, t.root_cas);
  if (YAML::Node certs = m.get("certificates")) {
    const std::string cp = m.child_path("certificates");
    if (certs.IsSequence()) {
      for (const auto& c : certs) {
        TransportCertificate tc;
        YamlMap cm(c, cp + "[]", d);
        read_string(cm.get("certFile"), cm.child_path("certFile"), d, tc.cert_file);
        read_string(cm.get("keyFile"), cm.child_path("keyFile"), d, tc.key_file);
        cm.finish();
        if (cm.ok() && (tc.cert_file.empty() || tc.key_file.empty())) {
          d.add(c.Mark(), "`" + cp + "[]` needs certFile and keyFile");
        }
        t.certificates.push_back(std::move(tc));
      }
    } else if (!certs.IsNull()) {
      d.add(certs.Mark(), "`" + cp + "` must be a list of {certFile, keyFile}");
    }
  }
  read_string_list(m.get("cipherSuites"), m.child_path("cipherSuites"), d, t.cipher_suites);
  read_string(m.get("minVersion"), m.child_path("minVersion"), d, t.min_version);
  read_string(m.get("maxVersion"), m.child_path("maxVersion"), d, t.max_version);
  long long idle = t.max_idle_conns_per_host;
  read_int(m.get("maxIdleConnsPerHost"), m.child_path("maxIdleConnsPerHost"), d, -1, 100000, idle);
  // Traefik: 0 means Go's default (2), negative disables reuse.
  t.max_idle_conns_per_host = idle == 0 ? 2 : static_cast<int>(std::max(0LL, idle));
  if (YAML::Node ft_node = m.get("forwardingTimeouts")) {
    YamlMap ft(ft_node, m.child_path("forwardingTimeouts"), d);
    auto& f = t.forwarding_timeouts;
    read_duration(ft.get("dialTimeout"), ft.child_path("dialTimeout"), d, f.dial_timeout);
    read_duration(ft.get("responseHeaderTimeout"), ft.child_path("responseHeaderTimeout"), d,
                  f.response_header_timeout);
    read_duration(ft.get("idleConnTimeout"), ft.child_path("idleConnTimeout"), d,
                  f.idle_conn_timeout);
    // HTTP/2 pings: portier speaks HTTP/1.1 to servers, so these have nothing to act on.
    Duration ignored{};
    read_duration(ft.get("readIdleTimeout"), ft.child_path("readIdleTimeout"), d, ignored);
    read_duration(ft.get("pingTimeout"), ft.child_path("pingTimeout"), d, ignored);
    ft.finish();
  }
  read_bool(m.get("disableHTTP2"), m.child_path("disableHTTP2"), d, t.disable_http2);
  read_string(m.get("peerCertURI"), m.child_path("peerCertURI"), d, t.peer_cert_uri);
  if (YAML::Node sans = m.get("peerCertSANs")) {
    const std::string sp = m.child_path("peerCertSANs");
    if (sans.IsSequence()) {
      for (const auto& s : sans) {
        PeerCertSan san;
        YamlMap sm(s, sp + "[]", d);
        read_string(sm.get("type"), sm.child_path("type"), d, san.type);
        read_string(sm.get("value"), sm.child_path("value"), d, san.value);
        sm.finish();
        if (sm.ok() && san.type != "URI" && san.type != "DNSName") {
          d.add(s.Mark(), "`" + sp + "[].type` must be URI or DNSName");
        }
        t.peer_cert_sans.push_back(std::move(san));
      }
    } else if (!sans.IsNull()) {
      d.add(sans.Mark(), "`" + sp + "` must be a list of {type, value}");
    }
  }
  if (YAML::Node sp = m.get("spiffe")) {
    // Read (so its keys are checked) and refused when the table is built: portier has no
    // SPIFFE workload API client.
    YamlMap s(sp, m.child_path("spiffe"), d);
    std::vector<std::string> ids;
    std::string domain;
    read_string_list(s.get("ids"), s.child_path("ids"), d, ids);
    read_string(s.get("trustDomain"), s.child_path("trustDomain"), d, domain);
    s.finish();
    t.spiffe = true;
  }
  m.finish();
  for (const auto* v : {&t.min_version, &t.max_version}) {
    if (!v->empty() && *v != "VersionTLS10" && *v != "VersionTLS11" && *v != "VersionTLS12" &&
        *v != "VersionTLS13") {
      d.add(node.Mark(),
            "`" + path + "`: unknown TLS version `" + *v + "` (VersionTLS12, VersionTLS13)");
    }
  }
}

}  // namespace portier::config::detail
