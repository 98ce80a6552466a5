// A router's middlewares compiled into what they do, once per routing table: path steps,
// a scheme redirect, request and response header edits. Chains are flattened. Applying them
// to a request allocates only for routers that rewrite the path.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "config/dynamic.h"

namespace re2 {
class RE2;
}

namespace portier::proxy {

struct HeaderEdit {
  std::string name;
  std::string value;  // empty: remove the field
};

struct PathStep {
  enum class Kind { Strip, Add, Replace };
  Kind kind;
  std::vector<std::string> values;  // Strip: candidate prefixes; Add, Replace: one value
};

struct Redirect {
  std::string scheme;
  std::string port;
  bool permanent = false;
  // redirectRegex: when set, the Location is the request URL rewritten by this (scheme and port
  // are unused); no match, no redirect.
  std::shared_ptr<const re2::RE2> regex;
  std::string rewrite;  // the replacement in RE2's \N form
};

// The retry middleware: up to `attempts` tries in all; before try k (k >= 2) the forwarder waits
// initial_interval * 2^(k-2), at most kMaxRetryWait.
struct RetryPolicy {
  int attempts = 1;
  std::chrono::milliseconds initial_interval{100};
};

struct Actions {
  std::optional<Redirect> redirect;  // answered by portier, before any other step
  std::vector<PathStep> path_steps;  // in middleware order
  std::vector<HeaderEdit> request_headers;
  std::vector<HeaderEdit> response_headers;
  std::optional<RetryPolicy> retry;
  bool empty() const {
    return !redirect && path_steps.empty() && request_headers.empty() &&
           response_headers.empty() && !retry;
  }
};

// Compiles the middlewares a router lists (qualified names) in order. Errors name the
// middleware: missing, a chain cycle, or a type portier does not implement yet.
// `tls`: the router answers on TLS (Strict-Transport-Security is then sent unforced).
Result<Actions> compile_actions(const std::vector<std::string>& names,
                                const std::map<std::string, config::Middleware>& all,
                                bool tls = false);

// Checks one middleware on its own (for the API): an error for types not implemented yet.
std::string middleware_error(const config::Middleware& mw);

// The request target after the path steps, and the fields they add (X-Forwarded-Prefix,
// X-Replaced-Path). `path` is the raw path, `query` the raw query (without '?').
struct Rewrite {
  std::string target;
  std::vector<HeaderEdit> added;
};
void apply_path_steps(const Actions& a, std::string_view path, std::string_view query,
                      Rewrite& out);

// The Location of a redirect for this request, or "" when there is none: a scheme redirect when
// the request already uses the scheme, a regex redirect when the URL does not match.
// `host` is the Host field as sent; the port is replaced by the redirect's (none for the
// scheme's default port).
std::string redirect_location(const Redirect& r, std::string_view current_scheme,
                              std::string_view host, std::string_view target);
// 301/302 for GET and HEAD, 308/307 otherwise (permanent/not), as Traefik v3.
int redirect_status(const Redirect& r, std::string_view method);

}  // namespace portier::proxy
