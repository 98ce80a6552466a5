#include "config/yaml_reader.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>

#include "common/ascii.h"

namespace portier::config {
namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

void Diagnostics::add(const YAML::Mark& mark, std::string message) {
  std::string where = file_;
  if (!mark.is_null()) {
    where += ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
  }
  lines_.push_back(where + ": " + message);
}

std::string Diagnostics::str() const {
  std::string out;
  for (const auto& l : lines_) {
    if (!out.empty()) out += '\n';
    out += l;
  }
  return out;
}

YamlMap::YamlMap(const YAML::Node& node, std::string path, Diagnostics& diag)
    : node_(node), path_(std::move(path)), diag_(diag) {
  // `key: true` (and a bare --flag) enables a section with its defaults; `false` is handled by
  // the caller (section_off) and reads as empty here.
  if (node_ && node_.IsScalar() &&
      (ascii_lower(node_.Scalar()) == "true" || ascii_lower(node_.Scalar()) == "false")) {
    node_.reset(YAML::Node(YAML::NodeType::Null));
    return;
  }
  if (node_ && !node_.IsNull() && !node_.IsMap()) {
    diag_.add(node_.Mark(), "`" + path_ + "` must be a mapping");
    ok_ = false;
  }
}

std::string YamlMap::child_path(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

YAML::Node YamlMap::get(std::string_view key) {
  asked_.emplace_back(key);
  if (!ok_ || !node_ || !node_.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  // YAML::Node's operator= writes through to the referenced node; reset() rebinds.
  YAML::Node found(YAML::NodeType::Undefined);
  bool seen = false;
  for (const auto& kv : node_) {
    const std::string k = kv.first.Scalar();
    if (ascii_lower(k) == ascii_lower(key)) {
      if (seen) {
        diag_.add(kv.first.Mark(), "key `" + child_path(key) + "` is given twice");
      }
      found.reset(kv.second);
      seen = true;
    }
  }
  return found;
}

std::vector<std::pair<std::string, YAML::Node>> YamlMap::entries() const {
  std::vector<std::pair<std::string, YAML::Node>> out;
  if (!ok_ || !node_ || !node_.IsMap()) return out;
  for (const auto& kv : node_) out.emplace_back(kv.first.Scalar(), kv.second);
  return out;
}

void YamlMap::finish() {
  if (!ok_ || !node_ || !node_.IsMap()) return;
  for (const auto& kv : node_) {
    const std::string k = kv.first.Scalar();
    bool known = std::any_of(asked_.begin(), asked_.end(), [&](const std::string& a) {
      return ascii_lower(a) == ascii_lower(k);
    });
    if (known) continue;
    std::string msg = "unknown key `" + child_path(k) + "`";
    if (std::string s = closest(k, asked_); !s.empty()) {
      msg += "; did you mean `" + child_path(s) + "`?";
    }
    diag_.add(kv.first.Mark(), msg);
  }
}

std::string closest(std::string_view key, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_d = std::max<std::size_t>(2, key.size() / 3) + 1;
  std::string lk = ascii_lower(key);
  for (const auto& c : candidates) {
    std::size_t d = edit_distance(lk, ascii_lower(c));
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

bool read_string(const YAML::Node& n, std::string_view path, Diagnostics& d, std::string& out) {
  if (!n || n.IsNull()) return true;
  if (!n.IsScalar()) {
    d.add(n.Mark(), "`" + std::string(path) + "` must be a string");
    return false;
  }
  out = n.Scalar();
  return true;
}

bool read_bool(const YAML::Node& n, std::string_view path, Diagnostics& d, bool& out) {
  if (!n || n.IsNull()) return true;
  std::string v = n.IsScalar() ? ascii_lower(n.Scalar()) : "";
  if (v == "true") {
    out = true;
  } else if (v == "false") {
    out = false;
  } else {
    d.add(n.Mark(), "`" + std::string(path) + "` must be true or false");
    return false;
  }
  return true;
}

bool read_int(const YAML::Node& n, std::string_view path, Diagnostics& d, long long min,
              long long max, long long& out) {
  if (!n || n.IsNull()) return true;
  const std::string s = n.IsScalar() ? n.Scalar() : "";
  char* end = nullptr;
  long long v = s.empty() ? 0 : std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || v < min || v > max) {
    d.add(n.Mark(), "`" + std::string(path) + "` must be an integer from " + std::to_string(min) +
                        " to " + std::to_string(max));
    return false;
  }
  out = v;
  return true;
}

bool parse_duration(std::string_view text, Duration& out) {
  if (text.empty()) return false;
  // A bare number is seconds (Traefik accepts this for every duration).
  bool all_digits =
      std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (all_digits) {
    if (text.size() > 9) return false;
    out = std::chrono::seconds(std::stoll(std::string(text)));
    return true;
  }
  double total_ms = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t start = i;
    while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
    if (i == start || i - start > 12) return false;
    double v = std::strtod(std::string(text.substr(start, i - start)).c_str(), nullptr);
    std::size_t ustart = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(ustart, i - ustart);
    double mult;
    if (unit == "h")
      mult = 3600e3;
    else if (unit == "m")
      mult = 60e3;
    else if (unit == "s")
      mult = 1e3;
    else if (unit == "ms")
      mult = 1;
    else if (unit == "us" || unit == "µs")
      mult = 1e-3;
    else if (unit == "ns")
      mult = 1e-6;
    else
      return false;
    total_ms += v * mult;
  }
  if (total_ms > 1e12) return false;
  out = Duration(static_cast<long long>(std::llround(total_ms)));
  return true;
}

bool read_duration(const YAML::Node& n, std::string_view path, Diagnostics& d, Duration& out) {
  if (!n || n.IsNull()) return true;
  if (!n.IsScalar() || !parse_duration(n.Scalar(), out)) {
    d.add(n.Mark(), "`" + std::string(path) + "` must be a duration like 10s, 250ms or 1m30s");
    return false;
  }
  return true;
}

bool read_string_list(const YAML::Node& n, std::string_view path, Diagnostics& d,
                      std::vector<std::string>& out) {
  if (!n || n.IsNull()) return true;
  out.clear();
  if (n.IsScalar()) {  // "a,b" as Traefik's flags and labels allow
    std::string s = n.Scalar();
    std::size_t i = 0;
    while (i <= s.size()) {
      std::size_t c = std::min(s.find(',', i), s.size());
      std::string item = s.substr(i, c - i);
      item.erase(0, item.find_first_not_of(' '));
      item.erase(item.find_last_not_of(' ') + 1);
      if (!item.empty()) out.push_back(item);
      i = c + 1;
    }
    return true;
  }
  if (!n.IsSequence()) {
    d.add(n.Mark(), "`" + std::string(path) + "` must be a list");
    return false;
  }
  for (const auto& item : n) {
    if (!item.IsScalar()) {
      d.add(item.Mark(), "`" + std::string(path) + "` must be a list of strings");
      return false;
    }
    out.push_back(item.Scalar());
  }
  return true;
}

}  // namespace portier::config
