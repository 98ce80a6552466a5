// The dynamic configuration model: routers, services (and, with later issues, middlewares and
// TLS) as plain data, with Traefik v3's field names. Providers produce it; the table builder in
// proxy/ compiles it. No sockets, no handles: two configurations compare with ==.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace portier::config {

using Duration = std::chrono::milliseconds;

struct Domain {
  std::string main;
  std::vector<std::string> sans;
  bool operator==(const Domain&) const = default;
};

struct RouterTls {
  std::string cert_resolver;
  std::string options;  // a tls.options name
  std::vector<Domain> domains;
  bool operator==(const RouterTls&) const = default;
};

struct Router {
  // Set by a provider that could not decode this object (a misspelt label, say): the router
  // is then disabled with this error instead of disappearing without a word.
  std::string provider_error;
  std::string rule;
  std::string rule_syntax;  // "" or "v3"; v2 is refused
  std::optional<RouterTls> tls;
  int priority = 0;                       // 0: the rule's length
  std::vector<std::string> entry_points;  // empty: every entrypoint
  std::vector<std::string> middlewares;
  std::string service;
  bool operator==(const Router&) const = default;
};

struct Server {
  std::string url;
  int weight = 1;
  // Set by a provider that knows the server is down (the Docker provider: the container's
  // healthcheck says "unhealthy" or "starting"). The server stays in the table, out of the
  // rotation, and the API shows it DOWN. Not a configuration field.
  std::string down_reason;
  bool operator==(const Server&) const = default;
};

struct HealthCheck {
  std::string path = "/";
  Duration interval = std::chrono::seconds(30);
  Duration unhealthy_interval{0};  // 0: same as interval
  Duration timeout = std::chrono::seconds(5);
  std::string scheme;    // "" or "http" (https checks arrive with TLS)
  std::string hostname;  // Host sent; "" = the server's
  int port = 0;          // 0 = the server's
  std::map<std::string, std::string> headers;
  int status = 0;  // expected status; 0 = any 2xx or 3xx
  std::string method = "GET";
  bool follow_redirects = true;  // accepted; a 3xx counts as healthy without following it
  bool operator==(const HealthCheck&) const = default;
};

// loadBalancer.sticky.cookie: pins a client to the server that answered it first.
struct StickyCookie {
  std::string name;  // "": derived from the service name, as Traefik does
  bool secure = false;
  bool http_only = false;
  std::string same_site;  // "", "none", "lax", "strict"
  int max_age = 0;        // seconds; 0: a session cookie; negative: expire now
  std::string path = "/";
  std::string domain;
  bool operator==(const StickyCookie&) const = default;
};

struct LoadBalancer {
  std::vector<Server> servers;
  bool pass_host_header = true;
  std::string servers_transport;  // a named serversTransport; not supported yet
  std::optional<HealthCheck> health_check;
  // Traefik v3's names: "wrr" (the default, also ""), "p2c", "hrw"; others are refused when the
  // table is built (the service is disabled with that error).
  std::string strategy;
  std::optional<StickyCookie> sticky;  // sticky.cookie
  bool operator==(const LoadBalancer&) const = default;
};

// weighted: smooth weighted round robin over other services (by name, `name@provider` or a
// name of the same provider), optionally sticky with a cookie naming the child.
struct WeightedService {
  std::string name;
  int weight = 1;
  bool operator==(const WeightedService&) const = default;
};
struct Weighted {
  std::vector<WeightedService> services;
  std::optional<StickyCookie> sticky;  // sticky.cookie
  // `healthCheck: {}`: Traefik's switch to propagate the children's health. portier always
  // follows the children's availability; the field is accepted and kept for the API.
  bool health_check = false;
  bool operator==(const Weighted&) const = default;
};

// failover: `service` while it has an available server, else `fallback`.
struct Failover {
  std::string service;
  std::string fallback;
  bool health_check = false;  // as Weighted::health_check
  bool operator==(const Failover&) const = default;
};

// mirroring: `service` answers; each mirror gets a copy of `percent` % of the requests.
struct Mirror {
  std::string name;
  int percent = 0;  // 0..100
  bool operator==(const Mirror&) const = default;
};
struct Mirroring {
  std::string service;
  bool mirror_body = true;
  long long max_body_size = -1;  // bytes; -1: no limit of its own (portier's ceiling applies)
  std::vector<Mirror> mirrors;
  bool health_check = false;  // as Weighted::health_check
  bool operator==(const Mirroring&) const = default;
};

// A service holds exactly one kind (the decoder refuses more than one).
struct Service {
  std::string provider_error;  // as Router::provider_error
  std::optional<LoadBalancer> load_balancer;
  std::optional<Weighted> weighted;
  std::optional<Failover> failover;
  std::optional<Mirroring> mirroring;
  bool operator==(const Service&) const = default;
};

// Middlewares. A Middleware holds exactly one kind; `type` is its Traefik name. Kinds portier
// does not implement yet keep only their type, so configurations using them still parse and
// the routers using them report it.
struct RedirectScheme {
  std::string scheme = "https";
  std::string port;  // empty: the scheme's default
  bool permanent = false;
  bool operator==(const RedirectScheme&) const = default;
};
struct RedirectRegex {
  std::string regex;        // Go (RE2) syntax, matched against scheme://host/path?query
  std::string replacement;  // $1, ${1}, ${name} refer to groups
  bool permanent = false;
  bool operator==(const RedirectRegex&) const = default;
};
struct StripPrefix {
  std::vector<std::string> prefixes;
  bool operator==(const StripPrefix&) const = default;
};
struct AddPrefix {
  std::string prefix;
  bool operator==(const AddPrefix&) const = default;
};
struct ReplacePath {
  std::string path;
  bool operator==(const ReplacePath&) const = default;
};
struct Headers {
  // An empty value removes the field, as in Traefik.
  std::map<std::string, std::string> custom_request_headers;
  std::map<std::string, std::string> custom_response_headers;
  // Static security headers, sent on every response.
  long long sts_seconds = 0;
  bool sts_include_subdomains = false;
  bool sts_preload = false;
  bool force_sts_header = false;
  bool frame_deny = false;
  std::string custom_frame_options_value;
  bool content_type_nosniff = false;
  bool browser_xss_filter = false;
  std::string content_security_policy;
  std::string referrer_policy;
  std::string permissions_policy;
  bool operator==(const Headers&) const = default;
};
struct Chain {
  std::vector<std::string> middlewares;
  bool operator==(const Chain&) const = default;
};
// retry: send a request that could not reach a server again, up to `attempts` tries in all,
// waiting `initial_interval`, then 1.5 times the previous wait up to twice `initial_interval`,
// between tries (Traefik's back-off; 0, the default, retries at once).
struct Retry {
  int attempts = 0;  // required, at least 1
  Duration initial_interval{0};
  bool operator==(const Retry&) const = default;
};

struct Middleware {
  std::string provider_error;  // as Router::provider_error
  std::string type;            // "stripPrefix", "basicAuth", ...
  std::optional<RedirectScheme> redirect_scheme;
  std::optional<RedirectRegex> redirect_regex;
  std::optional<StripPrefix> strip_prefix;
  std::optional<AddPrefix> add_prefix;
  std::optional<ReplacePath> replace_path;
  std::optional<Headers> headers;
  std::optional<Chain> chain;
  std::optional<Retry> retry;
  bool operator==(const Middleware&) const = default;
};

struct Http {
  std::map<std::string, Router> routers;
  std::map<std::string, Service> services;
  std::map<std::string, Middleware> middlewares;
  bool operator==(const Http&) const = default;
};

// TLS material and policies (used once TLS termination lands).
struct CertificateFile {
  std::string cert_file;  // a path, or the PEM itself as Traefik allows
  std::string key_file;
  std::vector<std::string> stores;
  bool operator==(const CertificateFile&) const = default;
};

struct ClientAuth {
  std::vector<std::string> ca_files;
  std::string client_auth_type;
  bool operator==(const ClientAuth&) const = default;
};

struct TlsOptions {
  std::string min_version;  // "VersionTLS12" (the default), "VersionTLS13"
  std::string max_version;
  std::vector<std::string> cipher_suites;
  std::vector<std::string> curve_preferences;
  std::vector<std::string> alpn_protocols;
  bool sni_strict = false;
  std::optional<ClientAuth> client_auth;
  bool operator==(const TlsOptions&) const = default;
};

struct TlsStore {
  std::optional<CertificateFile> default_certificate;
  bool operator==(const TlsStore&) const = default;
};

struct Tls {
  std::vector<CertificateFile> certificates;
  std::map<std::string, TlsOptions> options;
  std::map<std::string, TlsStore> stores;
  bool operator==(const Tls&) const = default;
};

struct Configuration {
  Http http;
  Tls tls;
  // What a file held that is accepted and not served (tcp, udp, serversTransports), as
  // "file:line:col: message". Providers log these; merge() does not carry them.
  std::vector<std::string> warnings;
  bool operator==(const Configuration&) const = default;
};

}  // namespace portier::config
