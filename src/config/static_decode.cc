// Static configuration decoding: entrypoints, resolvers, providers, api, log and the sections
// portier accepts before it acts on them.
#include <algorithm>
#include <utility>

#include "config/acme_decode.h"
#include "config/decode.h"
#include "config/decode_internal.h"
#include "config/schema.h"

namespace portier::config {
namespace {

using detail::decode_router_tls;
using detail::parse_yaml;
using detail::read_file;

// Static options known to Traefik that portier does not act on: a warning each.
void accept_unsupported(YamlMap& m, Diagnostics& d, Diagnostics& w,
                        const std::vector<KnownKey>& keys, const std::string& note = "") {
  unsupported_keys(m, d, w, keys, "; accepted and ignored" + note);
}

constexpr const char* kOtelGrpc =
    "endpoint,insecure,tls{ca,cert,key,insecureSkipVerify},headers{*}";
constexpr const char* kOtelHttp = "endpoint,tls{ca,cert,key,insecureSkipVerify},headers{*}";

void decode_entrypoint(const YAML::Node& node, const std::string& path, Diagnostics& d,
                       Diagnostics& w, EntryPoint& ep) {
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
    read_duration(lc.get("requestAcceptGraceTimeout"), lc.child_path("requestAcceptGraceTimeout"),
                  d, ep.life_cycle.request_accept_grace_timeout);
    lc.finish();
    accept_unsupported(t, d, w, {{"keepAliveMaxTime", ""}, {"keepAliveMaxRequests", ""}});
    t.finish();
  }
  {
    YamlMap fh(m.get("forwardedHeaders"), m.child_path("forwardedHeaders"), d);
    read_bool(fh.get("insecure"), fh.child_path("insecure"), d, ep.forwarded_headers.insecure);
    read_string_list(fh.get("trustedIPs"), fh.child_path("trustedIPs"), d,
                     ep.forwarded_headers.trusted_ips);
    accept_unsupported(
        fh, d, w,
        {{"connection", ""}, {"notAppendXForwardedFor", ""}, {"addXForwardedSchemeHeaders", ""}});
    fh.finish();
  }
  if (YAML::Node pp = m.get("proxyProtocol"); !section_off(pp)) {
    ProxyProtocol p;
    YamlMap pm(pp, m.child_path("proxyProtocol"), d);
    read_bool(pm.get("insecure"), pm.child_path("insecure"), d, p.insecure);
    read_string_list(pm.get("trustedIPs"), pm.child_path("trustedIPs"), d, p.trusted_ips);
    pm.finish();
    ep.proxy_protocol = std::move(p);
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
    // Traefik's place for the head limit; portier's own is entryPoints.<ep>.maxHeaderBytes.
    long long http_max = static_cast<long long>(ep.max_header_bytes);
    read_int(h.get("maxHeaderBytes"), h.child_path("maxHeaderBytes"), d, 1024, 1 << 20, http_max);
    ep.max_header_bytes = static_cast<std::size_t>(http_max);
    read_string_list(h.get("middlewares"), h.child_path("middlewares"), d, ep.http.middlewares);
    accept_unsupported(h, d, w, {{"encodeQuerySemicolons", ""}});
    h.finish();
  }
  if (YAML::Node h2_node = m.get("http2")) {
    YamlMap h2(h2_node, m.child_path("http2"), d);
    long long v = ep.http2.max_concurrent_streams;
    read_int(h2.get("maxConcurrentStreams"), h2.child_path("maxConcurrentStreams"), d, 1, 10000, v);
    ep.http2.max_concurrent_streams = static_cast<int>(v);
    v = ep.http2.max_decoder_header_table_size;
    read_int(h2.get("maxDecoderHeaderTableSize"), h2.child_path("maxDecoderHeaderTableSize"), d, 0,
             1 << 20, v);
    ep.http2.max_decoder_header_table_size = static_cast<int>(v);
    v = ep.http2.max_encoder_header_table_size;
    read_int(h2.get("maxEncoderHeaderTableSize"), h2.child_path("maxEncoderHeaderTableSize"), d, 0,
             1 << 20, v);
    ep.http2.max_encoder_header_table_size = static_cast<int>(v);
    read_bool(h2.get("h2c"), h2.child_path("h2c"), d, ep.http2.h2c);
    h2.finish();
  }
  if (YAML::Node udp_node = m.get("udp")) {
    YamlMap u(udp_node, m.child_path("udp"), d);
    read_duration(u.get("timeout"), u.child_path("timeout"), d, ep.udp_timeout);
    u.finish();
    if (ep.udp_timeout.count() <= 0) {
      d.add(udp_node.Mark(), "`" + u.child_path("timeout") + "` must be greater than zero");
    }
  }
  accept_unsupported(
      m, d, w,
      {{"http3", "advertisedPort"},
       {"observability", "accessLogs,metrics,tracing,traceVerbosity"},
       {"allowACMEByPass", ""},
       {"asDefault", ""}});
  // Listeners always use SO_REUSEPORT (one socket per worker): accepted, nothing to do.
  bool reuse_port = false;
  read_bool(m.get("reusePort"), m.child_path("reusePort"), d, reuse_port);
  m.finish();
}

// certificatesResolvers.<name>.acme.dnsChallenge: Traefik v3's names; the deprecated
// delayBeforeCheck and disablePropagationCheck still work, with a warning (as Traefik).
void decode_dns_challenge(const YAML::Node& node, const std::string& path, Diagnostics& d,
                          Diagnostics& w, AcmeDnsChallenge& dns) {
  YamlMap x(node, path, d);
  YAML::Node provider = x.get("provider");
  read_string(provider, x.child_path("provider"), d, dns.provider);
  read_string_list(x.get("resolvers"), x.child_path("resolvers"), d, dns.resolvers);
  Duration old_delay{0};
  if (YAML::Node n = x.get("delayBeforeCheck")) {
    read_duration(n, x.child_path("delayBeforeCheck"), d, old_delay);
    if (old_delay.count() > 0) {
      w.add(n.Mark(), "`" + x.child_path("delayBeforeCheck") +
                          "` is deprecated; use `propagation.delayBeforeChecks`");
    }
  }
  bool old_disable = false;
  if (YAML::Node n = x.get("disablePropagationCheck")) {
    read_bool(n, x.child_path("disablePropagationCheck"), d, old_disable);
    if (old_disable) {
      w.add(n.Mark(), "`" + x.child_path("disablePropagationCheck") +
                          "` is deprecated; use `propagation.disableChecks`");
    }
  }
  if (YAML::Node pn = x.get("propagation"); pn && !section_off(pn)) {
    dns.propagation = true;
    YamlMap p(pn, x.child_path("propagation"), d);
    read_bool(p.get("disableChecks"), p.child_path("disableChecks"), d, dns.disable_checks);
    read_bool(p.get("disableANSChecks"), p.child_path("disableANSChecks"), d,
              dns.disable_ans_checks);
    read_bool(p.get("requireAllRNS"), p.child_path("requireAllRNS"), d, dns.require_all_rns);
    read_duration(p.get("delayBeforeChecks"), p.child_path("delayBeforeChecks"), d,
                  dns.delay_before_checks);
    p.finish();
  }
  if (old_disable) {
    dns.propagation = true;
    dns.disable_checks = true;
  }
  if (old_delay.count() > 0) {
    dns.propagation = true;
    dns.delay_before_checks = old_delay;
  }
  x.finish();
  std::string supported;
  bool known = false;
  for (const char* p : kDnsProviders) {
    supported += (supported.empty() ? "" : ", ") + std::string(p);
    known = known || dns.provider == p;
  }
  if (dns.provider == "dnsupdate") {
    known = true;  // lego v5's name for rfc2136
    dns.provider = "rfc2136";
  }
  if (dns.provider.empty()) {
    d.add(node.Mark(), "`" + x.child_path("provider") + "` is required (one of " + supported + ")");
  } else if (!known) {
    d.add(provider.Mark(), "`" + x.child_path("provider") + "`: DNS provider `" + dns.provider +
                               "` is not supported by portier (supported: " + supported + ")");
  }
}

// certificatesResolvers.<name>: false when the resolver cannot run in portier (tailscale): it is
// then reported and left out, and routers naming it say so.
bool decode_resolver(const YAML::Node& node, const std::string& path, Diagnostics& d,
                     Diagnostics& w, AcmeResolver& r) {
  YamlMap top(node, path, d);
  YAML::Node acme = top.get("acme");
  if (YAML::Node ts = top.get("tailscale"); ts && !section_off(ts)) {
    w.add(ts.Mark(), "`" + top.child_path("tailscale") +
                         "` is not supported yet; the resolver is not started");
    top.finish();
    return false;
  }
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
  const bool has_http = hc && !section_off(hc);
  {
    YamlMap h(hc, m.child_path("httpChallenge"), d);
    read_string(h.get("entryPoint"), h.child_path("entryPoint"), d, r.http_challenge_entrypoint);
    read_duration(h.get("delay"), h.child_path("delay"), d, r.http_challenge_delay);
    h.finish();
  }
  // tlsChallenge: {} in a file, tlschallenge=true on the command line.
  YAML::Node tc = m.get("tlsChallenge");
  r.tls_challenge = tc && !section_off(tc);
  if (r.tls_challenge && tc.IsMap()) {
    YamlMap t(tc, m.child_path("tlsChallenge"), d);
    read_duration(t.get("delay"), t.child_path("delay"), d, r.tls_challenge_delay);
    t.finish();
  }
  YAML::Node dc = m.get("dnsChallenge");
  const bool has_dns = dc && !section_off(dc);
  if (has_dns) decode_dns_challenge(dc, m.child_path("dnsChallenge"), d, w, r.dns_challenge);
  decode_acme_portier(m, d, r);
  accept_unsupported(m, d, w,
                     {{"profile", ""},
                      {"emailAddresses", ""},
                      {"disableCommonName", ""},
                      {"clientTimeout", ""},
                      {"clientResponseHeaderTimeout", ""},
                      {"certificateTimeout", ""},
                      {"caSystemCertPool", ""},
                      {"caServerName", ""}});
  m.finish();
  top.finish();
  static const char* kKeyTypes[] = {"EC256", "EC384", "RSA2048", "RSA4096", "RSA8192"};
  bool known = false;
  for (const char* k : kKeyTypes) known = known || r.key_type == k;
  if (!known) {
    d.add(acme.Mark(), "`" + m.child_path("keyType") +
                           "` must be one of EC256, EC384, RSA2048, "
                           "RSA4096, RSA8192");
  }
  if (!acme) return false;
  if (!has_http && !r.tls_challenge && !has_dns) {
    d.add(acme.Mark(), "`" + top.child_path("acme") +
                           "` needs a challenge: httpChallenge.entryPoint, tlsChallenge or "
                           "dnsChallenge.provider");
  } else if (has_http && r.http_challenge_entrypoint.empty()) {
    d.add(acme.Mark(), "`" + m.child_path("httpChallenge.entryPoint") +
                           "` is required (the plain-HTTP entrypoint Let's Encrypt reaches)");
  }
  return true;
}

void decode_servers_transport(const YAML::Node& node, Diagnostics& d, Diagnostics& w,
                              ServersTransport& st) {
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
  accept_unsupported(ft, d, w, {{"readIdleTimeout", ""}, {"pingTimeout", ""}});
  ft.finish();
  read_bool(m.get("insecureSkipVerify"), m.child_path("insecureSkipVerify"), d,
            st.insecure_skip_verify);
  read_string_list(m.get("rootCAs"), m.child_path("rootCAs"), d, st.root_cas);
  accept_unsupported(m, d, w, {{"spiffe", "ids,trustDomain"}});
  m.finish();
}

void decode_file_provider(const YAML::Node& node, Diagnostics& d, Diagnostics& w,
                          FileProvider& fp) {
  YamlMap f(node, "providers.file", d);
  read_string(f.get("filename"), "providers.file.filename", d, fp.filename);
  read_string(f.get("directory"), "providers.file.directory", d, fp.directory);
  read_bool(f.get("watch"), "providers.file.watch", d, fp.watch);
  accept_unsupported(f, d, w, {{"debugLogGeneratedTemplate", ""}});
  f.finish();
  if (fp.filename.empty() == fp.directory.empty()) {
    d.add(node.Mark(), "`providers.file` needs exactly one of filename or directory");
  }
}

// providers.docker and providers.swarm: the same keys, but for swarm's refreshSeconds.
void decode_docker_provider(const YAML::Node& node, Diagnostics& d, Diagnostics& w,
                            DockerProvider& dp, const std::string& path) {
  YamlMap dm(node, path, d);
  auto key = [&](const char* k) { return path + "." + k; };
  read_string(dm.get("endpoint"), key("endpoint"), d, dp.endpoint);
  read_bool(dm.get("exposedByDefault"), key("exposedByDefault"), d, dp.exposed_by_default);
  read_string(dm.get("defaultRule"), key("defaultRule"), d, dp.default_rule);
  read_string(dm.get("network"), key("network"), d, dp.network);
  read_bool(dm.get("allowEmptyServices"), key("allowEmptyServices"), d, dp.allow_empty_services);
  read_string(dm.get("constraints"), key("constraints"), d, dp.constraints);
  if (YAML::Node tls_node = dm.get("tls"); !section_off(tls_node)) {
    ClientTls t;
    YamlMap tm(tls_node, key("tls"), d);
    read_string(tm.get("ca"), key("tls.ca"), d, t.ca);
    read_string(tm.get("cert"), key("tls.cert"), d, t.cert);
    read_string(tm.get("key"), key("tls.key"), d, t.key);
    read_bool(tm.get("insecureSkipVerify"), key("tls.insecureSkipVerify"), d,
              t.insecure_skip_verify);
    tm.finish();
    dp.tls = t;
  }
  read_string_list(dm.get("labelPrefixes"), key("labelPrefixes"), d, dp.label_prefixes);
  read_bool(dm.get("watch"), key("watch"), d, dp.watch);
  read_duration(dm.get("httpClientTimeout"), key("httpClientTimeout"), d, dp.http_client_timeout);
  if (path == "providers.swarm") {
    read_duration(dm.get("refreshSeconds"), key("refreshSeconds"), d, dp.refresh_seconds);
  }
  accept_unsupported(dm, d, w, {{"useBindPortIP", ""}, {"username", ""}, {"password", ""}});
  dm.finish();
}

void decode_providers(const YAML::Node& node, Diagnostics& d, Diagnostics& w, Providers& out) {
  YamlMap p(node, "providers", d);
  read_duration(p.get("providersThrottleDuration"), "providers.providersThrottleDuration", d,
                out.providers_throttle_duration);
  if (YAML::Node n = p.get("file"); !section_off(n))
    decode_file_provider(n, d, w, out.file.emplace());
  if (YAML::Node n = p.get("docker"); !section_off(n)) {
    decode_docker_provider(n, d, w, out.docker.emplace(), "providers.docker");
  }
  if (YAML::Node n = p.get("swarm"); !section_off(n)) {
    decode_docker_provider(n, d, w, out.swarm.emplace(), "providers.swarm");
  }
  // Traefik's other providers: known, not there yet. Their own keys are not checked.
  accept_unsupported(p, d, w,
                     {{"precedence", ""},
                      {"kubernetesIngress", ""},
                      {"kubernetesIngressNGINX", ""},
                      {"kubernetesCRD", ""},
                      {"kubernetesGateway", ""},
                      {"knative", ""},
                      {"rest", ""},
                      {"consulCatalog", ""},
                      {"nomad", ""},
                      {"ecs", ""},
                      {"consul", ""},
                      {"etcd", ""},
                      {"zooKeeper", ""},
                      {"redis", ""},
                      {"http", ""},
                      {"plugin", ""}});
  p.finish();
}

void decode_log(const YAML::Node& node, Diagnostics& d, Diagnostics& w, Log& log) {
  YamlMap l(node, "log", d);
  if (YAML::Node n = l.get("level")) {
    read_string(n, "log.level", d, log.level);
    std::string v = detail::lower_ascii(log.level);
    if (v == "trace") v = "debug";  // Traefik's levels below and above portier's
    if (v == "fatal" || v == "panic") v = "error";
    if (v == "warning") v = "warn";
    if (v != "debug" && v != "info" && v != "warn" && v != "error") {
      d.add(n.Mark(), "`log.level` must be one of trace, debug, info, warn, error, fatal, panic");
    }
    log.level = v;
  }
  if (YAML::Node n = l.get("format")) {
    read_string(n, "log.format", d, log.format);
    log.format = detail::lower_ascii(log.format);
    if (log.format != "common" && log.format != "json") {
      d.add(n.Mark(), "`log.format` must be common or json");
    }
  }
  read_string(l.get("filePath"), "log.filePath", d, log.file_path);
  read_bool(l.get("noColor"), "log.noColor", d, log.no_color);
  read_int(l.get("maxSize"), "log.maxSize", d, 0, 1 << 20, log.max_size);
  read_int(l.get("maxBackups"), "log.maxBackups", d, 0, 1 << 20, log.max_backups);
  read_int(l.get("maxAge"), "log.maxAge", d, 0, 1 << 20, log.max_age);
  read_bool(l.get("compress"), "log.compress", d, log.compress);
  accept_unsupported(l, d, w,
                     {{"otlp", std::string("serviceName,resourceAttributes{*},grpc{") + kOtelGrpc +
                                   "},http{" + kOtelHttp + "}"}});
  l.finish();
}

// metrics: Prometheus is served; the push exporters (Datadog, StatsD, InfluxDB 2, OTLP) are
// accepted with a warning.
void decode_metrics(const YAML::Node& n, Diagnostics& d, Diagnostics& w, StaticConfig& cfg) {
  if (section_off(n)) return;
  const std::string labels = "addEntryPointsLabels,addRoutersLabels,addServicesLabels";
  const std::string otel = std::string("grpc{") + kOtelGrpc + "},http{" + kOtelHttp + "}";
  check_schema(n,
               "addInternals,prometheus{buckets,entryPoint,manualRouting,headerLabels{*}," +
                   labels + "},datadog{address,pushInterval,prefix," + labels +
                   "},statsD{address,pushInterval,prefix," + labels +
                   "},influxDB2{address,token,pushInterval,org,bucket,additionalLabels{*}," +
                   labels + "},otlp{" + otel +
                   ",explicitBoundaries,pushInterval,serviceName,resourceAttributes{*}," + labels +
                   "}",
               "metrics", d);
  Metrics out;
  YamlMap mm(n, "metrics", d);
  read_bool(mm.get("addInternals"), "metrics.addInternals", d, out.add_internals);
  for (const char* other : {"datadog", "statsD", "influxDB2", "otlp"}) {
    if (YAML::Node o = mm.get(other); !section_off(o)) {
      w.add(o.Mark(), std::string("`metrics.") + other +
                          "` is not supported yet; accepted and ignored (metrics.prometheus is)");
    }
  }
  if (YAML::Node pn = mm.get("prometheus"); !section_off(pn)) {
    Prometheus p;
    YamlMap pm(pn, "metrics.prometheus", d);
    if (YAML::Node b = pm.get("buckets"); b && !b.IsNull()) {
      std::vector<std::string> items;
      if (read_string_list(b, "metrics.prometheus.buckets", d, items)) {
        p.buckets.clear();
        for (const auto& item : items) {
          char* end = nullptr;
          const double v = std::strtod(item.c_str(), &end);
          if (item.empty() || *end != '\0' || !(v > 0) || v > 1e6) {
            d.add(b.Mark(), "`metrics.prometheus.buckets` must be positive numbers of seconds "
                            "(got `" + item + "`)");
            break;
          }
          p.buckets.push_back(v);
        }
        std::sort(p.buckets.begin(), p.buckets.end());
        p.buckets.erase(std::unique(p.buckets.begin(), p.buckets.end()), p.buckets.end());
        if (p.buckets.size() > 14) {
          d.add(b.Mark(), "`metrics.prometheus.buckets`: at most 14 buckets");
        }
      }
    }
    read_bool(pm.get("addEntryPointsLabels"), "metrics.prometheus.addEntryPointsLabels", d,
              p.add_entrypoints_labels);
    read_bool(pm.get("addRoutersLabels"), "metrics.prometheus.addRoutersLabels", d,
              p.add_routers_labels);
    read_bool(pm.get("addServicesLabels"), "metrics.prometheus.addServicesLabels", d,
              p.add_services_labels);
    read_string(pm.get("entryPoint"), "metrics.prometheus.entryPoint", d, p.entry_point);
    read_bool(pm.get("manualRouting"), "metrics.prometheus.manualRouting", d, p.manual_routing);
    if (YAML::Node h = pm.get("headerLabels"); !section_off(h)) {
      w.add(h.Mark(), "`metrics.prometheus.headerLabels` is not supported yet; accepted and ignored");
    }
    pm.finish();
    // As for ping: the default `traefik` entrypoint is made on 127.0.0.1:8080 when missing.
    if (!p.manual_routing && !cfg.entry_points.count(p.entry_point)) {
      if (p.entry_point == "traefik") {
        cfg.entry_points["traefik"].address = "127.0.0.1:8080";
      } else {
        d.add(pn.Mark(), "metrics.prometheus.entryPoint: no entrypoint `" + p.entry_point + "`");
      }
    }
    out.prometheus = p;
  }
  mm.finish();
  cfg.metrics = out;
}

// accessLog (access_log_decode.cc), metrics (above); tracing: Traefik's keys checked, nothing
// served yet.
void decode_observability(YamlMap& m, Diagnostics& d, Diagnostics& w, StaticConfig& cfg) {
  const std::string otel = std::string("grpc{") + kOtelGrpc + "},http{" + kOtelHttp + "}";
  if (YAML::Node n = m.get("accessLog"); !section_off(n)) {
    detail::decode_access_log(n, d, w, cfg.access_log.emplace());
  }
  decode_metrics(m.get("metrics"), d, w, cfg);
  if (YAML::Node n = m.get("tracing"); !section_off(n)) {
    check_schema(n,
                 "serviceName,resourceAttributes{*},capturedRequestHeaders,"
                 "capturedResponseHeaders,safeQueryParams,sampleRate,addInternals,"
                 "globalAttributes{*},otlp{" +
                     otel + "}",
                 "tracing", d);
    w.add(n.Mark(), "`tracing` is not supported yet; accepted and ignored");
    cfg.tracing = Tracing{};
  }
}

}  // namespace

Result<StaticConfig> decode_static_yaml(const std::string& text, const std::string& file) {
  Diagnostics d(file);
  auto root = parse_yaml(text, d);
  if (!root) return root.error();
  return decode_static_node(*root, file);
}

Result<StaticConfig> decode_static_node(const YAML::Node& root, const std::string& file) {
  Diagnostics d(file);
  Diagnostics w(file);
  StaticConfig cfg;
  YamlMap m(root, "", d);
  for (auto& [name, node] : YamlMap(m.get("entryPoints"), "entryPoints", d).entries()) {
    decode_entrypoint(node, "entryPoints." + name, d, w, cfg.entry_points[name]);
  }
  // Traefik's default when none is defined: `http` on :80 (SetEffectiveConfiguration).
  if (cfg.entry_points.empty()) cfg.entry_points["http"].address = ":80";
  for (auto& [name, node] :
       YamlMap(m.get("certificatesResolvers"), "certificatesResolvers", d).entries()) {
    AcmeResolver r;
    if (decode_resolver(node, "certificatesResolvers." + name, d, w, r)) {
      cfg.certificates_resolvers[name] = std::move(r);
    }
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
  decode_servers_transport(m.get("serversTransport"), d, w, cfg.servers_transport);
  decode_providers(m.get("providers"), d, w, cfg.providers);
  if (YAML::Node api_node = m.get("api"); !section_off(api_node)) {
    Api api;
    YamlMap a(api_node, "api", d);
    read_bool(a.get("insecure"), "api.insecure", d, api.insecure);
    read_bool(a.get("dashboard"), "api.dashboard", d, api.dashboard);
    read_bool(a.get("debug"), "api.debug", d, api.debug);
    read_string(a.get("basePath"), "api.basePath", d, api.base_path);
    read_string(a.get("dashboardName"), "api.dashboardName", d, api.dashboard_name);
    if (api.base_path.empty() || api.base_path.front() != '/') {
      d.add(api_node.Mark(), "`api.basePath` must start with /");
    } else if (api.base_path != "/") {
      w.add(a.get("basePath").Mark(),
            "`api.basePath` is not supported yet; the API is served at /");
    }
    accept_unsupported(a, d, w, {{"debug", ""}, {"disableDashboardAd", ""}});
    a.finish();
    cfg.api = api;
  }
  decode_log(m.get("log"), d, w, cfg.log);
  if (YAML::Node n = m.get("ping"); !section_off(n)) {
    Ping p;
    YamlMap pm(n, "ping", d);
    read_string(pm.get("entryPoint"), "ping.entryPoint", d, p.entry_point);
    read_bool(pm.get("manualRouting"), "ping.manualRouting", d, p.manual_routing);
    long long code = p.terminating_status_code;
    read_int(pm.get("terminatingStatusCode"), "ping.terminatingStatusCode", d, 100, 599, code);
    p.terminating_status_code = static_cast<int>(code);
    pm.finish();
    // ping on `traefik` (its default) needs that entrypoint: made when the configuration has
    // none, as Traefik's SetEffectiveConfiguration does, but on 127.0.0.1:8080 (Traefik: :8080):
    // portier keeps its internal listeners on loopback unless told otherwise, as for
    // api.insecure. `traefik` is never a default entrypoint of routers.
    if (!p.manual_routing && !cfg.entry_points.count(p.entry_point)) {
      if (p.entry_point == "traefik") {
        cfg.entry_points["traefik"].address = "127.0.0.1:8080";
      } else {
        d.add(n.Mark(), "ping.entryPoint: no entrypoint `" + p.entry_point + "`");
      }
    }
    cfg.ping = p;
  }
  decode_observability(m, d, w, cfg);
  // Accepted with no effect: portier never calls home.
  if (YAML::Node g = m.get("global")) {
    check_schema(g, "checkNewVersion,sendAnonymousUsage,notAppendXForwardedFor", "global", d);
  }
  accept_unsupported(
      m, d, w,
      {{"hostResolver", "cnameFlattening,resolvConfig,resolvDepth"},
       {"experimental",
        "plugins{*{moduleName,version,settings}},localPlugins{*{moduleName,settings}},"
        "abortOnPluginFailure,fastProxy{debug},otlplogs,knative,kubernetesIngressNGINX,"
        "kubernetesGateway"},
       {"tcpServersTransport",
        "dialKeepAlive,dialTimeout,terminationDelay,tls{insecureSkipVerify,rootCAs,"
        "spiffe{ids,trustDomain}}"},
       {"spiffe", "workloadAPIAddr"},
       {"ocsp", "responderOverrides{*}"},
       {"core", "defaultRuleSyntax"}});
  // A file read by both sides: the dynamic sections belong to the file provider.
  for (const char* dynamic : {"http", "tcp", "udp", "tls"}) m.get(dynamic);
  m.finish();
  if (!d.empty()) return Error{d.str()};
  cfg.warnings = w.lines();
  return cfg;
}

Result<StaticConfig> load_static_file(const std::string& path) {
  auto text = read_file(path);
  if (!text) return text.error();
  return decode_static_yaml(*text, path);
}

}  // namespace portier::config
