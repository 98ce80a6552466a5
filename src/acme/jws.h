// JSON Web Signatures for ACME (RFC 8555 §6.2, RFC 7515): the flattened JSON serialization with
// "protected", "payload" and "signature"; ES256 (P-256), ES384 (P-384) and RS256 (RSA) account
// keys; the JWK of a key and its RFC 7638 thumbprint; the HS256 external account binding.
#pragma once

#include <openssl/evp.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace portier::acme {

// The public JWK with only the members RFC 7638 requires (crv/kty/x/y or e/kty/n).
Result<nlohmann::json> jwk_of(EVP_PKEY* key);
// base64url(SHA-256(the required members in lexicographic order, no whitespace)).
std::string jwk_thumbprint(const nlohmann::json& jwk);
// "ES256", "ES384" or "RS256"; "" for a key of another kind.
std::string jws_alg(EVP_PKEY* key);
// The raw signature over `data`: r||s (each padded to the curve size) for ECDSA, PKCS#1 v1.5
// for RSA.
Result<std::string> jws_sign(EVP_PKEY* key, std::string_view data);

// A request body. `kid` empty: the header carries the JWK (newAccount); else the account URL.
// `payload` nullopt: POST-as-GET (empty payload string).
Result<std::string> make_jws(EVP_PKEY* key, const std::string& url, const std::string& nonce,
                             const std::string& kid, const std::optional<nlohmann::json>& payload);

// The externalAccountBinding value of newAccount (RFC 8555 §7.3.4): an HS256 JWS over the
// account's JWK, with kid = eab_kid and url = the newAccount URL. `hmac_b64url` is the key as the
// CA hands it out (base64url).
Result<nlohmann::json> make_eab(const nlohmann::json& account_jwk, const std::string& eab_kid,
                                const std::string& hmac_b64url, const std::string& url);

}  // namespace portier::acme
