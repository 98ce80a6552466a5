// Static configuration: what is fixed for the life of the process (entrypoints, providers,
// transport defaults). Plain data; decoding lives in static_decode.cc (decode.h).
//
// Field names follow Traefik v3's static configuration. Where portier adds or changes a default
// it says so here and in docs/configuration.md.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/dynamic.h"

namespace portier::config {

using Duration = std::chrono::milliseconds;

struct RespondingTimeouts {
  // portier addition: time allowed to receive a whole request head (slowloris guard).
  Duration read_header_timeout = std::chrono::seconds(10);
  // Longest wait for the next piece of a request body (Traefik: whole-request read deadline).
  Duration read_timeout = std::chrono::seconds(60);
  // Longest stall of one write to the client; 0 = none (Traefik: whole-response deadline, 0).
  Duration write_timeout = std::chrono::seconds(60);
  // Keep-alive connection idle between requests.
  Duration idle_timeout = std::chrono::seconds(180);
  bool operator==(const RespondingTimeouts&) const = default;
};

struct LifeCycle {
  // After SIGTERM, requests are still accepted this long (ping answers terminatingStatusCode),
  // so a load balancer in front sees the instance leave before it stops accepting.
  Duration request_accept_grace_timeout{0};
  Duration grace_timeout = std::chrono::seconds(10);  // in-flight requests may finish this long
  bool operator==(const LifeCycle&) const = default;
};

struct ForwardedHeaders {
  bool insecure = false;                 // trust X-Forwarded-* from every peer
  std::vector<std::string> trusted_ips;  // IPs or CIDRs whose X-Forwarded-* are kept
  bool operator==(const ForwardedHeaders&) const = default;
};

// entryPoints.<ep>.proxyProtocol: a PROXY protocol header (v1 or v2) from these peers gives
// the client address; from any other peer a header closes the connection (docs/tcp.md).
struct ProxyProtocol {
  bool insecure = false;                 // accept a header from every peer
  std::vector<std::string> trusted_ips;  // IPs or CIDRs
  bool operator==(const ProxyProtocol&) const = default;
};

// entryPoints.<ep>.http.redirections.entryPoint: every request on this entrypoint is redirected
// to another one (HTTP to HTTPS), except ACME HTTP-01 challenges.
struct EntryPointRedirect {
  std::string to;  // an entrypoint name, or ":port"
  std::string scheme = "https";
  bool permanent = true;
  int priority = 0;  // 0: above every router (Traefik: MaxInt32 - 1)
  bool operator==(const EntryPointRedirect&) const = default;
};

// entryPoints.<ep>.http.encodedCharacters: which percent-encoded characters a request path may
// carry; a refused one is answered with 400 before routing. Traefik v3.6.4 to v3.6.6 refused
// them all by default, as portier does; Traefik v3.6.7 and later allow them all by default.
struct EncodedCharacters {
  bool allow_encoded_slash = false;           // %2F
  bool allow_encoded_back_slash = false;      // %5C
  bool allow_encoded_null_character = false;  // %00
  bool allow_encoded_semicolon = false;       // %3B
  bool allow_encoded_percent = false;         // %25
  bool allow_encoded_question_mark = false;   // %3F
  bool allow_encoded_hash = false;            // %23
  bool operator==(const EncodedCharacters&) const = default;
};

// entryPoints.<ep>.http.underscoreHeadersStrategy: what happens to request fields whose names
// contain '_'. Traefik's default is Keep; portier's is Delete (nginx's underscores_in_headers off).
enum class UnderscoreHeaders { Keep, Delete, Reject };

struct EntryPointHttp {
  std::optional<EntryPointRedirect> redirect;
  std::optional<RouterTls> tls;  // TLS for every router on this entrypoint (http.tls)
  // Remove dot segments and empty segments from request paths before routing and forwarding.
  bool sanitize_path = true;
  EncodedCharacters encoded_characters;
  UnderscoreHeaders underscore_headers = UnderscoreHeaders::Delete;
  // Middlewares put in front of every router on this entrypoint (see add_entrypoint_middlewares).
  std::vector<std::string> middlewares;
  bool operator==(const EntryPointHttp&) const = default;
};

// entryPoints.<ep>.http2 (Traefik's names and defaults, plus portier's h2c switch).
struct EntryPointHttp2 {
  int max_concurrent_streams = 250;
  int max_decoder_header_table_size = 4096;  // the HPACK table the client may make us keep
  int max_encoder_header_table_size = 4096;  // the most of the client's table we use
  bool h2c = true;  // plain connections that open with the HTTP/2 preface speak HTTP/2
  bool operator==(const EntryPointHttp2&) const = default;
};

struct EntryPoint {
  std::string address;  // "[host]:port"; an empty host listens on all addresses
  RespondingTimeouts responding_timeouts;
  LifeCycle life_cycle;
  ForwardedHeaders forwarded_headers;
  std::optional<ProxyProtocol> proxy_protocol;
  // udp.timeout: a UDP session (one client address) ends after this long without a datagram
  // either way. Only used when the address ends in /udp (docs/udp.md).
  Duration udp_timeout = std::chrono::seconds(3);
  std::size_t max_header_bytes = 16 * 1024;  // portier: request head limit (431 above it)
  EntryPointHttp http;
  EntryPointHttp2 http2;
  bool operator==(const EntryPoint&) const = default;
};

struct ForwardingTimeouts {
  Duration dial_timeout = std::chrono::seconds(30);
  // Time to wait for a response head once the request is sent, and, once the response has
  // started, the longest gap between two reads of its body. 0 = none. (Traefik: 0; portier
  // defaults to 60 s like nginx's proxy_read_timeout.)
  Duration response_header_timeout = std::chrono::seconds(60);
  Duration idle_conn_timeout = std::chrono::seconds(90);
  bool operator==(const ForwardingTimeouts&) const = default;
};

struct ServersTransport {
  bool insecure_skip_verify = false;  // https:// servers: no certificate check
  std::vector<std::string> root_cas;  // trusted for https:// servers; empty: the system's
  int max_idle_conns_per_host = 200;
  ForwardingTimeouts forwarding_timeouts;
  bool operator==(const ServersTransport&) const = default;
};

struct FileProvider {
  std::string filename;
  std::string directory;
  bool watch = true;
  bool operator==(const FileProvider&) const = default;
};

struct ClientTls {
  std::string ca;    // CA bundle to verify the Engine with
  std::string cert;  // client certificate
  std::string key;   // client key
  bool insecure_skip_verify = false;
  bool operator==(const ClientTls&) const = default;
};

// providers.docker and providers.swarm (Traefik's keys are the same but for refreshSeconds).
struct DockerProvider {
  std::string endpoint = "unix:///var/run/docker.sock";
  std::optional<ClientTls> tls;  // for tcp:// endpoints: HTTPS with client certificates
  bool exposed_by_default = true;
  std::string default_rule = "Host(`{{ normalize .Name }}`)";
  std::string network;
  bool allow_empty_services = false;
  std::string constraints;  // Label(`k`, `v`) expressions selecting containers
  std::vector<std::string> label_prefixes = {"portier", "traefik"};  // portier: first wins
  bool watch = true;                // false: read once, follow nothing
  Duration http_client_timeout{0};  // each Engine call's bound (0: 10 s); not the events
  Duration refresh_seconds = std::chrono::seconds(15);  // swarm only: full re-read period
  bool operator==(const DockerProvider&) const = default;
};

struct Providers {
  // Changes from providers are applied at most this often; a burst becomes one reload (the
  // first change of a quiet period applies at once). Traefik's default is 2 s.
  Duration providers_throttle_duration = std::chrono::milliseconds(100);
  std::optional<FileProvider> file;
  std::optional<DockerProvider> docker;
  std::optional<DockerProvider> swarm;
  bool operator==(const Providers&) const = default;
};

// log: the process log (stderr, or filePath), with Traefik's (lumberjack's) size-based rotation
// of filePath when maxSize is set.
struct Log {
  std::string level = "info";     // debug, info, warn, error (Traefik's trace: debug; fatal: error)
  std::string format = "common";  // common (key=value) or json
  std::string file_path;          // "" = stderr; else appended to, reopened on SIGUSR1
  bool no_color = false;          // accepted; portier never colours its log
  // Rotation of file_path: past max_size megabytes the file is renamed name-<UTC time>.ext and a
  // new one started. 0 = never (portier; Traefik rotates at 100 MB when unset). Backups beyond
  // max_backups (0: all kept) or older than max_age days (0: any age) are removed; compress
  // gzips them (Traefik always does, whatever `compress` says).
  long long max_size = 0;
  long long max_backups = 0;
  long long max_age = 0;
  bool compress = false;
  bool operator==(const Log&) const = default;
};

// ping: /ping answered by ping@internal, on `entry_point` unless manual_routing (then only
// through a router to ping@internal).
struct Ping {
  std::string entry_point = "traefik";
  bool manual_routing = false;
  int terminating_status_code = 503;
  bool operator==(const Ping&) const = default;
};

// accessLog: one line per request, written by observability::AccessLog's own thread.
// Traefik's keys and defaults (pkg/observability/types/logs.go); see docs/configuration.md.
enum class AccessLogFormat { Common, GenericClf, Json };
// What happens to a field or header: kept, left out, or written as "REDACTED". Traefik
// redacts headers only; portier also redacts fields.
enum class AccessLogMode { Keep, Drop, Redact };

struct StatusCodeRange {
  int low = 0;
  int high = 0;  // inclusive; "404" is {404, 404}
  bool operator==(const StatusCodeRange&) const = default;
};

struct AccessLogFilters {
  std::vector<StatusCodeRange> status_codes;  // keep lines whose status is in one of them
  bool retry_attempts = false;                // keep lines of requests that were retried
  Duration min_duration{0};                   // keep lines of requests that took longer; 0: off
  bool operator==(const AccessLogFilters&) const = default;
};

struct AccessLogFields {
  AccessLogMode default_mode = AccessLogMode::Keep;
  std::map<std::string, AccessLogMode> names;  // field name, lower-cased ("clientusername")
  AccessLogMode headers_default_mode = AccessLogMode::Drop;
  // Header name in canonical form ("User-Agent"), as Go's CanonicalMIMEHeaderKey writes it.
  std::map<std::string, AccessLogMode> header_names;
  bool keep_query_parameters = true;  // queryParameters.defaultMode: keep | drop
  bool operator==(const AccessLogFields&) const = default;
};

struct AccessLog {
  std::string file_path;  // "" = stdout (Traefik's default); else appended, reopened on SIGUSR1
  AccessLogFormat format = AccessLogFormat::Common;
  // Lines each worker may have waiting for the writer thread (Traefik: lines kept in memory;
  // its 0 means unbuffered). portier: 0 means 1024; at least 16, rounded up to a power of 2.
  long long buffering_size = 0;
  bool add_internals = false;  // also log requests answered by @internal services
  AccessLogFilters filters;
  AccessLogFields fields;
  bool operator==(const AccessLog&) const = default;
};

// metrics.prometheus: Traefik's options and defaults. /metrics is served by prometheus@internal
// on `entry_point` unless manual_routing (then only through a router to prometheus@internal).
struct Prometheus {
  std::vector<double> buckets{0.1, 0.3, 1.2, 5.0};
  bool add_entrypoints_labels = true;
  bool add_routers_labels = false;
  bool add_services_labels = true;
  std::string entry_point = "traefik";
  bool manual_routing = false;
  bool operator==(const Prometheus&) const = default;
};
struct Metrics {
  bool add_internals = false;  // count requests to ping, api and prometheus too
  std::optional<Prometheus> prometheus;
  bool operator==(const Metrics&) const = default;
};
struct Tracing {
  bool operator==(const Tracing&) const = default;
};

struct Api {
  // Serve the API on the `traefik` entrypoint's address (default 127.0.0.1:8080: portier keeps
  // it on loopback unless told otherwise; Traefik's default is :8080 on every address).
  bool insecure = false;
  bool dashboard = true;  // the dashboard at /dashboard/, wherever the API is served
  bool debug = false;     // accepted; no debug endpoints yet
  std::string base_path = "/";  // accepted; only "/" is served for now
  // The name the dashboard shows in its header and /api/version gives (Traefik's); portier's
  // /api/overview gives it as instance.name, the host name when unset: which of several
  // instances is answering.
  std::string dashboard_name;
  bool operator==(const Api&) const = default;
};

// certificatesResolvers.<name>.acme.onDemand (portier; Caddy's on_demand_tls): a certificate is
// ordered at the first handshake for a name no router lists, when `ask` approves it.
struct OnDemand {
  std::string ask;                     // GET <ask>?domain=<name>: 200 allows the order
  Duration interval{std::chrono::minutes(1)};  // the rate limit's window
  int burst = 10;                      // orders per window, for the whole resolver
  Duration wait{std::chrono::seconds(5)};      // how long a handshake waits, then the default
  bool operator==(const OnDemand&) const = default;
};

// certificatesResolvers.<name>.acme.dnsChallenge, with the deprecated delayBeforeCheck and
// disablePropagationCheck folded into propagation (as Traefik's SetEffectiveConfiguration).
struct AcmeDnsChallenge {
  std::string provider;
  std::vector<std::string> resolvers;
  Duration delay_before_checks{0};
  bool propagation = false;  // a propagation section (or a deprecated alias) was given
  bool disable_checks = false;
  bool disable_ans_checks = false;
  bool require_all_rns = false;
  bool operator==(const AcmeDnsChallenge&) const = default;
};

// The DNS providers portier implements (lego's names).
inline constexpr const char* kDnsProviders[] = {"cloudflare", "exec", "httpreq", "rfc2136"};

// certificatesResolvers.<name>.acme: Traefik's fields, plus caCertificates, onDemand, and a
// redis:// storage (shared by several instances).
struct AcmeResolver {
  std::string email;
  std::string storage = "acme.json";
  std::string ca_server = "https://acme-v02.api.letsencrypt.org/directory";
  std::string key_type = "EC256";             // Traefik: RSA4096; portier: EC256 (smaller, faster)
  std::int64_t certificates_duration = 2160;  // hours; a hint, real lifetimes are read
  std::string preferred_chain;
  std::string eab_kid;
  std::string eab_hmac_encoded;
  std::string http_challenge_entrypoint;
  Duration http_challenge_delay{0};
  bool tls_challenge = false;  // tlsChallenge (TLS-ALPN-01)
  Duration tls_challenge_delay{0};
  AcmeDnsChallenge dns_challenge;            // provider empty: none
  std::vector<std::string> ca_certificates;  // PEM files trusted for caServer
  std::optional<OnDemand> on_demand;
  bool operator==(const AcmeResolver&) const = default;
};

struct StaticConfig {
  std::map<std::string, EntryPoint> entry_points;
  std::map<std::string, AcmeResolver> certificates_resolvers;
  std::optional<Api> api;
  ServersTransport servers_transport;
  Providers providers;
  Log log;
  std::optional<Ping> ping;
  std::optional<AccessLog> access_log;
  std::optional<Metrics> metrics;
  std::optional<Tracing> tracing;
  // "file:line:column: `key` is not supported yet ..." for every option that is accepted and
  // has no effect yet; logged once at start and shown by the API.
  std::vector<std::string> warnings;
  bool operator==(const StaticConfig&) const = default;
};

}  // namespace portier::config
