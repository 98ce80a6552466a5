// Reading YAML into the config model with Traefik's conventions: keys are case-insensitive, and
// (unlike Traefik) an unknown key is an error naming file, line and the closest known key.
// Used by the static and dynamic decoders; control plane only.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <string_view>
#include <vector>

#include "config/static_config.h"

namespace portier::config {

// Collects errors as "file:line:column: message" lines.
class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}
  void add(const YAML::Mark& mark, std::string message);
  bool empty() const { return lines_.empty(); }
  std::string str() const;  // all lines joined with '\n'
  const std::vector<std::string>& lines() const { return lines_; }
  void append(const Diagnostics& other) {
    lines_.insert(lines_.end(), other.lines_.begin(), other.lines_.end());
  }
  const std::string& file() const { return file_; }

 private:
  std::string file_;
  std::vector<std::string> lines_;
};

// A mapping node whose keys are looked up case-insensitively. finish() reports every key that
// no get() asked for, with the closest known key as a suggestion.
class YamlMap {
 public:
  // `path` is the dotted key of this node, for messages ("entryPoints.web").
  YamlMap(const YAML::Node& node, std::string path, Diagnostics& diag);
  bool ok() const { return ok_; }
  YAML::Node get(std::string_view key);
  // Every key of the map with its node, for maps keyed by user names (routers, entrypoints).
  std::vector<std::pair<std::string, YAML::Node>> entries() const;
  void finish();
  std::string child_path(std::string_view key) const;

 private:
  YAML::Node node_;
  std::string path_;
  Diagnostics& diag_;
  std::vector<std::string> asked_;
  bool ok_ = true;
};

bool read_string(const YAML::Node& n, std::string_view path, Diagnostics& d, std::string& out);
bool read_bool(const YAML::Node& n, std::string_view path, Diagnostics& d, bool& out);
bool read_int(const YAML::Node& n, std::string_view path, Diagnostics& d, long long min,
              long long max, long long& out);
// Go durations ("1m30s", "250ms", "1.5h") or a plain number of seconds, as Traefik accepts.
bool read_duration(const YAML::Node& n, std::string_view path, Diagnostics& d, Duration& out);
bool read_string_list(const YAML::Node& n, std::string_view path, Diagnostics& d,
                      std::vector<std::string>& out);

// Parses a Go-style duration; false when malformed.
bool parse_duration(std::string_view text, Duration& out);

// The candidate closest to `key` (case-insensitive edit distance), or "" when none is close.
std::string closest(std::string_view key, const std::vector<std::string>& candidates);

}  // namespace portier::config
