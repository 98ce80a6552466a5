#include "config/toml.h"

#include <toml++/toml.h>

#include <sstream>

namespace portier::config {
namespace {

YAML::Node convert(const toml::node& n) {
  if (const auto* t = n.as_table()) {
    YAML::Node m(YAML::NodeType::Map);
    for (const auto& [k, v] : *t) m[std::string(k.str())] = convert(v);
    return m;
  }
  if (const auto* a = n.as_array()) {
    YAML::Node s(YAML::NodeType::Sequence);
    for (const auto& v : *a) s.push_back(convert(v));
    return s;
  }
  if (const auto* v = n.as_string()) return YAML::Node(v->get());
  if (const auto* v = n.as_integer()) return YAML::Node(std::to_string(v->get()));
  if (const auto* v = n.as_boolean()) return YAML::Node(std::string(v->get() ? "true" : "false"));
  std::ostringstream ss;  // floats, dates and times: their TOML text
  n.visit([&](const auto& value) { ss << value; });
  return YAML::Node(ss.str());
}

}  // namespace

bool is_toml_path(const std::string& path) {
  return path.size() > 5 && path.compare(path.size() - 5, 5, ".toml") == 0;
}

Result<YAML::Node> parse_toml(const std::string& text, const std::string& file) {
  try {
    toml::table t = toml::parse(text, file);
    return Result<YAML::Node>(boost::system::in_place_value, convert(t));
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    return Result<YAML::Node>(
        boost::system::in_place_error,
        Error{file + ":" + std::to_string(b.line) + ":" + std::to_string(b.column) + ": " +
              std::string(e.description())});
  }
}

}  // namespace portier::config
