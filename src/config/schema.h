// Key checking for the parts of Traefik's configuration that portier accepts but does not act
// on yet (metrics, tracing, most middleware options, ...): the keys Traefik knows are written
// as a compact schema, so a real Traefik file decodes while a misspelt key is still reported
// with the closest known one. Control plane only.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <string_view>
#include <vector>

#include "config/yaml_reader.h"

namespace portier::config {

// Schema text: a comma-separated list of keys. `name` takes any value; `name{...}` is a
// mapping with the keys inside (or `true`/`false`/empty, Traefik's enable forms); `*{...}`
// matches any key (names the user picks) with the keys inside; `*` alone matches any key with
// any value (free-form maps such as headers). Keys compare case-insensitively.
//
// Checks `node` (a mapping) against `schema`; unknown keys go to `errors` as
// "unknown key `path.key`; did you mean `path.other`?" with their marks.
void check_schema(const YAML::Node& node, std::string_view schema, const std::string& path,
                  Diagnostics& errors);

// True when `node` is one of Traefik's "section off" forms: absent, or the scalar false.
bool section_off(const YAML::Node& node);

// A key Traefik knows and portier does not act on yet; `schema` checks its own keys ("" for a
// plain value).
struct KnownKey {
  std::string key;
  std::string schema;
};

// For each of `keys` present in `m` (asked, so finish() does not call it unknown): its keys are
// checked against its schema into `errors`, and when it is set to anything but false, 0 or ""
// it is reported into `report` as "`path` is not supported yet" + `tail`, at its location.
void unsupported_keys(YamlMap& m, Diagnostics& errors, Diagnostics& report,
                      const std::vector<KnownKey>& keys, const std::string& tail);

}  // namespace portier::config
