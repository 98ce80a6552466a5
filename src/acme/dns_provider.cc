#include "acme/dns_provider.h"

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <utility>

namespace portier::acme {

Env process_env() {
  return [](std::string_view name) -> std::optional<std::string> {
    std::string n(name);
    if (const char* v = std::getenv(n.c_str()); v != nullptr && *v != '\0') return std::string(v);
    if (const char* f = std::getenv((n + "_FILE").c_str()); f != nullptr && *f != '\0') {
      std::ifstream in(f);
      if (!in) return std::nullopt;
      std::stringstream ss;
      ss << in.rdbuf();
      std::string v = ss.str();
      while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
      return v;
    }
    return std::nullopt;
  };
}

std::optional<std::chrono::milliseconds> parse_seconds(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::size_t i = 0;
  double v = 0;
  bool digits = false;
  double scale = 1;
  for (; i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.');
       ++i) {
    if (text[i] == '.') {
      if (scale != 1) return std::nullopt;
      scale = 0.1;
      continue;
    }
    digits = true;
    if (scale == 1) {
      v = v * 10 + (text[i] - '0');
    } else {
      v += (text[i] - '0') * scale;
      scale /= 10;
    }
  }
  if (!digits) return std::nullopt;
  std::string_view unit = text.substr(i);
  double ms = 0;
  if (unit.empty() || unit == "s") {
    ms = v * 1000;
  } else if (unit == "ms") {
    ms = v;
  } else if (unit == "m") {
    ms = v * 60'000;
  } else if (unit == "h") {
    ms = v * 3'600'000;
  } else {
    return std::nullopt;
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(ms));
}

Result<bool> read_seconds(const std::optional<std::string>& value, std::string_view name,
                          std::chrono::milliseconds min, std::chrono::milliseconds& out) {
  if (!value) return true;
  auto d = parse_seconds(*value);
  if (!d) return Error{std::string(name) + ": `" + *value + "` is not a duration in seconds"};
  if (*d < min) {
    return Error{std::string(name) + ": `" + *value + "` is below the minimum (" +
                 std::to_string(min.count()) + " ms)"};
  }
  out = *d;
  return true;
}

Result<bool> read_timing(const Env& env, std::string_view prefix, DnsProvider& p) {
  const std::pair<const char*, std::chrono::milliseconds*> vars[] = {
      {"PROPAGATION_TIMEOUT", &p.propagation_timeout}, {"POLLING_INTERVAL", &p.polling_interval}};
  for (const auto& [name, out] : vars) {
    std::string var = std::string(prefix) + name;
    if (auto r = read_seconds(env(var), var, std::chrono::milliseconds(1), *out); !r) return r;
  }
  return true;
}

Result<std::unique_ptr<DnsProvider>> make_dns_provider(std::string_view name, const Env& env,
                                                       const dns::Lookup& lookup) {
  if (name == "rfc2136" || name == "dnsupdate") return make_rfc2136(env, lookup);
  if (name == "exec") return make_exec(env);
  if (name == "httpreq") return make_httpreq(env);
  if (name == "cloudflare") return make_cloudflare(env, lookup);
  return Error{"DNS provider `" + std::string(name) +
               "` is not supported by portier (supported: cloudflare, exec, httpreq, rfc2136)"};
}

}  // namespace portier::acme
