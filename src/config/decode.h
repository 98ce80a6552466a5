// Decoding configuration text into the model. Control plane only; no I/O beyond reading the
// named file. Errors carry file, line and column, and name the offending key.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

#include "common/result.h"
#include "config/dynamic.h"
#include "config/static_config.h"

namespace portier::config {

// Static configuration from YAML text; `file` names it in errors.
Result<StaticConfig> decode_static_yaml(const std::string& text, const std::string& file);
Result<StaticConfig> load_static_file(const std::string& path);
// The same from an already parsed tree (YAML, or TOML converted by parse_toml). Line numbers
// in errors come from the nodes' marks; nodes without one (flags, TOML) are named by key path.
Result<StaticConfig> decode_static_node(const YAML::Node& root, const std::string& file);

// What an error inside one router, service or middleware does.
enum class ObjectErrors {
  // The whole decode fails (Docker labels: each object is decoded on its own anyway).
  Fail,
  // Only that object is disabled: its errors go to its provider_error, which the table builder
  // reports (file:line and the closest key), and the rest of the file loads. Errors outside
  // objects (YAML syntax, an unknown top-level key, tls) still fail the file.
  Disable,
};

// Dynamic configuration (http, tcp and udp routers, services, middlewares; tls) from YAML text.
// The static sections of a file read by both sides (entryPoints, providers, ...) are ignored.
// decode_dynamic_yaml and load_dynamic_file disable objects one by one (ObjectErrors::Disable).
Result<Configuration> decode_dynamic_yaml(const std::string& text, const std::string& file);
Result<Configuration> load_dynamic_file(const std::string& path);
Result<Configuration> decode_dynamic_node(const YAML::Node& root, const std::string& file,
                                          ObjectErrors mode = ObjectErrors::Fail);

}  // namespace portier::config
