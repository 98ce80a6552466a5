#include "acme/schedule.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>

#include "common/base64.h"

namespace portier::acme {

std::chrono::milliseconds retry_delay(int failures, std::chrono::milliseconds base, double jitter) {
  using namespace std::chrono;
  milliseconds d = failures <= 1   ? base
                   : failures == 2 ? base * 10
                   : failures == 3 ? base * 100
                                   : duration_cast<milliseconds>(hours(24));
  jitter = std::clamp(jitter, -1.0, 1.0);
  return milliseconds(
      static_cast<std::int64_t>(static_cast<double>(d.count()) * (1.0 + 0.1 * jitter)));
}

std::chrono::milliseconds retry_base_from_env() {
  if (const char* v = std::getenv("PORTIER_ACME_RETRY_BASE_MS")) {
    char* end = nullptr;
    long long ms = std::strtoll(v, &end, 10);
    if (end != v && *end == '\0' && ms > 0) return std::chrono::milliseconds(ms);
  }
  return std::chrono::minutes(1);
}

std::int64_t certificate_renew_period(std::int64_t hours) {
  constexpr std::int64_t h = 3600, d = 24 * h;
  if (hours >= 365 * 24) return 4 * 30 * d;
  if (hours >= 3 * 30 * 24) return 30 * d;
  if (hours >= 30 * 24) return 10 * d;
  if (hours >= 6 * 24) return 2 * d;
  if (hours >= 24) return 6 * h;
  return 20 * 60;
}

std::int64_t renewal_due(std::int64_t not_before, std::int64_t not_after,
                         std::int64_t certificates_duration_hours) {
  if (not_after <= not_before) {
    return not_after - certificate_renew_period(certificates_duration_hours);
  }
  return not_after - (not_after - not_before) / 3;
}

std::string ari_cert_id(const CertInfo& cert) {
  if (cert.authority_key_id.empty() || cert.serial.empty()) return {};
  return base64url_encode(cert.authority_key_id) + "." + base64url_encode(cert.serial);
}

std::optional<std::int64_t> parse_rfc3339(std::string_view s) {
  int Y, M, D, h, m, sec;
  std::string str(s);
  int consumed = 0;
  if (std::sscanf(str.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &Y, &M, &D, &h, &m, &sec, &consumed) !=
      6) {
    return std::nullopt;
  }
  std::string_view rest = s.substr(static_cast<std::size_t>(consumed));
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    while (!rest.empty() && std::isdigit(static_cast<unsigned char>(rest.front()))) {
      rest.remove_prefix(1);
    }
  }
  std::int64_t offset = 0;
  if (rest == "Z" || rest == "z") {
    offset = 0;
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    int oh = std::atoi(std::string(rest.substr(1, 2)).c_str());
    int om = std::atoi(std::string(rest.substr(4, 2)).c_str());
    offset = (rest[0] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
  } else {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = Y - 1900;
  tm.tm_mon = M - 1;
  tm.tm_mday = D;
  tm.tm_hour = h;
  tm.tm_min = m;
  tm.tm_sec = sec;
  return static_cast<std::int64_t>(timegm(&tm)) - offset;
}

std::optional<RenewalWindow> parse_renewal_info(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("suggestedWindow")) return std::nullopt;
  const auto& w = j["suggestedWindow"];
  if (!w.is_object() || !w.contains("start") || !w.contains("end") || !w["start"].is_string() ||
      !w["end"].is_string()) {
    return std::nullopt;
  }
  auto start = parse_rfc3339(w["start"].get<std::string>());
  auto end = parse_rfc3339(w["end"].get<std::string>());
  if (!start || !end || *end < *start) return std::nullopt;
  return RenewalWindow{*start, *end};
}

std::int64_t pick_in_window(const RenewalWindow& w, double u) {
  u = std::clamp(u, 0.0, 1.0);
  return w.start + static_cast<std::int64_t>(static_cast<double>(w.end - w.start) * u);
}

std::vector<std::string> normalize_domains(const std::vector<std::string>& domains) {
  std::vector<std::string> out;
  for (auto d : domains) {
    std::transform(d.begin(), d.end(), d.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (!d.empty()) out.push_back(std::move(d));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace portier::acme
