// Token checks for jwt_verify.h, in the order that leaks least: shape and header first, then the
// signature, and only a verified payload's claims (an attacker learns nothing about the claim
// policy without a valid signature).
#include "proxy/middlewares/jwt_verify.h"

#include <algorithm>

namespace portier::proxy::jwt {
namespace {

using json = nlohmann::json;

Outcome fail(Status s, std::string why) {
  Outcome o;
  o.status = s;
  o.description = std::move(why);
  return o;
}

std::optional<json> json_object(std::string_view b64) {
  auto bytes = base64url_strict(b64);
  if (!bytes) return std::nullopt;
  json j = json::parse(*bytes, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

// A NumericDate (seconds, possibly fractional); nullopt when absent, error when not a number.
Result<std::optional<double>> numeric(const json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end()) return std::optional<double>();
  if (!it->is_number()) return Error{std::string(name) + " is not a number"};
  return std::optional<double>(it->get<double>());
}

bool value_matches(const json& v, const std::string& want) {
  if (v.is_array()) {
    return std::any_of(v.begin(), v.end(), [&](const json& e) { return claim_text(e) == want; });
  }
  return claim_text(v) == want;
}

Outcome check_claims(json claims, const Policy& p, std::int64_t now) {
  auto exp = numeric(claims, "exp");
  auto nbf = numeric(claims, "nbf");
  if (!exp) return fail(Status::Malformed, exp.error().message);
  if (!nbf) return fail(Status::Malformed, nbf.error().message);
  const double leeway = double(p.leeway.count());
  if (*exp && double(now) >= **exp + leeway) return fail(Status::Expired, "the token has expired");
  if (*nbf && double(now) + leeway < **nbf) {
    return fail(Status::NotYetValid, "the token is not valid yet");
  }
  if (!p.issuers.empty()) {
    auto it = claims.find("iss");
    if (it == claims.end() || !it->is_string() ||
        std::find(p.issuers.begin(), p.issuers.end(), it->get<std::string>()) == p.issuers.end()) {
      return fail(Status::BadIssuer, "the issuer is not accepted");
    }
  }
  if (!p.audiences.empty()) {
    auto it = claims.find("aud");
    bool any = false;
    if (it != claims.end()) {
      std::vector<json> auds =
          it->is_array() ? std::vector<json>(it->begin(), it->end()) : std::vector<json>{*it};
      for (const auto& a : auds) {
        any = any || (a.is_string() && std::find(p.audiences.begin(), p.audiences.end(),
                                                 a.get<std::string>()) != p.audiences.end());
      }
    }
    if (!any) return fail(Status::BadAudience, "the audience is not accepted");
  }
  for (const auto& name : p.required_claims) {
    if (!claims.contains(name)) return fail(Status::MissingClaim, "claim " + name + " is missing");
  }
  for (const auto& [name, want] : p.claims) {
    auto it = claims.find(name);
    if (it == claims.end() || !value_matches(*it, want)) {
      return fail(Status::ClaimValue, "claim " + name + " does not have the required value");
    }
  }
  Outcome o;
  o.status = Status::Ok;
  o.claims = std::move(claims);
  return o;
}

}  // namespace

std::string claim_text(const json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

Outcome verify(std::string_view token, std::span<const KeySet* const> sets, const Policy& p,
               std::int64_t now) {
  if (token.size() > kMaxTokenSize) return fail(Status::Malformed, "the token is too large");
  const auto dot1 = token.find('.');
  const auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return fail(Status::Malformed, "the token is not a signed JWT (three parts)");
  }
  auto header = json_object(token.substr(0, dot1));
  if (!header) return fail(Status::Malformed, "the token header is not base64url JSON");
  auto alg_it = header->find("alg");
  if (alg_it == header->end() || !alg_it->is_string()) {
    return fail(Status::Malformed, "the token has no alg");
  }
  const std::string alg_text = alg_it->get<std::string>();
  auto alg = alg_from_name(alg_text);
  if (!alg || std::find(p.algorithms.begin(), p.algorithms.end(), *alg) == p.algorithms.end()) {
    return fail(Status::Malformed, "the algorithm is not accepted");
  }
  if (header->contains("crit")) return fail(Status::Malformed, "crit extensions are not supported");
  std::string kid;
  if (auto it = header->find("kid"); it != header->end()) {
    if (!it->is_string()) return fail(Status::Malformed, "the kid is not a string");
    kid = it->get<std::string>();
  }
  auto signature = base64url_strict(token.substr(dot2 + 1));
  if (!signature) return fail(Status::Malformed, "the signature is not base64url");
  auto payload_bytes = base64url_strict(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!payload_bytes) return fail(Status::Malformed, "the payload is not base64url");

  // Keys with the token's kid; without such a key (or a kid), the keys that have no kid.
  bool kid_known = kid.empty();
  for (const KeySet* s : sets) kid_known = kid_known || (s && s->has_kid(kid));
  if (!kid_known) {
    bool kidless = false;
    for (const KeySet* s : sets) {
      if (s) kidless = kidless || s->has_kid("");
    }
    if (!kidless) return fail(Status::UnknownKid, "no key has the token's kid");
  }
  const std::string_view input = token.substr(0, dot2);
  bool tried = false, verified = false;
  for (const KeySet* s : sets) {
    if (!s) continue;
    for (const Key& k : s->keys) {
      if (verified) break;
      if (!kid.empty() && (kid_known ? k.kid != kid : !k.kid.empty())) continue;
      if (!alg_fits(*alg, k.type) || (!k.alg.empty() && k.alg != alg_text)) continue;
      tried = true;
      verified = verify_signature(*alg, k, input, *signature);
    }
  }
  if (!tried) return fail(Status::NoKey, "no key fits the algorithm");
  if (!verified) return fail(Status::BadSignature, "the signature does not verify");
  json claims = json::parse(*payload_bytes, nullptr, false);
  if (claims.is_discarded() || !claims.is_object()) {
    return fail(Status::Malformed, "the payload is not a JSON object");
  }
  return check_claims(std::move(claims), p, now);
}

}  // namespace portier::proxy::jwt
