// Helpers shared by the static and dynamic decoders. Internal to src/config.
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <optional>
#include <string>

#include "common/result.h"
#include "config/decode.h"
#include "config/dynamic.h"
#include "config/yaml_reader.h"

namespace portier::config::detail {

std::string lower_ascii(std::string s);
Result<YAML::Node> parse_yaml(const std::string& text, Diagnostics& diag);
Result<std::string> read_file(const std::string& path);
// A router's (or an entrypoint's http.) tls: a mapping, or Traefik's short form `tls: true`.
void decode_router_tls(const YAML::Node& node, const std::string& path, Diagnostics& d,
                       std::optional<RouterTls>& out);
void read_string_map(const YAML::Node& n, const std::string& path, Diagnostics& d,
                     std::map<std::string, std::string>& out);
// One entry of http.middlewares: exactly one type, its options checked against Traefik's.
// Options of implemented types that portier does not act on yet are errors (the middleware is
// disabled: it never runs without the behaviour asked for).
// accessLog (access_log_decode.cc); `w` gets the options accepted and not acted on.
void decode_access_log(const YAML::Node& node, Diagnostics& d, Diagnostics& w, AccessLog& out);
void decode_middleware(const YAML::Node& node, const std::string& path, Diagnostics& d,
                       Middleware& mw);
// The `tcp` section (tcp_decode.cc); `mode` as decode_dynamic_node's.
void decode_tcp(const YAML::Node& node, Diagnostics& d, ObjectErrors mode, Tcp& out);
// One entry of http.serversTransports (transport_decode.cc).
void decode_servers_transport(const YAML::Node& node, const std::string& path, Diagnostics& d,
                              HttpServersTransport& t);
// The `udp` section (udp_decode.cc); `mode` as decode_dynamic_node's.
void decode_udp(const YAML::Node& node, Diagnostics& d, ObjectErrors mode, Udp& out);

}  // namespace portier::config::detail
