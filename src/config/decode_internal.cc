#include "config/decode_internal.h"

#include <cctype>
#include <fstream>
#include <sstream>

namespace portier::config::detail {

std::string lower_ascii(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

Result<YAML::Node> parse_yaml(const std::string& text, Diagnostics& diag) {
  try {
    return Result<YAML::Node>(boost::system::in_place_value, YAML::Load(text));
  } catch (const YAML::Exception& e) {
    diag.add(e.mark, e.msg);
    return Result<YAML::Node>(boost::system::in_place_error, Error{diag.str()});
  }
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Result<std::string>(boost::system::in_place_error, Error{path + ": cannot open file"});
  std::ostringstream ss;
  ss << in.rdbuf();
  return Result<std::string>(boost::system::in_place_value, ss.str());
}

void decode_router_tls(const YAML::Node& node, const std::string& path, Diagnostics& d,
                       std::optional<RouterTls>& out) {
  decode_tls_block(node, path, d, out, [](YamlMap&, RouterTls&) {});
}

void read_string_map(const YAML::Node& n, const std::string& path, Diagnostics& d,
                     std::map<std::string, std::string>& out) {
  if (!n || n.IsNull()) return;
  if (!n.IsMap()) {
    d.add(n.Mark(), "`" + path + "` must be a mapping of names to values");
    return;
  }
  for (const auto& kv : n) {
    std::string v;
    if (read_string(kv.second, path + "." + kv.first.Scalar(), d, v)) out[kv.first.Scalar()] = v;
  }
}

}  // namespace portier::config::detail
