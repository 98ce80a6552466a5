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

// Dynamic configuration (http.routers, http.services) from YAML text.
Result<Configuration> decode_dynamic_yaml(const std::string& text, const std::string& file);
Result<Configuration> load_dynamic_file(const std::string& path);
Result<Configuration> decode_dynamic_node(const YAML::Node& root, const std::string& file);

}  // namespace portier::config
