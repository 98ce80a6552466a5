#include "config/static_sources.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>

#include "common/ascii.h"
#include "config/decode.h"
#include "config/toml.h"

namespace portier::config {
namespace {

std::vector<std::string> split_key(const std::string& key, char sep) {
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (i <= key.size()) {
    std::size_t j = std::min(key.find(sep, i), key.size());
    parts.push_back(key.substr(i, j - i));
    i = j + 1;
  }
  return parts;
}

bool is_bool(const std::string& v) {
  const std::string l = ascii_lower(v);
  return l == "true" || l == "false";
}

// Sets root[k0][k1]...[kn] = value, reusing existing keys case-insensitively. Merging is key by
// key: `true` on a section that is already a mapping keeps it as it is (an enable never resets
// a section); `false` disables it; a key below a section that was `true` or `false` makes it a
// mapping again.
void set_path(YAML::Node node, const std::vector<std::string>& keys, std::size_t i,
              const std::string& value) {
  std::string key = keys[i];
  if (node.IsMap()) {
    for (const auto& kv : node) {
      if (ascii_lower(kv.first.Scalar()) == ascii_lower(key)) key = kv.first.Scalar();
    }
  }
  if (i + 1 == keys.size()) {
    if (node[key].IsMap() && ascii_lower(value) == "true") return;
    // Rebind rather than assign: assigning a scalar to a mapping node keeps its children.
    node[key] = YAML::Node(value);
    return;
  }
  if (!node[key].IsMap()) node[key] = YAML::Node(YAML::NodeType::Map);
  set_path(node[key], keys, i + 1, value);
}

// One source's keys in the order they apply: values first, as given (the last of a repeated
// key wins), then true/false, deepest first, so that `--providers.docker=false` disables the
// section whatever the order of the flags, and `--providers.docker` never undoes a key.
std::vector<KeyValue> apply_order(const std::vector<KeyValue>& source) {
  std::vector<KeyValue> out;
  for (const auto& kv : source) {
    if (!is_bool(kv.second)) out.push_back(kv);
  }
  std::vector<KeyValue> bools;
  for (const auto& kv : source) {
    if (is_bool(kv.second)) bools.push_back(kv);
  }
  std::stable_sort(bools.begin(), bools.end(), [](const KeyValue& a, const KeyValue& b) {
    return std::count(a.first.begin(), a.first.end(), '.') >
           std::count(b.first.begin(), b.first.end(), '.');
  });
  out.insert(out.end(), bools.begin(), bools.end());
  return out;
}

}  // namespace

Result<std::vector<KeyValue>> flags_to_keys(const std::vector<std::string>& args) {
  std::vector<KeyValue> out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--", 0) != 0 || a.size() == 2) {
      return Error{"unexpected argument `" + a +
                   "` (options look like --entryPoints.web.address=:80)"};
    }
    std::string body = a.substr(2);
    auto eq = body.find('=');
    if (eq != std::string::npos) {
      out.emplace_back(body.substr(0, eq), body.substr(eq + 1));
    } else if (i + 1 < args.size() && args[i + 1].rfind("--", 0) != 0) {
      out.emplace_back(body, args[++i]);
    } else {
      out.emplace_back(body, "true");
    }
  }
  return out;
}

std::vector<KeyValue> env_to_keys(const std::vector<std::string>& environ_lines) {
  static const std::vector<std::string> kSections = {"entrypoints",
                                                     "serverstransport",
                                                     "providers",
                                                     "api",
                                                     "log",
                                                     "configfile",
                                                     "certificatesresolvers",
                                                     "global",
                                                     "accesslog",
                                                     "ping",
                                                     "metrics",
                                                     "tracing",
                                                     "experimental",
                                                     "hostresolver",
                                                     "tcpserverstransport",
                                                     "spiffe",
                                                     "ocsp",
                                                     "core"};
  std::vector<KeyValue> out;
  // TRAEFIK_* first so that PORTIER_* wins when both set a key.
  for (std::string_view prefix : {"TRAEFIK_", "PORTIER_"}) {
    for (const auto& line : environ_lines) {
      if (line.rfind(prefix, 0) != 0) continue;
      auto eq = line.find('=');
      if (eq == std::string::npos) continue;
      std::string key = ascii_lower(line.substr(prefix.size(), eq - prefix.size()));
      std::replace(key.begin(), key.end(), '_', '.');
      const std::string first = key.substr(0, key.find('.'));
      if (std::find(kSections.begin(), kSections.end(), first) == kSections.end()) continue;
      out.emplace_back(key, line.substr(eq + 1));
    }
  }
  return out;
}

Result<StaticConfig> decode_static_sources(const std::string& file, const std::string& file_text,
                                           const std::vector<KeyValue>& env,
                                           const std::vector<KeyValue>& flags) {
  YAML::Node root;
  if (is_toml_path(file)) {
    auto t = parse_toml(file_text, file);
    if (!t) return t.error();
    root = *t;
  } else {
    try {
      root = file_text.empty() ? YAML::Node(YAML::NodeType::Map) : YAML::Load(file_text);
    } catch (const YAML::Exception& e) {
      return decode_static_yaml(file_text, file);  // reports the syntax error with its location
    }
  }
  if (!root.IsMap() && !root.IsNull()) return decode_static_yaml(file_text, file);
  if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  for (const auto* source : {&env, &flags}) {
    for (const auto& [key, value] : apply_order(*source)) {
      auto keys = split_key(key, '.');
      if (std::any_of(keys.begin(), keys.end(), [](const std::string& k) { return k.empty(); })) {
        return Error{"invalid option name `" + key + "`"};
      }
      // configFile is the option that found the file, not a key of it.
      if (ascii_lower(key) == "configfile") continue;
      set_path(root, keys, 0, value);
    }
  }
  // Decoded from the tree itself, so keys from the file keep their file:line:column.
  return decode_static_node(root, file.empty() ? "(flags and environment)" : file);
}

const std::vector<OptionDoc>& static_options() {
  static const std::vector<OptionDoc> options = {
      {"entryPoints.<name>.address", "",
       "listen address, [host]:port (\":80\", \"127.0.0.1:8000\"); with no entrypoint at all, "
       "`http` listens on :80"},
      {"entryPoints.<name>.maxHeaderBytes", "16384", "request head limit in bytes (431 above)"},
      {"entryPoints.<name>.http.maxHeaderBytes", "16384", "Traefik's name for maxHeaderBytes"},
      {"entryPoints.<name>.reusePort", "false", "accepted; listeners always use SO_REUSEPORT"},
      {"entryPoints.<name>.http2.maxConcurrentStreams", "250",
       "HTTP/2 streams a client may have open at once on a connection"},
      {"entryPoints.<name>.http2.maxDecoderHeaderTableSize", "4096",
       "HPACK table size the client may use for what it sends"},
      {"entryPoints.<name>.http2.maxEncoderHeaderTableSize", "4096",
       "largest HPACK table portier uses for responses"},
      {"entryPoints.<name>.http2.h2c", "true",
       "plain-HTTP connections opening with the HTTP/2 preface speak HTTP/2 (portier's option)"},
      {"entryPoints.<name>.transport.respondingTimeouts.readHeaderTimeout", "10s",
       "time to receive a request head"},
      {"entryPoints.<name>.transport.respondingTimeouts.readTimeout", "60s",
       "longest wait for request body bytes"},
      {"entryPoints.<name>.transport.respondingTimeouts.writeTimeout", "60s",
       "longest stall of a write to the client (0: none)"},
      {"entryPoints.<name>.transport.respondingTimeouts.idleTimeout", "180s",
       "keep-alive idle time between requests"},
      {"entryPoints.<name>.transport.lifeCycle.graceTimeOut", "10s",
       "time in-flight requests get on shutdown"},
      {"entryPoints.<name>.transport.lifeCycle.requestAcceptGraceTimeout", "0s",
       "after a stop signal, keep accepting requests this long (ping answers 503)"},
      {"entryPoints.<name>.forwardedHeaders.trustedIPs", "",
       "IPs/CIDRs whose X-Forwarded-* are kept"},
      {"entryPoints.<name>.forwardedHeaders.insecure", "false",
       "trust X-Forwarded-* from everyone"},
      {"entryPoints.<name>.udp.timeout", "3s",
       "a UDP session ends after this long without a datagram (address `:53/udp`)"},
      {"entryPoints.<name>.proxyProtocol.trustedIPs", "",
       "IPs/CIDRs whose PROXY protocol header (v1, v2) gives the client address"},
      {"entryPoints.<name>.proxyProtocol.insecure", "false",
       "accept a PROXY protocol header from every peer"},
      {"entryPoints.<name>.http.tls", "",
       "TLS for every router on this entrypoint (true, or certResolver/options/domains)"},
      {"entryPoints.<name>.http.tls.certResolver", "", "resolver for the routers' certificates"},
      {"entryPoints.<name>.http.tls.options", "", "tls.options name for the routers"},
      {"entryPoints.<name>.http.sanitizePath", "true",
       "remove dot segments and empty segments from request paths (route and forward the result)"},
      {"entryPoints.<name>.http.encodedCharacters.allowEncodedSlash", "false",
       "allow %2F in request paths (else 400)"},
      {"entryPoints.<name>.http.encodedCharacters.allowEncodedBackSlash", "false",
       "allow %5C in request paths (else 400)"},
      {"entryPoints.<name>.http.encodedCharacters.allowEncodedNullCharacter", "false",
       "allow %00 in request paths (else 400)"},
      {"entryPoints.<name>.http.encodedCharacters.allowEncodedSemicolon", "false",
       "allow %3B in request paths (else 400)"},
      {"entryPoints.<name>.http.encodedCharacters.allowEncodedPercent", "false",
       "allow %25 in request paths (else 400)"},
      {"entryPoints.<name>.http.encodedCharacters.allowEncodedQuestionMark", "false",
       "allow %3F in request paths (else 400)"},
      {"entryPoints.<name>.http.encodedCharacters.allowEncodedHash", "false",
       "allow %23 in request paths (else 400)"},
      {"entryPoints.<name>.http.middlewares", "",
       "middlewares put in front of every router on this entrypoint (name@provider)"},
      {"entryPoints.<name>.http.underscoreHeadersStrategy", "delete",
       "request fields with '_' in the name: keep, delete (unseen by rules and servers) or reject "
       "(400)"},
      {"entryPoints.<name>.http.redirections.entryPoint.to", "",
       "redirect every request to this entrypoint (name or :port), except ACME challenges"},
      {"entryPoints.<name>.http.redirections.entryPoint.scheme", "https", "scheme redirected to"},
      {"entryPoints.<name>.http.redirections.entryPoint.permanent", "true",
       "301/308 (true) or 302/307 (false)"},
      {"entryPoints.<name>.http.redirections.entryPoint.priority", "",
       "priority among routers (default: above all)"},
      {"certificatesResolvers.<name>.acme.email", "", "account contact"},
      {"certificatesResolvers.<name>.acme.storage", "acme.json",
       "certificates and account: a file (Traefik's format, mode 0600) or "
       "redis[s]://[user:password@]host:port/db?prefix=... shared by several instances"},
      {"certificatesResolvers.<name>.acme.caServer",
       "https://acme-v02.api.letsencrypt.org/directory", "ACME directory URL"},
      {"certificatesResolvers.<name>.acme.caCertificates", "",
       "PEM files to trust for caServer (private CAs, Pebble)"},
      {"certificatesResolvers.<name>.acme.keyType", "EC256",
       "certificate key: EC256, EC384, RSA2048, RSA4096, RSA8192"},
      {"certificatesResolvers.<name>.acme.httpChallenge.entryPoint", "",
       "plain-HTTP entrypoint answering HTTP-01 challenges"},
      {"certificatesResolvers.<name>.acme.httpChallenge.delay", "0",
       "wait after publishing an HTTP-01 token, before validation"},
      {"certificatesResolvers.<name>.acme.tlsChallenge", "",
       "true: answer TLS-ALPN-01 challenges (acme-tls/1) on the TLS entrypoints"},
      {"certificatesResolvers.<name>.acme.dnsChallenge.provider", "",
       "DNS-01 provider: rfc2136, exec, httpreq, cloudflare (settings from lego's env vars)"},
      {"certificatesResolvers.<name>.acme.dnsChallenge.resolvers", "",
       "recursive DNS servers for DNS-01 checks (default: /etc/resolv.conf)"},
      {"certificatesResolvers.<name>.acme.dnsChallenge.propagation.delayBeforeChecks", "0",
       "wait after setting the TXT record, before checking it"},
      {"certificatesResolvers.<name>.acme.dnsChallenge.propagation.disableChecks", "false",
       "do not check that the TXT record is visible"},
      {"certificatesResolvers.<name>.acme.dnsChallenge.propagation.disableANSChecks", "false",
       "do not ask the zone's authoritative servers"},
      {"certificatesResolvers.<name>.acme.dnsChallenge.propagation.requireAllRNS", "false",
       "ask every recursive server (resolvers) too"},
      {"certificatesResolvers.<name>.acme.certificatesDuration", "2160",
       "hours; renewal timing for a certificate whose dates give no lifetime (else a third of "
       "its real lifetime before expiry)"},
      {"certificatesResolvers.<name>.acme.onDemand.ask", "",
       "order a certificate at the first handshake for a name no router lists, when GET "
       "<ask>?domain=<name> answers 200 (enables onDemand)"},
      {"certificatesResolvers.<name>.acme.onDemand.interval", "1m", "on-demand rate limit window"},
      {"certificatesResolvers.<name>.acme.onDemand.burst", "10",
       "on-demand orders per window (whole resolver, per instance)"},
      {"certificatesResolvers.<name>.acme.onDemand.wait", "5s",
       "how long a handshake waits for its on-demand certificate (then the default)"},
      {"certificatesResolvers.<name>.acme.preferredChain", "",
       "issuer common name of the chain to prefer"},
      {"certificatesResolvers.<name>.acme.eab.kid", "", "external account binding key id"},
      {"certificatesResolvers.<name>.acme.eab.hmacEncoded", "",
       "external account binding HMAC key (base64url)"},
      {"serversTransport.insecureSkipVerify", "false",
       "https:// servers: do not verify their certificates"},
      {"serversTransport.rootCAs", "",
       "CA files (comma-separated) trusted for https:// servers; default: the system's bundle"},
      {"serversTransport.maxIdleConnsPerHost", "200",
       "idle upstream connections per server, per worker"},
      {"serversTransport.forwardingTimeouts.dialTimeout", "30s", "upstream connect timeout"},
      {"serversTransport.forwardingTimeouts.responseHeaderTimeout", "60s",
       "wait for the response head, then between body reads (0: none)"},
      {"serversTransport.forwardingTimeouts.idleConnTimeout", "90s",
       "idle upstream connection lifetime"},
      {"providers.providersThrottleDuration", "100ms", "coalesce configuration changes"},
      {"providers.file.filename", "", "dynamic configuration file"},
      {"providers.file.directory", "", "directory of dynamic configuration files"},
      {"providers.file.watch", "true", "reload on change"},
      {"providers.docker", "", "enable the Docker provider (bare flag or =true keeps other keys)"},
      {"providers.docker.endpoint", "unix:///var/run/docker.sock",
       "Docker Engine API (unix:// or tcp://)"},
      {"providers.docker.exposedByDefault", "true", "route containers without an enable label"},
      {"providers.docker.defaultRule", "Host(`{{ normalize .Name }}`)",
       "rule of a container's default router (Go template subset)"},
      {"providers.docker.network", "", "network whose address is used (default: the first)"},
      {"providers.docker.allowEmptyServices", "false", "keep services with no healthy container"},
      {"providers.docker.constraints", "",
       "Label(`k`, `v`) / LabelRegex expression selecting containers"},
      {"providers.docker.tls.ca", "", "CA to verify a tcp:// Engine with (enables HTTPS)"},
      {"providers.docker.tls.cert", "", "client certificate for a tcp:// Engine"},
      {"providers.docker.tls.key", "", "client key for a tcp:// Engine"},
      {"providers.docker.tls.insecureSkipVerify", "false",
       "do not verify the Engine's certificate"},
      {"providers.docker.labelPrefixes", "portier,traefik", "label prefixes read, first wins"},
      {"providers.docker.watch", "true", "follow Engine events (false: read the containers once)"},
      {"providers.docker.httpClientTimeout", "0",
       "bound on each Engine API call, the event stream excepted (0: 10s)"},
      {"providers.swarm", "",
       "enable the Swarm provider: services' deploy labels (bare flag or =true keeps other keys)"},
      {"providers.swarm.endpoint", "unix:///var/run/docker.sock",
       "a swarm manager's Engine API (unix:// or tcp://)"},
      {"providers.swarm.exposedByDefault", "true", "route services without an enable label"},
      {"providers.swarm.defaultRule", "Host(`{{ normalize .Name }}`)",
       "rule of a service's default router (Go template subset)"},
      {"providers.swarm.network", "", "network whose task (or virtual) IP is used"},
      {"providers.swarm.allowEmptyServices", "false",
       "keep services with no running task (their routers answer 503)"},
      {"providers.swarm.constraints", "",
       "Label(`k`, `v`) / LabelRegex expression selecting services"},
      {"providers.swarm.refreshSeconds", "15s",
       "full re-read period, besides events and re-reads of updating services"},
      {"providers.swarm.watch", "true", "follow the swarm (false: read the services once)"},
      {"providers.swarm.httpClientTimeout", "0",
       "bound on each Engine API call, the event stream excepted (0: 10s)"},
      {"providers.swarm.tls.ca", "", "CA to verify a tcp:// Engine with (enables HTTPS)"},
      {"providers.swarm.tls.cert", "", "client certificate for a tcp:// Engine"},
      {"providers.swarm.tls.key", "", "client key for a tcp:// Engine"},
      {"providers.swarm.tls.insecureSkipVerify", "false", "do not verify the Engine's certificate"},
      {"providers.swarm.labelPrefixes", "portier,traefik", "label prefixes read, first wins"},
      {"api.insecure", "false",
       "serve the admin API on entryPoints.traefik.address (default 127.0.0.1:8080)"},
      {"api", "", "enable the API (bare flag, =true, or any api.* key)"},
      {"ping", "", "enable /ping (bare flag, =true, or any ping.* key)"},
      {"ping.entryPoint", "traefik",
       "entrypoint answering /ping (traefik: made on 127.0.0.1:8080 if missing)"},
      {"ping.manualRouting", "false", "no router: route to ping@internal yourself"},
      {"ping.terminatingStatusCode", "503", "ping's status once a stop signal came"},
      {"api.dashboard", "true", "the dashboard at /dashboard/, wherever the API is served"},
      {"api.basePath", "/", "accepted; only / is served for now"},
      {"api.dashboardName", "",
       "this instance's name in the dashboard header and the API (default: the host name)"},
      {"log.level", "info", "trace (= debug), debug, info, warn, error, fatal/panic (= error)"},
      {"log.format", "common", "common (key=value) or json"},
      {"log.filePath", "", "append the log to this file instead of stderr; reopened on SIGUSR1"},
      {"log.noColor", "false", "accepted; the log is never coloured"},
      {"log.maxSize", "0", "rotate log.filePath past this many megabytes (0: never)"},
      {"log.maxBackups", "0", "rotated files kept (0: all)"},
      {"log.maxAge", "0", "days rotated files are kept (0: any age)"},
      {"log.compress", "false", "gzip rotated files"},
      {"accessLog", "false", "enable the access log (bare flag, =true, or any accessLog.* key)"},
      {"accessLog.filePath", "",
       "append access lines to this file (stdout if empty); reopened on SIGUSR1"},
      {"accessLog.format", "common", "common (Traefik's CLF), genericCLF or json"},
      {"accessLog.bufferingSize", "0",
       "lines each worker may have waiting for the writer (0: 1024); more are dropped"},
      {"accessLog.addInternals", "false", "also log requests to @internal services"},
      {"accessLog.filters.statusCodes", "", "keep lines with these statuses (200,300-302)"},
      {"accessLog.filters.retryAttempts", "false", "keep lines of retried requests"},
      {"accessLog.filters.minDuration", "0", "keep lines of requests slower than this"},
      {"accessLog.fields.defaultMode", "keep", "keep, drop or redact every field"},
      {"accessLog.fields.names.<name>", "", "keep, drop or redact one field (ClientUsername)"},
      {"accessLog.fields.headers.defaultMode", "drop", "keep, drop or redact every header"},
      {"accessLog.fields.headers.names.<name>", "", "keep, drop or redact one header"},
      {"accessLog.fields.queryParameters.defaultMode", "keep",
       "keep or drop the query in RequestPath"},
      {"metrics.prometheus", "", "serve Prometheus metrics (bare flag, =true, or any key below)"},
      {"metrics.prometheus.entryPoint", "traefik",
       "entrypoint answering /metrics (traefik: made on 127.0.0.1:8080 if missing)"},
      {"metrics.prometheus.manualRouting", "false",
       "no router: route to prometheus@internal yourself"},
      {"metrics.prometheus.buckets", "0.1,0.3,1.2,5",
       "request duration histogram buckets, seconds"},
      {"metrics.prometheus.addEntryPointsLabels", "true", "per-entrypoint request metrics"},
      {"metrics.prometheus.addRoutersLabels", "false", "per-router request metrics"},
      {"metrics.prometheus.addServicesLabels", "true", "per-service request metrics"},
      {"metrics.addInternals", "false", "also count requests to @internal services"},
      {"global.checkNewVersion", "false", "accepted, no effect (portier never calls home)"},
      {"global.sendAnonymousUsage", "false", "accepted, no effect (portier never calls home)"},
  };
  return options;
}

}  // namespace portier::config
