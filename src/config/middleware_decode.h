// The decoders of http.middlewares types. Internal to src/config: decode_middleware() (in
// middleware_decode.cc) picks the type and calls one of these with the type's mapping.
#pragma once

#include <yaml-cpp/yaml.h>

#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/dynamic.h"
#include "config/yaml_reader.h"

namespace portier::config::detail {

// Reads one type's options from `m` (path "http.middlewares.<name>.<type>") into its field of
// `mw`, with Traefik's defaults. Errors go to `d` with their location; keys nobody asked for are
// reported by the caller's m.finish().
using MiddlewareDecoder = void (*)(YamlMap& m, Diagnostics& d, Middleware& mw);

void decode_basic_auth(YamlMap& m, Diagnostics& d, Middleware& mw);
void decode_digest_auth(YamlMap& m, Diagnostics& d, Middleware& mw);
void decode_forward_auth(YamlMap& m, Diagnostics& d, Middleware& mw);
void decode_ip_allow_list(YamlMap& m, Diagnostics& d, Middleware& mw);
void decode_ip_white_list(YamlMap& m, Diagnostics& d, Middleware& mw);
void decode_rate_limit(YamlMap& m, Diagnostics& d, Middleware& mw);
void decode_in_flight_req(YamlMap& m, Diagnostics& d, Middleware& mw);
void decode_pass_tls_client_cert(YamlMap& m, Diagnostics& d, Middleware& mw);
// middleware_decode_token.cc (portier types)
void decode_jwt(YamlMap& m, Diagnostics& d, Middleware& mw);
void decode_api_key(YamlMap& m, Diagnostics& d, Middleware& mw);

void decode_headers(YamlMap& m, Diagnostics& d, Middleware& mw);
void decode_retry(YamlMap& m, Diagnostics& d, Middleware& mw);
void decode_errors(YamlMap& m, Diagnostics& d, Middleware& mw);
void decode_circuit_breaker(YamlMap& m, Diagnostics& d, Middleware& mw);
void decode_buffering(YamlMap& m, Diagnostics& d, Middleware& mw);
void decode_compress(YamlMap& m, Diagnostics& d, Middleware& mw);
void decode_cache(YamlMap& m, Diagnostics& d, Middleware& mw);
void decode_waf(YamlMap& m, Diagnostics& d, Middleware& mw);  // middleware_decode_waf.cc

// Option readers: `key` of `m` into `out`, left unchanged when the key is absent or null.
void read_opt(YamlMap& m, std::string_view key, Diagnostics& d, std::string& out);
void read_opt(YamlMap& m, std::string_view key, Diagnostics& d, bool& out);
void read_opt(YamlMap& m, std::string_view key, Diagnostics& d, std::vector<std::string>& out);
void read_opt(YamlMap& m, std::string_view key, Diagnostics& d,
              std::map<std::string, std::string>& out);
// Go durations or a bare number of seconds (Traefik's ptypes.Duration); negative ones refused.
void read_opt(YamlMap& m, std::string_view key, Diagnostics& d, Duration& out);
void read_opt(YamlMap& m, std::string_view key, Diagnostics& d, long long min, long long max,
              long long& out);
void read_opt(YamlMap& m, std::string_view key, Diagnostics& d, int min, int max, int& out);

// A nested section (ipStrategy, tls, info.subject...): the node when `key` is set to anything
// but false (`true` and an empty value enable it with its defaults, as Traefik's labels do),
// else an undefined node. Read it with a YamlMap, which accepts those forms.
YAML::Node read_section(YamlMap& m, std::string_view key);

constexpr long long kMaxInt64 = 1LL << 62;  // bounds for Go int64 options (bytes, counts)
constexpr int kMaxInt = std::numeric_limits<int>::max();

}  // namespace portier::config::detail
