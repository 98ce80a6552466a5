#include "config/schema.h"

#include <algorithm>
#include <cctype>
#include <memory>

#include "common/ascii.h"

namespace portier::config {
namespace {

struct Key {
  std::string name;  // "*" matches any key
  bool has_children = false;
  std::string_view children;  // schema text inside the braces
};

// Splits one level of schema text into keys; nested braces stay unparsed until needed.
std::vector<Key> parse_level(std::string_view s) {
  std::vector<Key> keys;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ',' || s[i] == ' ' || s[i] == '\n')) ++i;
    if (i >= s.size()) break;
    std::size_t start = i;
    while (i < s.size() && s[i] != ',' && s[i] != '{') ++i;
    Key k;
    k.name = std::string(s.substr(start, i - start));
    while (!k.name.empty() && k.name.back() == ' ') k.name.pop_back();
    if (i < s.size() && s[i] == '{') {
      int depth = 1;
      std::size_t open = ++i;
      while (i < s.size() && depth > 0) {
        if (s[i] == '{') ++depth;
        if (s[i] == '}') --depth;
        ++i;
      }
      k.has_children = true;
      k.children = s.substr(open, i - open - 1);
    }
    keys.push_back(std::move(k));
  }
  return keys;
}

bool enable_scalar(const YAML::Node& n) {
  if (!n.IsScalar()) return false;
  const std::string v = ascii_lower(n.Scalar());
  return v == "true" || v == "false";
}

}  // namespace

bool section_off(const YAML::Node& node) {
  return !node || (node.IsScalar() && ascii_lower(node.Scalar()) == "false");
}

void unsupported_keys(YamlMap& m, Diagnostics& errors, Diagnostics& report,
                      const std::vector<KnownKey>& keys, const std::string& tail) {
  for (const auto& k : keys) {
    YAML::Node n = m.get(k.key);
    if (!n) continue;
    const std::string path = m.child_path(k.key);
    if (!k.schema.empty()) check_schema(n, k.schema, path, errors);
    if (section_off(n)) continue;
    if (n.IsScalar() && (n.Scalar() == "0" || n.Scalar().empty())) continue;
    report.add(n.Mark(), "`" + path + "` is not supported yet" + tail);
  }
}

void check_schema(const YAML::Node& node, std::string_view schema, const std::string& path,
                  Diagnostics& errors) {
  if (!node || node.IsNull() || enable_scalar(node)) return;
  if (!node.IsMap()) {
    errors.add(node.Mark(), "`" + path + "` must be a mapping");
    return;
  }
  const std::vector<Key> keys = parse_level(schema);
  std::vector<std::string> names;
  for (const auto& k : keys) {
    if (k.name != "*") names.push_back(k.name);
  }
  for (const auto& kv : node) {
    const std::string k = kv.first.Scalar();
    const std::string child = path.empty() ? k : path + "." + k;
    auto it = std::find_if(keys.begin(), keys.end(),
                           [&](const Key& key) { return ascii_lower(key.name) == ascii_lower(k); });
    if (it == keys.end()) {
      it = std::find_if(keys.begin(), keys.end(), [](const Key& key) { return key.name == "*"; });
    }
    if (it == keys.end()) {
      std::string msg = "unknown key `" + child + "`";
      if (std::string s = closest(k, names); !s.empty()) {
        msg += "; did you mean `" + (path.empty() ? s : path + "." + s) + "`?";
      }
      errors.add(kv.first.Mark(), msg);
      continue;
    }
    if (!it->has_children) continue;
    const YAML::Node& v = kv.second;
    if (v.IsSequence()) {  // a list of objects (servers, domains, ...)
      for (const auto& item : v) {
        if (item.IsMap()) check_schema(item, it->children, child + "[]", errors);
      }
      continue;
    }
    check_schema(v, it->children, child, errors);
  }
}

}  // namespace portier::config
