#include "acme/client.h"

#include "acme/jws.h"
#include "acme/ok.h"

namespace portier::acme {

Result<bool> Client::fetch_directory() {
  auto r = transport_.get(directory_url_);
  if (!r) return r.error();
  if (r->status != 200) return Error{"directory " + directory_url_ + ": " + describe_error(*r)};
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("newNonce") || !j.contains("newOrder") ||
      !j.contains("newAccount")) {
    return Error{"directory " + directory_url_ + " is not an ACME directory"};
  }
  directory_ = std::move(j);
  return true;
}

std::string Client::endpoint(std::string_view name) const {
  auto it = directory_.find(name);
  if (it == directory_.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

Result<std::string> Client::take_nonce() {
  if (!nonce_.empty()) {
    return ok<std::string>(std::exchange(nonce_, {}));
  }
  auto r = transport_.head(endpoint("newNonce"));
  if (!r) return r.error();
  std::string n = r->header("Replay-Nonce");
  if (n.empty())
    return Error{"newNonce answered " + std::to_string(r->status) + " without a nonce"};
  return ok<std::string>(std::move(n));
}

Result<HttpResponse> Client::post(const std::string& url, EVP_PKEY* key, const std::string& kid,
                                  const std::optional<nlohmann::json>& payload,
                                  const std::string& accept) {
  for (int attempt = 0;; ++attempt) {
    auto nonce = take_nonce();
    if (!nonce) return nonce.error();
    auto body = make_jws(key, url, *nonce, kid, payload);
    if (!body) return body.error();
    auto r = transport_.post(url, *body, accept);
    if (!r) return r.error();
    if (std::string n = r->header("Replay-Nonce"); !n.empty()) nonce_ = n;
    if (attempt == 0 && r->status == 400 && is_problem(*r, "badNonce")) continue;
    return r;
  }
}

bool is_problem(const HttpResponse& r, std::string_view type) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (!j.is_object()) return false;
  return json_string(j, "type") == "urn:ietf:params:acme:error:" + std::string(type);
}

std::string describe_error(const HttpResponse& r) {
  std::string out = "HTTP " + std::to_string(r.status);
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_object()) {
    std::string type = json_string(j, "type");
    if (auto p = type.rfind(':'); p != std::string::npos) type = type.substr(p + 1);
    if (!type.empty()) out += " " + type;
    if (std::string detail = json_string(j, "detail"); !detail.empty()) out += ": " + detail;
  }
  return out;
}

std::string json_string(const nlohmann::json& j, std::string_view key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Result<nlohmann::json> parse_json(const HttpResponse& r, std::string_view what) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Error{std::string(what) + ": the CA answered with invalid JSON"};
  }
  return ok(std::move(j));
}

}  // namespace portier::acme
