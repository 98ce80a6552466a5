// The dynamic configuration model: routers, services (and, with later issues, middlewares and
// TLS) as plain data, with Traefik v3's field names. Providers produce it; the table builder in
// proxy/ compiles it. No sockets, no handles: two configurations compare with ==.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace portier::config {

struct Router {
  std::string rule;
  int priority = 0;                       // 0: the rule's length
  std::vector<std::string> entry_points;  // empty: every entrypoint
  std::vector<std::string> middlewares;
  std::string service;
  bool operator==(const Router&) const = default;
};

struct Server {
  std::string url;
  int weight = 1;
  bool operator==(const Server&) const = default;
};

struct LoadBalancer {
  std::vector<Server> servers;
  bool pass_host_header = true;
  bool operator==(const LoadBalancer&) const = default;
};

struct Service {
  std::optional<LoadBalancer> load_balancer;
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

struct Middleware {
  std::string type;  // "stripPrefix", "basicAuth", ...
  std::optional<RedirectScheme> redirect_scheme;
  std::optional<StripPrefix> strip_prefix;
  std::optional<AddPrefix> add_prefix;
  std::optional<ReplacePath> replace_path;
  std::optional<Headers> headers;
  std::optional<Chain> chain;
  bool operator==(const Middleware&) const = default;
};

struct Http {
  std::map<std::string, Router> routers;
  std::map<std::string, Service> services;
  std::map<std::string, Middleware> middlewares;
  bool operator==(const Http&) const = default;
};

struct Configuration {
  Http http;
  bool operator==(const Configuration&) const = default;
};

}  // namespace portier::config
