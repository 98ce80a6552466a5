// The cloudflare provider (lego's), on Cloudflare's v4 API: the zone of the record (SOA walk at
// the recursive resolvers) -> GET /zones?name=<zone> -> POST /zones/<id>/dns_records (a TXT
// record, content quoted as lego sends it) -> DELETE /zones/<id>/dns_records/<record id>.
// Authentication: an API token (Bearer; CF_ZONE_API_TOKEN for the zone lookup when given), or
// the global API key (X-Auth-Email + X-Auth-Key). CLOUDFLARE_BASE_URL replaces the API's URL.
#include <map>
#include <nlohmann/json.hpp>

#include "acme/dns_http.h"
#include "acme/dns_provider.h"
#include "acme/ok.h"

namespace portier::acme {
namespace {

std::string unfqdn(std::string s) {
  if (s.ends_with('.')) s.pop_back();
  return s;
}

class Cloudflare : public DnsProvider {
 public:
  Result<bool> present(const DnsRecord& r) override {
    auto zone = zone_id(r.fqdn);
    if (!zone) return zone.error();
    nlohmann::json rec{{"type", "TXT"},
                       {"name", unfqdn(r.fqdn)},
                       {"content", "\"" + r.value + "\""},
                       {"ttl", ttl_}};
    auto res = call("POST", "/zones/" + *zone + "/dns_records", rec.dump(), dns_auth_);
    if (!res) return Error{"cloudflare: failed to create TXT record: " + res.error().message};
    std::string id = res->value("result", nlohmann::json::object()).value("id", "");
    if (id.empty()) return Error{"cloudflare: the created record has no id"};
    ids_[r.token] = id;
    return true;
  }
  Result<bool> cleanup(const DnsRecord& r) override {
    auto it = ids_.find(r.token);
    if (it == ids_.end()) return Error{"cloudflare: unknown record ID for '" + r.fqdn + "'"};
    auto zone = zone_id(r.fqdn);
    if (!zone) return zone.error();
    auto res = call("DELETE", "/zones/" + *zone + "/dns_records/" + it->second, "", dns_auth_);
    ids_.erase(it);
    if (!res) return Error{"cloudflare: failed to delete TXT record: " + res.error().message};
    return true;
  }

  std::string base_ = "https://api.cloudflare.com/client/v4";
  std::vector<std::string> dns_auth_, zone_auth_;
  int ttl_ = 120;
  std::chrono::milliseconds timeout_{std::chrono::seconds(30)};
  const dns::Lookup* lookup_ = nullptr;

 private:
  Result<std::string> zone_id(const std::string& fqdn) {
    auto zone = lookup_->find_zone(fqdn);
    if (!zone)
      return Error{"cloudflare: could not find zone for " + fqdn + ": " + zone.error().message};
    std::string name = unfqdn(*zone);
    auto res = call("GET", "/zones?name=" + name, "", zone_auth_);
    if (!res) return Error{"cloudflare: failed to find zone " + name + ": " + res.error().message};
    auto zones = res->value("result", nlohmann::json::array());
    for (const auto& z : zones.is_array() ? zones : nlohmann::json::array()) {
      if (z.is_object() && z.value("name", "") == name && z.contains("id") && z["id"].is_string()) {
        return ok(z["id"].get<std::string>());
      }
    }
    return Error{"cloudflare: zone " + name + " not found"};
  }

  // A v4 API call: {"success": true, "result": ...} or the API's errors.
  Result<nlohmann::json> call(const std::string& method, const std::string& path,
                              const std::string& body, const std::vector<std::string>& auth) {
    std::vector<std::string> headers = auth;
    headers.push_back("Accept: application/json");
    if (!body.empty()) headers.push_back("Content-Type: application/json");
    auto res = dns_http(method, base_ + path, headers, body, "", timeout_);
    if (!res) return res.error();
    auto j = nlohmann::json::parse(res->body, nullptr, false);
    if (res->status / 100 == 2 && j.is_object() && j.value("success", false))
      return ok(std::move(j));
    std::string errors = j.is_object() && j.contains("errors") ? j["errors"].dump() : res->body;
    return Error{"[status code " + std::to_string(res->status) + "] " + errors.substr(0, 300)};
  }

  std::map<std::string, std::string> ids_;  // token -> record id
};

}  // namespace

Result<std::unique_ptr<DnsProvider>> make_cloudflare(const Env& env, const dns::Lookup& lookup) {
  auto get = [&](const char* name, const char* alias) {
    auto v = env(std::string("CLOUDFLARE_") + name);
    return v ? v : env(alias);
  };
  auto p = std::make_unique<Cloudflare>();
  p->lookup_ = &lookup;
  p->propagation_timeout = std::chrono::minutes(2);
  auto email = get("EMAIL", "CF_API_EMAIL"), key = get("API_KEY", "CF_API_KEY");
  auto token = get("DNS_API_TOKEN", "CF_DNS_API_TOKEN");
  auto zone_token = get("ZONE_API_TOKEN", "CF_ZONE_API_TOKEN");
  if (email && key) {
    p->dns_auth_ = {"X-Auth-Email: " + *email, "X-Auth-Key: " + *key};
    p->zone_auth_ = p->dns_auth_;
  } else if (token) {
    p->dns_auth_ = {"Authorization: Bearer " + *token};
    p->zone_auth_ = {"Authorization: Bearer " + zone_token.value_or(*token)};
  } else {
    return Error{
        "cloudflare: set CF_DNS_API_TOKEN (and optionally CF_ZONE_API_TOKEN), or "
        "CF_API_EMAIL and CF_API_KEY"};
  }
  if (auto base = env("CLOUDFLARE_BASE_URL")) {
    p->base_ = *base;
    while (p->base_.ends_with('/')) p->base_.pop_back();
  }
  std::chrono::milliseconds ttl = std::chrono::seconds(p->ttl_);
  Result<bool> r =
      read_seconds(get("TTL", "CF_TTL"), "CLOUDFLARE_TTL", std::chrono::seconds(120), ttl);
  if (r) {
    r = read_seconds(get("HTTP_TIMEOUT", "CF_HTTP_TIMEOUT"), "CLOUDFLARE_HTTP_TIMEOUT",
                     std::chrono::milliseconds(1), p->timeout_);
  }
  if (r) r = read_timing(env, "CF_", *p);
  if (r) r = read_timing(env, "CLOUDFLARE_", *p);
  if (!r) return Error{"cloudflare: " + r.error().message};
  p->ttl_ = static_cast<int>(ttl.count() / 1000);
  return std::unique_ptr<DnsProvider>(std::move(p));
}

}  // namespace portier::acme
