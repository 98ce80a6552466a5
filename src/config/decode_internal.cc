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
  if (node.IsNull()) return;
  if (node.IsScalar()) {
    bool on = false;
    if (read_bool(node, path, d, on)) {
      if (on) {
        out = RouterTls{};
      } else {
        out.reset();
      }
    }
    return;
  }
  RouterTls t;
  YamlMap tm(node, path, d);
  read_string(tm.get("certResolver"), tm.child_path("certResolver"), d, t.cert_resolver);
  read_string(tm.get("options"), tm.child_path("options"), d, t.options);
  YAML::Node domains = tm.get("domains");
  if (domains && domains.IsSequence()) {
    for (const auto& dn : domains) {
      Domain dom;
      YamlMap dm(dn, tm.child_path("domains[]"), d);
      read_string(dm.get("main"), dm.child_path("main"), d, dom.main);
      read_string_list(dm.get("sans"), dm.child_path("sans"), d, dom.sans);
      dm.finish();
      t.domains.push_back(std::move(dom));
    }
  } else if (domains && !domains.IsNull()) {
    d.add(domains.Mark(), "`" + tm.child_path("domains") + "` must be a list");
  }
  tm.finish();
  out = std::move(t);
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
