// accessLog: Traefik's keys (pkg/observability/types/logs.go) decoded into config::AccessLog.
// Unlike Traefik, which logs a bad format, mode or status range and goes on with its default,
// a bad value is an error with its place (static config fails fast).
#include <cstdlib>

#include "common/header_name.h"
#include "config/decode_internal.h"
#include "config/schema.h"

namespace portier::config::detail {
namespace {

bool parse_mode(const YAML::Node& n, const std::string& path, bool allow_redact, Diagnostics& d,
                AccessLogMode& out) {
  std::string v;
  if (!n || n.IsNull() || !read_string(n, path, d, v)) return false;
  v = lower_ascii(v);
  if (v == "keep") {
    out = AccessLogMode::Keep;
  } else if (v == "drop") {
    out = AccessLogMode::Drop;
  } else if (v == "redact" && allow_redact) {
    out = AccessLogMode::Redact;
  } else {
    d.add(n.Mark(), "`" + path + "` must be " +
                        (allow_redact ? "keep, drop or redact" : "keep or drop") + " (got `" + v +
                        "`)");
    return false;
  }
  return true;
}

// "200" or "300-302", as Traefik's NewHTTPCodeRanges reads them.
bool parse_range(const std::string& text, StatusCodeRange& out) {
  auto number = [](const std::string& s, int& v) {
    if (s.empty() || s.size() > 3) return false;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
    }
    v = std::atoi(s.c_str());
    return v >= 100 && v <= 999;
  };
  const auto dash = text.find('-');
  if (dash == std::string::npos) {
    if (!number(text, out.low)) return false;
    out.high = out.low;
    return true;
  }
  return number(text.substr(0, dash), out.low) && number(text.substr(dash + 1), out.high) &&
         out.low <= out.high;
}

void read_modes(const YAML::Node& n, const std::string& path, bool headers, Diagnostics& d,
                std::map<std::string, AccessLogMode>& out) {
  if (!n || n.IsNull()) return;
  if (!n.IsMap()) {
    d.add(n.Mark(), "`" + path + "` must be a mapping of names to keep, drop or redact");
    return;
  }
  for (const auto& kv : n) {
    const std::string name = kv.first.Scalar();
    AccessLogMode m;
    if (!parse_mode(kv.second, path + "." + name, true, d, m)) continue;
    out[headers ? canonical_header_name(name) : lower_ascii(name)] = m;
  }
}

}  // namespace

void decode_access_log(const YAML::Node& node, Diagnostics& d, Diagnostics& w, AccessLog& a) {
  YamlMap m(node, "accessLog", d);
  read_string(m.get("filePath"), "accessLog.filePath", d, a.file_path);
  if (YAML::Node n = m.get("format")) {
    std::string v;
    if (read_string(n, "accessLog.format", d, v)) {
      v = lower_ascii(v);
      if (v == "common") {
        a.format = AccessLogFormat::Common;
      } else if (v == "genericclf") {
        a.format = AccessLogFormat::GenericClf;
      } else if (v == "json") {
        a.format = AccessLogFormat::Json;
      } else {
        d.add(n.Mark(), "`accessLog.format` must be common, genericCLF or json (got `" + v + "`)");
      }
    }
  }
  read_int(m.get("bufferingSize"), "accessLog.bufferingSize", d, 0, 1 << 20, a.buffering_size);
  read_bool(m.get("addInternals"), "accessLog.addInternals", d, a.add_internals);
  if (YAML::Node fn = m.get("filters"); !section_off(fn)) {
    YamlMap f(fn, "accessLog.filters", d);
    std::vector<std::string> codes;
    if (YAML::Node sc = f.get("statusCodes");
        read_string_list(sc, "accessLog.filters.statusCodes", d, codes)) {
      for (const auto& c : codes) {
        StatusCodeRange r;
        if (parse_range(c, r)) {
          a.filters.status_codes.push_back(r);
        } else {
          d.add(sc.Mark(), "`accessLog.filters.statusCodes`: `" + c +
                               "` is not a status code (200) or a range (300-302)");
        }
      }
    }
    read_bool(f.get("retryAttempts"), "accessLog.filters.retryAttempts", d,
              a.filters.retry_attempts);
    read_duration(f.get("minDuration"), "accessLog.filters.minDuration", d, a.filters.min_duration);
    f.finish();
  }
  if (YAML::Node fn = m.get("fields"); !section_off(fn)) {
    YamlMap f(fn, "accessLog.fields", d);
    parse_mode(f.get("defaultMode"), "accessLog.fields.defaultMode", true, d,
               a.fields.default_mode);
    read_modes(f.get("names"), "accessLog.fields.names", false, d, a.fields.names);
    if (YAML::Node hn = f.get("headers"); !section_off(hn)) {
      YamlMap h(hn, "accessLog.fields.headers", d);
      parse_mode(h.get("defaultMode"), "accessLog.fields.headers.defaultMode", true, d,
                 a.fields.headers_default_mode);
      read_modes(h.get("names"), "accessLog.fields.headers.names", true, d, a.fields.header_names);
      h.finish();
    }
    if (YAML::Node qn = f.get("queryParameters"); !section_off(qn)) {
      YamlMap q(qn, "accessLog.fields.queryParameters", d);
      AccessLogMode qm = AccessLogMode::Keep;
      parse_mode(q.get("defaultMode"), "accessLog.fields.queryParameters.defaultMode", false, d,
                 qm);
      a.fields.keep_query_parameters = qm == AccessLogMode::Keep;
      q.finish();
    }
    f.finish();
  }
  unsupported_keys(m, d, w,
                   {{"dualOutput", ""},
                    {"otlp",
                     "serviceName,resourceAttributes{*},"
                     "grpc{endpoint,insecure,tls{ca,cert,key,insecureSkipVerify},headers{*}},"
                     "http{endpoint,tls{ca,cert,key,insecureSkipVerify},headers{*}}"}},
                   "; accepted and ignored");
  m.finish();
}

}  // namespace portier::config::detail
