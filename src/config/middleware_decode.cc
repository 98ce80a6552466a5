// http.middlewares: every type Traefik v3 decodes, its options read into the model (or, for the
// few without a struct, checked against Traefik's option names), so that real Traefik files and
// labels decode. Traefik's names and defaults: pkg/config/dynamic/middlewares.go.
#include "config/middleware_decode.h"

#include <algorithm>
#include <utility>

#include "config/decode_internal.h"
#include "config/schema.h"

namespace portier::config::detail {
namespace {

const std::string kHeaderModifier = "set{*},add{*},remove";

void decode_redirect_scheme(YamlMap& m, Diagnostics& d, Middleware& mw) {
  RedirectScheme& r = mw.redirect_scheme.emplace();
  read_opt(m, "scheme", d, r.scheme);
  read_opt(m, "port", d, r.port);
  read_opt(m, "permanent", d, r.permanent);
}

void decode_redirect_regex(YamlMap& m, Diagnostics& d, Middleware& mw) {
  RedirectRegex& r = mw.redirect_regex.emplace();
  read_opt(m, "regex", d, r.regex);
  read_opt(m, "replacement", d, r.replacement);
  read_opt(m, "permanent", d, r.permanent);
}

void decode_strip_prefix(YamlMap& m, Diagnostics& d, Middleware& mw) {
  StripPrefix& sp = mw.strip_prefix.emplace();
  read_opt(m, "prefixes", d, sp.prefixes);
  bool force_slash = true;  // deprecated in Traefik, accepted and ignored
  read_opt(m, "forceSlash", d, force_slash);
}

void decode_strip_prefix_regex(YamlMap& m, Diagnostics& d, Middleware& mw) {
  read_opt(m, "regex", d, mw.strip_prefix_regex.emplace().regex);
}

void decode_add_prefix(YamlMap& m, Diagnostics& d, Middleware& mw) {
  read_opt(m, "prefix", d, mw.add_prefix.emplace().prefix);
}

void decode_replace_path(YamlMap& m, Diagnostics& d, Middleware& mw) {
  read_opt(m, "path", d, mw.replace_path.emplace().path);
}

void decode_replace_path_regex(YamlMap& m, Diagnostics& d, Middleware& mw) {
  ReplacePathRegex& r = mw.replace_path_regex.emplace();
  read_opt(m, "regex", d, r.regex);
  read_opt(m, "replacement", d, r.replacement);
}

void decode_chain(YamlMap& m, Diagnostics& d, Middleware& mw) {
  read_opt(m, "middlewares", d, mw.chain.emplace().middlewares);
}

void decode_content_type(YamlMap& m, Diagnostics& d, Middleware& mw) {
  read_opt(m, "autoDetect", d, mw.content_type.emplace().auto_detect);
}

void decode_grpc_web(YamlMap& m, Diagnostics& d, Middleware& mw) {
  read_opt(m, "allowOrigins", d, mw.grpc_web.emplace().allow_origins);
}

struct Type {
  std::string name;
  MiddlewareDecoder decode;  // nullptr: only `schema` is checked and the type kept
  std::string schema;
};

// Every middleware type Traefik v3 decodes. The engine runs some of them; a router using another
// is disabled with that reason (proxy/middlewares/actions.cc: middleware_error).
const std::vector<Type> kTypes = {
    {"addPrefix", decode_add_prefix, ""},
    {"apiKey", decode_api_key, ""},  // portier type
    {"basicAuth", decode_basic_auth, ""},
    {"buffering", decode_buffering, ""},
    {"cache", decode_cache, ""},  // portier's own
    {"chain", decode_chain, ""},
    {"circuitBreaker", decode_circuit_breaker, ""},
    {"compress", decode_compress, ""},
    {"contentType", decode_content_type, ""},
    {"digestAuth", decode_digest_auth, ""},
    // Only checked for now: its struct is to be shared with the entrypoint option of the same
    // name (entryPoints.<ep>.http.encodedCharacters).
    {"encodedCharacters", nullptr,
     "allowEncodedSlash,allowEncodedBackSlash,allowEncodedNullCharacter,allowEncodedSemicolon,"
     "allowEncodedPercent,allowEncodedQuestionMark,allowEncodedHash"},
    {"errors", decode_errors, ""},
    {"forwardAuth", decode_forward_auth, ""},
    {"grpcWeb", decode_grpc_web, ""},
    {"headers", decode_headers, ""},
    {"inFlightReq", decode_in_flight_req, ""},
    {"ipAllowList", decode_ip_allow_list, ""},
    {"ipWhiteList", decode_ip_white_list, ""},  // deprecated name of ipAllowList
    {"jwt", decode_jwt, ""},  // portier type
    {"passTLSClientCert", decode_pass_tls_client_cert, ""},
    {"plugin", nullptr, "*"},
    {"rateLimit", decode_rate_limit, ""},
    {"redirectRegex", decode_redirect_regex, ""},
    {"redirectScheme", decode_redirect_scheme, ""},
    {"replacePath", decode_replace_path, ""},
    {"replacePathRegex", decode_replace_path_regex, ""},
    {"retry", decode_retry, ""},
    {"stripPrefix", decode_strip_prefix, ""},
    {"stripPrefixRegex", decode_strip_prefix_regex, ""},
    {"waf", decode_waf, ""},  // a portier type (ModSecurity + CRS)
    // Made by Traefik's Kubernetes Gateway and ingress-nginx providers; also checked in files.
    {"requestHeaderModifier", nullptr, kHeaderModifier},
    {"responseHeaderModifier", nullptr, kHeaderModifier},
    {"requestRedirect", nullptr, "scheme,hostname,port,path,pathPrefix,statusCode"},
    {"URLRewrite", nullptr, "hostname,path,pathPrefix"},
    {"authTLSPassCertificateToUpstream", nullptr, "clientAuthType,caFiles"},
    {"snippet", nullptr,
     "serverSnippet,configurationSnippet,auth{address,method,snippet,authResponseHeaders,"
     "authSigninURL}"},
    {"rewriteTarget", nullptr, "regex,replacement,xForwardedPrefix"},
    {"upstreamVHost", nullptr, "vHost,vars{*}"},
    {"appRoot", nullptr, "path"},
};

// Options of types the engine runs that it does not apply yet: they are decoded into the model,
// and a middleware setting one (to anything but false, 0 or "") is disabled, so it never runs
// without the behaviour asked for. Delete an entry when the engine applies the option.
const std::vector<std::pair<std::string, std::vector<KnownKey>>> kNotAppliedYet = {};

}  // namespace

void read_opt(YamlMap& m, std::string_view key, Diagnostics& d, std::string& out) {
  read_string(m.get(key), m.child_path(key), d, out);
}

void read_opt(YamlMap& m, std::string_view key, Diagnostics& d, bool& out) {
  read_bool(m.get(key), m.child_path(key), d, out);
}

void read_opt(YamlMap& m, std::string_view key, Diagnostics& d, std::vector<std::string>& out) {
  read_string_list(m.get(key), m.child_path(key), d, out);
}

void read_opt(YamlMap& m, std::string_view key, Diagnostics& d,
              std::map<std::string, std::string>& out) {
  read_string_map(m.get(key), m.child_path(key), d, out);
}

void read_opt(YamlMap& m, std::string_view key, Diagnostics& d, Duration& out) {
  read_duration(m.get(key), m.child_path(key), d, out);
}

void read_opt(YamlMap& m, std::string_view key, Diagnostics& d, long long min, long long max,
              long long& out) {
  read_int(m.get(key), m.child_path(key), d, min, max, out);
}

void read_opt(YamlMap& m, std::string_view key, Diagnostics& d, int min, int max, int& out) {
  long long v = out;
  if (read_int(m.get(key), m.child_path(key), d, min, max, v)) out = static_cast<int>(v);
}

YAML::Node read_section(YamlMap& m, std::string_view key) {
  YAML::Node n = m.get(key);
  if (section_off(n)) return YAML::Node(YAML::NodeType::Undefined);
  return n;
}

void decode_middleware(const YAML::Node& node, const std::string& path, Diagnostics& d,
                       Middleware& mw) {
  if (!node.IsMap() || node.size() != 1) {
    d.add(node.Mark(), "`" + path + "` must hold exactly one middleware type, e.g. stripPrefix");
    return;
  }
  const auto kv = *node.begin();
  const std::string type = kv.first.Scalar();
  auto known = std::find_if(kTypes.begin(), kTypes.end(), [&](const Type& t) {
    return lower_ascii(t.name) == lower_ascii(type);
  });
  if (known == kTypes.end()) {
    std::vector<std::string> names;
    for (const auto& t : kTypes) names.push_back(t.name);
    std::string msg = "unknown middleware type `" + type + "` in `" + path + "`";
    if (std::string s = closest(type, names); !s.empty()) msg += "; did you mean `" + s + "`?";
    d.add(kv.first.Mark(), msg);
    return;
  }
  mw.type = known->name == "ipWhiteList" ? "ipAllowList" : known->name;
  const std::string p = path + "." + known->name;
  if (known->decode == nullptr) {
    check_schema(kv.second, known->schema, p, d);
    return;
  }
  YamlMap m(kv.second, p, d);
  known->decode(m, d, mw);
  for (const auto& [name, keys] : kNotAppliedYet) {
    if (name == known->name) unsupported_keys(m, d, d, keys, "; the middleware is disabled");
  }
  m.finish();
}

}  // namespace portier::config::detail
