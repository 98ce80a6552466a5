// TOML files (static or dynamic) read with toml++ and turned into the tree the YAML decoders
// read, so both formats share one decoder and its checks. Syntax errors carry file, line and
// column; decoding errors name the key path (TOML values carry no YAML marks).
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

#include "common/result.h"

namespace portier::config {

Result<YAML::Node> parse_toml(const std::string& text, const std::string& file);

// True for paths ending in .toml.
bool is_toml_path(const std::string& path);

}  // namespace portier::config
