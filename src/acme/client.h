// The request layer of RFC 8555: the directory, replay nonces, and signed POSTs (with one retry on
// badNonce, §6.5). Knows nothing of orders; order.h builds the flow on top of it.
//
// Threading: one thread at a time (the manager's). Blocking: each call blocks for the transport's
// timeout at most.
#pragma once

#include <openssl/evp.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "acme/transport.h"
#include "common/result.h"

namespace portier::acme {

class Client {
 public:
  Client(Transport& transport, std::string directory_url)
      : transport_(transport), directory_url_(std::move(directory_url)) {}

  // GETs the directory (again, each call: it is cheap and the CA may have changed it).
  Result<bool> fetch_directory();
  // A directory URL ("newOrder", "renewalInfo", ...), "" when the CA does not offer it.
  std::string endpoint(std::string_view name) const;
  bool has_renewal_info() const { return !endpoint("renewalInfo").empty(); }

  // A JWS POST to `url`: signed with `key`, identified by `kid` (empty: by the JWK), `payload`
  // nullopt for POST-as-GET. Retries once when the CA answers badNonce. A response with an
  // error status is returned as a value; only transport failures are errors.
  Result<HttpResponse> post(const std::string& url, EVP_PKEY* key, const std::string& kid,
                            const std::optional<nlohmann::json>& payload,
                            const std::string& accept = "");

  Transport& transport() { return transport_; }

 private:
  Result<std::string> take_nonce();

  Transport& transport_;
  std::string directory_url_;
  nlohmann::json directory_;
  std::string nonce_;  // from the last response, used once
};

// True for an RFC 7807 problem of type urn:ietf:params:acme:error:<type>.
bool is_problem(const HttpResponse& r, std::string_view type);
// "<status> <type>: <detail>" for an error response (no secrets: CA problem documents only).
std::string describe_error(const HttpResponse& r);
// j[key] when j is an object and that member a string, else "".
std::string json_string(const nlohmann::json& j, std::string_view key);
// The body as JSON, or an error naming `what`.
Result<nlohmann::json> parse_json(const HttpResponse& r, std::string_view what);

}  // namespace portier::acme
