#include "providers/file/file_state.h"

#include <cctype>

#include "config/decode.h"
#include "config/toml.h"

namespace portier::providers::file {

Result<config::Configuration> decode_file(const std::string& text, const std::string& path) {
  if (!config::is_toml_path(path)) return config::decode_dynamic_yaml(text, path);
  auto tree = config::parse_toml(text, path);
  if (!tree) return tree.error();
  return config::decode_dynamic_node(*tree, path, config::ObjectErrors::Disable);
}

bool event_matters(std::string_view name, bool is_dir, const std::vector<std::string>& file_names) {
  if (is_dir || name.starts_with("..")) return true;
  if (!file_names.empty()) {
    for (const auto& n : file_names) {
      if (name == n) return true;
    }
    return false;
  }
  if (name.empty() || name.front() == '.') return false;
  for (std::string_view ext : {".yml", ".yaml", ".json", ".toml"}) {
    if (name.size() > ext.size() && name.ends_with(ext)) return true;
  }
  return false;
}

int line_of(const std::string& message, const std::string& path) {
  if (message.compare(0, path.size(), path) != 0 || message.size() <= path.size() ||
      message[path.size()] != ':') {
    return 0;
  }
  int line = 0;
  std::size_t i = path.size() + 1;
  for (; i < message.size() && std::isdigit(static_cast<unsigned char>(message[i])); ++i) {
    if (line > 100'000'000) return 0;
    line = line * 10 + (message[i] - '0');
  }
  return i < message.size() && message[i] == ':' ? line : 0;
}

Outcome step(FileState& s, const std::string& path, const Observation& o, const Timing& t) {
  if (o.kind == Observation::Kind::Missing) {
    s.pending.reset();
    s.waiting = false;
    // Nothing served from it: nothing to protect by waiting.
    if (s.missing || !s.good) return Outcome::Removed;
    s.missing = true;
    return Outcome::Settling;
  }
  s.missing = false;
  if (o.activity == Activity::Open && o.quiet_for < t.open_grace) {
    s.pending.reset();
    s.waiting = true;
    return Outcome::Waiting;
  }
  s.waiting = false;
  if (o.kind == Observation::Kind::Unreadable) {
    s.pending.reset();
    if (s.unreadable == o.error) return Outcome::Unchanged;
    s.unreadable = o.error;
    return Outcome::Unreadable;
  }
  s.unreadable.clear();
  if (s.content && *s.content == o.content) {
    s.pending.reset();
    return Outcome::Unchanged;
  }
  // Changed. Closed after writing: final. Otherwise it must read the same twice.
  const bool quiet = o.activity == Activity::Closed || (s.pending && *s.pending == o.content);
  if (!quiet) {
    s.pending = o.content;
    return Outcome::Settling;
  }
  s.pending.reset();
  s.content = o.content;
  auto cfg = decode_file(o.content, path);
  if (!cfg) {
    s.refused =
        config::ProviderIssue{path, line_of(cfg.error().message, path), cfg.error().message};
    return Outcome::Broken;
  }
  static const config::Configuration kEmpty;
  if (*cfg == kEmpty && s.good && !(*s.good == kEmpty)) {
    s.refused = config::ProviderIssue{
        path, 0,
        path +
            ": the file is empty (no routers, services, middlewares or tls); its last good "
            "version stays live. Delete the file to remove its objects."};
    return Outcome::Emptied;
  }
  s.good = std::move(*cfg);
  s.refused.reset();
  return Outcome::Applied;
}

std::vector<config::ProviderIssue> issues_of(const FileState& s, const std::string& path,
                                             const Timing& t) {
  std::vector<config::ProviderIssue> out;
  const std::string kept = s.good ? "; its last good version stays live" : "";
  if (!s.unreadable.empty()) {
    out.push_back({path, 0, path + ": cannot read the file: " + s.unreadable + kept});
  }
  if (s.refused) {
    out.push_back(*s.refused);
    if (!kept.empty() && s.refused->message.find(kept) == std::string::npos) {
      out.back().message += kept;
    }
  }
  // Sections accepted but not served yet (http.models): shown, not refused.
  if (s.good) {
    for (const auto& w : s.good->warnings) out.push_back({path, line_of(w, path), w, true});
  }
  if (s.waiting) {
    out.push_back({path, 0,
                   path + ": being written (not closed yet); it is read once closed, or after " +
                       std::to_string(t.open_grace.count()) + " ms without writes",
                   true});
  }
  return out;
}

}  // namespace portier::providers::file
