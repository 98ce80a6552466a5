// Static configuration from its three sources with Traefik's names: a YAML/TOML file, environment
// variables (PORTIER_ENTRYPOINTS_WEB_ADDRESS=:80, TRAEFIK_...) and flags
// (--entryPoints.web.address=:80). Unlike Traefik, which reads one source only, all three are
// merged key by key into one tree (flags over environment over file) and decoded once, so a
// misspelt flag or variable is refused like a misspelt key in the file. A bare enable
// (`--providers.docker`, `=true`) never resets what another source set for that section;
// `=false` disables it.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "config/static_config.h"

namespace portier::config {

using KeyValue = std::pair<std::string, std::string>;  // "entryPoints.web.address", ":80"

// Keys from `--a.b=c`, `--a.b c` and bare `--a.b` (= "true") arguments. Anything that is not a
// flag is an error.
Result<std::vector<KeyValue>> flags_to_keys(const std::vector<std::string>& args);

// Keys from PORTIER_* variables ("NAME=value" strings, as in environ): PORTIER_A_B=c gives
// "a.b" = "c" (keys are case-insensitive). Only variables whose first segment is a top-level
// section of the static configuration (PORTIER_ENTRYPOINTS_..., PORTIER_LOG_..., ...) are
// configuration; others (PORTIER_BIN for scripts, say) are left alone, as Traefik's own
// TRAEFIK_* handling would otherwise turn every such variable into an error.
std::vector<KeyValue> env_to_keys(const std::vector<std::string>& environ_lines);

// `file` may be empty (no file). `file_text` is its content.
Result<StaticConfig> decode_static_sources(const std::string& file, const std::string& file_text,
                                           const std::vector<KeyValue>& env,
                                           const std::vector<KeyValue>& flags);

struct OptionDoc {
  std::string_view key;  // with <name> where the user picks a name
  std::string_view default_value;
  std::string_view help;
};
// Every static option, for --help and docs.
const std::vector<OptionDoc>& static_options();

}  // namespace portier::config
