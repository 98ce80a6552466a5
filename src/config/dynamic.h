// The dynamic configuration model: routers, services (and, with later issues, middlewares and
// TLS) as plain data, with Traefik v3's field names. Providers produce it; the table builder in
// proxy/ compiles it. No sockets, no handles: two configurations compare with ==.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/tcp_dynamic.h"
#include "config/udp_dynamic.h"

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
  // A named http.serversTransports entry (`name` or `name@provider`); "": the static
  // serversTransport's settings (Traefik's default@internal).
  std::string servers_transport;
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

// Middlewares. A Middleware holds exactly one kind; `type` is its Traefik name. The Traefik v3
// HTTP middlewares that files and labels configure are decoded into the structs below (all but
// plugin and encodedCharacters, which keep only their type), with Traefik's defaults: those of
// its SetDefaults() and those its constructors give to 0 or "", so a missing option reads as in
// Traefik. Decoding a kind does not make it run: the engine refuses the kinds it does not
// implement yet, and routers using them are disabled. Sizes are bytes; Duration is milliseconds.
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
// stripPrefixRegex: removes the first match of the first matching regex from the path.
struct StripPrefixRegex {
  std::vector<std::string> regex;  // Go (RE2) syntax, not checked when decoding
  bool operator==(const StripPrefixRegex&) const = default;
};
struct AddPrefix {
  std::string prefix;
  bool operator==(const AddPrefix&) const = default;
};
struct ReplacePath {
  std::string path;
  bool operator==(const ReplacePath&) const = default;
};
struct ReplacePathRegex {
  std::string regex;        // Go (RE2) syntax, matched against the path
  std::string replacement;  // $1, ${1}, ${name} refer to groups
  bool operator==(const ReplacePathRegex&) const = default;
};
struct Headers {
  // An empty value removes the field, as in Traefik.
  std::map<std::string, std::string> custom_request_headers;
  std::map<std::string, std::string> custom_response_headers;
  // CORS: a preflight is answered locally; other responses get the Access-Control-* fields.
  bool access_control_allow_credentials = false;
  std::vector<std::string> access_control_allow_headers;
  std::vector<std::string> access_control_allow_methods;
  std::vector<std::string> access_control_allow_origin_list;        // "*" allows any origin
  std::vector<std::string> access_control_allow_origin_list_regex;  // Go (RE2) syntax
  std::vector<std::string> access_control_expose_headers;
  std::optional<long long> access_control_max_age;  // seconds; unset: no Access-Control-Max-Age
  bool add_vary_header = false;
  // Security: hosts accepted (empty: any), the fields that carry the original host, and the
  // field/value pairs that mark a request as HTTPS behind another proxy.
  std::vector<std::string> allowed_hosts;
  std::vector<std::string> hosts_proxy_headers;
  std::map<std::string, std::string> ssl_proxy_headers;
  // Static security headers, sent on every response.
  long long sts_seconds = 0;  // 0: no Strict-Transport-Security
  bool sts_include_subdomains = false;
  bool sts_preload = false;
  bool force_sts_header = false;
  bool frame_deny = false;
  std::string custom_frame_options_value;  // overrides frame_deny
  bool content_type_nosniff = false;
  bool browser_xss_filter = false;
  std::string custom_browser_xss_value;  // overrides browser_xss_filter
  std::string content_security_policy;
  std::string content_security_policy_report_only;
  std::string public_key;  // Public-Key-Pins value
  std::string referrer_policy;
  std::string permissions_policy;
  bool is_development = false;  // relaxes allowed_hosts, SSL and STS checks
  // Deprecated in Traefik v3, still accepted there.
  std::string feature_policy;
  bool ssl_redirect = false;
  bool ssl_temporary_redirect = false;
  std::string ssl_host;
  bool ssl_force_host = false;
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
  Duration timeout{0};                             // for all tries together; 0: no limit
  long long max_request_body_bytes = 2 * 1048576;  // body kept for a retry; -1: no limit
  std::vector<std::string> status;  // "500", "500-599": responses retried; empty: none
  bool disable_retry_on_network_error = false;
  bool retry_non_idempotent_method = false;  // POST, PATCH, LOCK too
  bool operator==(const Retry&) const = default;
};

// basicAuth and digestAuth. `users` are "name:hash" (basic: htpasswd MD5, SHA1 or bcrypt;
// digest: "name:realm:hash"); secrets, never logged nor shown by the API.
struct BasicAuth {
  std::vector<std::string> users;
  std::string users_file;  // one user per line, added to `users`
  std::string realm = "traefik";
  std::string header_field;    // request field set to the user name; "": none
  bool remove_header = false;  // drop Authorization before forwarding
  bool operator==(const BasicAuth&) const = default;
};
struct DigestAuth {
  std::vector<std::string> users;
  std::string users_file;
  std::string realm = "traefik";
  std::string header_field;
  bool remove_header = false;
  bool operator==(const DigestAuth&) const = default;
};

// jwt (a portier type; Traefik Hub has one, OSS none): a signed JWT (RFC 7519) checked against
// keys from `jwks_url` (fetched in the background), `jwks_file`, `public_keys` (PEM files or
// inline PEM) or `secret` (HS*). Secrets are never logged nor shown by the API.
struct Jwt {
  std::string jwks_url;
  std::string jwks_file;
  std::vector<std::string> public_keys;
  std::string secret;
  std::vector<std::string> algorithms;  // empty: every asymmetric one (HS* only when listed)
  std::vector<std::string> issuers;     // empty: any; else `iss` must be one of them
  std::vector<std::string> audiences;   // empty: any; else one `aud` entry must be one of them
  std::vector<std::string> required_claims;
  std::map<std::string, std::string> claims;          // claim -> required value (403 if not)
  std::map<std::string, std::string> forward_headers;  // request header -> claim
  Duration leeway = std::chrono::seconds(60);
  std::string token_header;  // "": Authorization with the Bearer scheme
  std::string token_cookie;
  std::string token_query;
  bool remove_header = false;  // drop the token's header (Authorization) before forwarding
  std::string realm = "portier";
  Duration jwks_refresh_interval = std::chrono::minutes(15);
  Duration jwks_min_refresh_interval = std::chrono::seconds(10);  // unknown-kid refetch limit
  bool operator==(const Jwt&) const = default;
};

// apiKey (a portier type): keys as "name:hash" (hash `sha256:<hex>` or an htpasswd hash), from
// `keys` and `keys_file`. Secrets, never logged nor shown by the API.
struct ApiKey {
  std::vector<std::string> keys;
  std::string keys_file;
  std::string key_header = "X-API-Key";  // "": not read from a header
  std::string key_query;                 // "": not read from the query
  bool bearer = false;                   // also Authorization: Bearer <key>
  std::string name_header = "X-API-Key-Name";  // set to the key's name; "": none
  bool keep_key = false;                       // forward the key's header as sent
  bool operator==(const ApiKey&) const = default;
};

// TLS towards an authentication server (forwardAuth.tls): files or PEM text.
struct ForwardAuthTls {
  std::string ca;
  std::string cert;
  std::string key;  // secret
  bool insecure_skip_verify = false;
  bool ca_optional = false;  // deprecated in Traefik, no effect
  bool operator==(const ForwardAuthTls&) const = default;
};
struct ForwardAuth {
  std::string address;  // URL of the authentication server
  std::optional<ForwardAuthTls> tls;
  // Traefik v3 has three behaviours: true trusts every X-Forwarded-* field, false removes them
  // all, unset (deprecated) removes some and forwards others.
  std::optional<bool> trust_forward_header;
  std::vector<std::string> auth_response_headers;
  std::string auth_response_headers_regex;        // Go (RE2) syntax; "": none
  std::vector<std::string> auth_request_headers;  // empty: every request field
  std::vector<std::string> add_auth_cookies_to_response;
  std::string header_field;
  bool forward_body = false;
  long long max_body_size = -1;           // -1: no limit
  long long max_response_body_size = -1;  // -1: no limit
  bool preserve_location_header = false;
  bool preserve_request_method = false;
  std::string auth_signin_url;  // redirect on 401; "": pass the 401 on
  bool operator==(const ForwardAuth&) const = default;
};

// How the client address is chosen: unset (or all zero), the connection's peer; depth > 0, the
// depth-th address of X-Forwarded-For from the right; else the first from the right not in
// excluded_ips.
struct IpStrategy {
  int depth = 0;
  std::vector<std::string> excluded_ips;  // addresses or CIDRs
  int ipv6_subnet = 0;  // 1..128: IPv6 addresses reduced to their subnet; 0: unset
  bool operator==(const IpStrategy&) const = default;
};
// What groups requests for rateLimit and inFlightReq; Traefik allows one of the three. All unset
// (or no sourceCriterion): the peer address.
struct SourceCriterion {
  std::optional<IpStrategy> ip_strategy;
  std::string request_header_name;
  bool request_host = false;
  bool operator==(const SourceCriterion&) const = default;
};
// ipAllowList (and its deprecated name ipWhiteList, which has no reject_status_code).
struct IpAllowList {
  std::vector<std::string> source_range;  // addresses or CIDRs, not checked when decoding
  std::optional<IpStrategy> ip_strategy;
  int reject_status_code = 403;  // 0 reads as 403, as in Traefik
  bool operator==(const IpAllowList&) const = default;
};
// rateLimit: a token bucket per source, `average` requests per `period`, `burst` at once.
// `redis` is refused when decoding (limits are kept in memory).
struct RateLimit {
  long long average = 0;                      // 0: no limit
  Duration period = std::chrono::seconds(1);  // 0 reads as 1s
  long long burst = 1;                        // below 1 reads as 1
  std::optional<SourceCriterion> source_criterion;
  bool operator==(const RateLimit&) const = default;
};
struct InFlightReq {
  long long amount = 0;  // simultaneous requests per source; required
  std::optional<SourceCriterion> source_criterion;
  bool operator==(const InFlightReq&) const = default;
};

// errors (Traefik's ErrorPage): responses whose status is in `status` are replaced by
// `service`'s answer to `query` ({status}, {originalStatus}, {url} replaced).
struct ErrorPage {
  std::vector<std::string> status;             // "500", "500-599"
  std::map<std::string, int> status_rewrites;  // "418" or "500-599" -> status sent
  std::string service;
  std::string query;
  std::vector<std::string> error_request_headers;  // request fields sent to `service`
  bool operator==(const ErrorPage&) const = default;
};
// circuitBreaker: opens when `expression` (NetworkErrorRatio(), ResponseCodeRatio(...),
// LatencyAtQuantileMS(...)) holds; 0 durations read as the defaults, as in Traefik.
struct CircuitBreaker {
  std::string expression;
  Duration check_period = std::chrono::milliseconds(100);
  Duration fallback_duration = std::chrono::seconds(10);
  Duration recovery_duration = std::chrono::seconds(10);
  int response_code = 503;  // sent while open
  bool operator==(const CircuitBreaker&) const = default;
};
// buffering: whole bodies read before forwarding; past mem_* they go to disk (in Traefik).
struct Buffering {
  long long max_request_body_bytes = 0;        // 0: no limit; above it 413
  long long mem_request_body_bytes = 1048576;  // 0 reads as 1048576
  long long max_response_body_bytes = 0;       // 0: no limit; above it 500
  long long mem_response_body_bytes = 1048576;
  std::string retry_expression;  // e.g. "IsNetworkError() && Attempts() < 2"
  // Traefik sets these two only from Kubernetes ingress annotations; portier decodes them.
  bool disable_request_buffer = false;
  bool disable_response_buffer = false;
  bool operator==(const Buffering&) const = default;
};
struct Compress {
  std::vector<std::string> excluded_content_types;
  std::vector<std::string> included_content_types;              // non-empty: only these
  long long min_response_body_bytes = 1024;                     // 0 or less reads as 1024
  std::vector<std::string> encodings = {"gzip", "br", "zstd"};  // in order of preference
  std::string default_encoding;  // without Accept-Encoding or with "*"; "": none
  bool operator==(const Compress&) const = default;
};
// cache: portier's shared HTTP cache (RFC 9111); not a Traefik type (docs/middlewares.md).
struct Cache {
  long long max_memory_bytes = 64ll << 20;  // all entries of this middleware; LRU beyond it
  long long max_entry_bytes = 8ll << 20;    // larger responses are passed on, not stored
  Duration default_ttl{0};  // freshness of 2xx answers that state none; 0: not stored then
  Duration stale_while_revalidate{0};  // when the response does not say (RFC 5861)
  Duration stale_if_error{0};
  Duration lock_timeout{5000};  // concurrent misses of one key wait this long for the first
  bool cache_authorized = false;  // store answers to requests with Authorization anyway
  std::string disk_path;          // "": memory only; else every entry is written there too
  long long max_disk_bytes = 1ll << 30;
  bool operator==(const Cache&) const = default;
};
// contentType: lets the engine guess a missing Content-Type (Traefik does not by default).
struct ContentType {
  bool auto_detect = true;  // deprecated option; false makes the middleware do nothing
  bool operator==(const ContentType&) const = default;
};
struct GrpcWeb {
  std::vector<std::string> allow_origins;  // "*": any
  bool operator==(const GrpcWeb&) const = default;
};
// passTLSClientCert: the client certificate in X-Forwarded-Tls-Client-Cert (pem) and chosen
// parts of it in X-Forwarded-Tls-Client-Cert-Info. An unset subject or issuer is left out.
struct TlsClientCertificateDnInfo {
  bool country = false;
  bool province = false;
  bool locality = false;
  bool organization = false;
  bool organizational_unit = false;  // subject only (Traefik's issuer has no such option)
  bool common_name = false;
  bool serial_number = false;
  bool domain_component = false;
  bool operator==(const TlsClientCertificateDnInfo&) const = default;
};
struct TlsClientCertificateInfo {
  bool not_after = false;
  bool not_before = false;
  bool sans = false;
  bool serial_number = false;
  std::optional<TlsClientCertificateDnInfo> subject;
  std::optional<TlsClientCertificateDnInfo> issuer;
  bool operator==(const TlsClientCertificateInfo&) const = default;
};
struct PassTlsClientCert {
  bool pem = false;
  std::optional<TlsClientCertificateInfo> info;
  bool operator==(const PassTlsClientCert&) const = default;
};

// waf (a portier type, not Traefik's): ModSecurity v3 with the OWASP Core Rule Set
// (proxy/middlewares/waf.cc, docs/middlewares.md#waf).
struct Waf {
  std::string mode = "block";  // block: interventions answer (403); detect: logged only
  bool crs = true;             // load the Core Rule Set
  int paranoia_level = 1;      // CRS tx.paranoia_level, 1-4
  int anomaly_threshold = 5;   // CRS tx.inbound_anomaly_score_threshold
  std::string crs_setup;       // directives loaded before the CRS rules (tx.* settings)
  std::string rules;           // directives loaded after the CRS (exclusions, own rules)
  std::vector<std::string> rule_files;  // paths or globs, loaded after `rules`
  long long request_body_limit = 131072;  // body bytes inspected; above: 413 (block)
  bool inspect_response = false;          // run phase 3 over the response head
  bool operator==(const Waf&) const = default;
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
  std::optional<StripPrefixRegex> strip_prefix_regex;
  std::optional<ReplacePathRegex> replace_path_regex;
  std::optional<BasicAuth> basic_auth;
  std::optional<DigestAuth> digest_auth;
  std::optional<ForwardAuth> forward_auth;
  std::optional<IpAllowList> ip_allow_list;  // ipAllowList and ipWhiteList
  std::optional<RateLimit> rate_limit;
  std::optional<InFlightReq> in_flight_req;
  std::optional<ErrorPage> errors;
  std::optional<CircuitBreaker> circuit_breaker;
  std::optional<Buffering> buffering;
  std::optional<Compress> compress;
  std::optional<ContentType> content_type;
  std::optional<GrpcWeb> grpc_web;
  std::optional<PassTlsClientCert> pass_tls_client_cert;
  std::optional<Cache> cache;
  std::optional<Jwt> jwt;
  std::optional<ApiKey> api_key;
  std::optional<Waf> waf;
  bool operator==(const Middleware&) const = default;
};

// http.serversTransports.<name>: how portier connects to the servers of the services naming it
// (TLS to https:// servers, pool size, timeouts). Traefik v3's options; see
// docs/configuration.md#serverstransports for what portier does with each.
struct TransportCertificate {
  std::string cert_file;  // a path, or the PEM itself
  std::string key_file;
  bool operator==(const TransportCertificate&) const = default;
};
struct PeerCertSan {
  std::string type;  // "URI" or "DNSName"
  std::string value;
  bool operator==(const PeerCertSan&) const = default;
};
struct ServersTransportTimeouts {
  Duration dial_timeout = std::chrono::seconds(30);
  // portier's default, as the static serversTransport's (Traefik: 0, none).
  Duration response_header_timeout = std::chrono::seconds(60);
  Duration idle_conn_timeout = std::chrono::seconds(90);
  bool operator==(const ServersTransportTimeouts&) const = default;
};
struct HttpServersTransport {
  std::string server_name;  // SNI and the name verified; "": the server URL's host
  bool insecure_skip_verify = false;
  std::vector<std::string> root_cas;               // files or PEM; empty: the system's CA bundle
  std::vector<TransportCertificate> certificates;  // client certificates (mutual TLS)
  std::vector<std::string> cipher_suites;
  std::string min_version;
  std::string max_version;
  int max_idle_conns_per_host = 200;
  ServersTransportTimeouts forwarding_timeouts;
  bool disable_http2 = false;  // https:// servers: offer only http/1.1 by ALPN
  std::string peer_cert_uri;   // the server certificate must carry this URI SAN
  std::vector<PeerCertSan> peer_cert_sans;
  bool spiffe = false;         // a spiffe section was given: refused when the table is built
  std::string provider_error;  // as Router::provider_error
  bool operator==(const HttpServersTransport&) const = default;
};

struct Http {
  std::map<std::string, Router> routers;
  std::map<std::string, Service> services;
  std::map<std::string, Middleware> middlewares;
  std::map<std::string, HttpServersTransport> servers_transports;
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
  Tcp tcp;  // config/tcp_dynamic.h
  Udp udp;  // config/udp_dynamic.h
  Tls tls;
  // What a file held that is accepted and not served (serversTransports), as
  // "file:line:col: message". Providers log these; merge() does not carry them.
  std::vector<std::string> warnings;
  bool operator==(const Configuration&) const = default;
};

}  // namespace portier::config
