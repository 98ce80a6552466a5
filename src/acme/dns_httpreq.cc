// The httpreq provider (lego's): POST <HTTPREQ_ENDPOINT>/present and /cleanup with
// {"fqdn": ..., "value": ...}, or with HTTPREQ_MODE=RAW {"domain", "token", "keyAuth"}; Basic
// authentication when HTTPREQ_USERNAME and HTTPREQ_PASSWORD are set; any 2xx is success.
#include <nlohmann/json.hpp>

#include "acme/dns_http.h"
#include "acme/dns_provider.h"

namespace portier::acme {
namespace {

class HttpReq : public DnsProvider {
 public:
  Result<bool> present(const DnsRecord& r) override { return post("/present", r); }
  Result<bool> cleanup(const DnsRecord& r) override { return post("/cleanup", r); }

  std::string endpoint_;
  bool raw_ = false;
  std::string basic_;
  std::chrono::milliseconds timeout_{std::chrono::seconds(30)};

 private:
  Result<bool> post(const std::string& path, const DnsRecord& r) {
    nlohmann::json body =
        raw_ ? nlohmann::json{{"domain", r.domain}, {"token", r.token}, {"keyAuth", r.key_auth}}
             : nlohmann::json{{"fqdn", r.fqdn}, {"value", r.value}};
    std::string url = endpoint_;
    while (url.ends_with('/')) url.pop_back();
    auto res =
        dns_http("POST", url + path, {"Accept: application/json", "Content-Type: application/json"},
                 body.dump() + "\n", basic_, timeout_);
    if (!res) return Error{"httpreq: " + res.error().message};
    if (res->status / 100 != 2) {
      return Error{"httpreq: " + path + ": unexpected status " + std::to_string(res->status) +
                   ": " + res->body.substr(0, 200)};
    }
    return true;
  }
};

}  // namespace

Result<std::unique_ptr<DnsProvider>> make_httpreq(const Env& env) {
  auto p = std::make_unique<HttpReq>();
  auto endpoint = env("HTTPREQ_ENDPOINT");
  if (!endpoint) return Error{"httpreq: HTTPREQ_ENDPOINT is not set"};
  if (!endpoint->starts_with("http://") && !endpoint->starts_with("https://")) {
    return Error{"httpreq: HTTPREQ_ENDPOINT must be an http:// or https:// URL"};
  }
  p->endpoint_ = *endpoint;
  p->raw_ = env("HTTPREQ_MODE").value_or("") == "RAW";
  auto user = env("HTTPREQ_USERNAME"), pass = env("HTTPREQ_PASSWORD");
  if (user && pass) p->basic_ = *user + ":" + *pass;
  Result<bool> r = read_seconds(env("HTTPREQ_HTTP_TIMEOUT"), "HTTPREQ_HTTP_TIMEOUT",
                                std::chrono::milliseconds(1), p->timeout_);
  if (r) r = read_timing(env, "HTTPREQ_", *p);
  if (!r) return Error{"httpreq: " + r.error().message};
  return std::unique_ptr<DnsProvider>(std::move(p));
}

}  // namespace portier::acme
