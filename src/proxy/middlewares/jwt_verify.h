// JWT verification for the jwt middleware: JWS compact tokens (RFC 7515) signed with RS*, PS*,
// ES256/ES384, EdDSA (Ed25519) or HS*, keys from JWKS documents (RFC 7517/7518) or PEM, and the
// registered claims of RFC 7519 (exp, nbf, iss, aud) plus configured ones.
//
// Pure: no I/O, no logging, no shared mutable state; keys are immutable once made, so a KeySet
// can be shared between threads through a shared_ptr<const KeySet>. Errors never repeat a key or
// a token (they may hold secrets).
//
// Refused whatever the configuration: alg `none`; an alg not in the allowed list; an alg that does
// not fit the key's type (an RSA public key is never used as an HMAC secret); headers with `crit`;
// tokens over kMaxTokenSize bytes; base64url with padding, stray characters or non-canonical
// trailing bits; parts that are not JSON objects.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace portier::proxy::jwt {

constexpr std::size_t kMaxTokenSize = 8192;  // bytes of the compact form
constexpr std::size_t kMaxKeys = 64;         // keys kept from one JWKS document

enum class Alg {
  RS256,
  RS384,
  RS512,
  PS256,
  PS384,
  PS512,
  ES256,
  ES384,
  EdDSA,
  HS256,
  HS384,
  HS512
};
std::optional<Alg> alg_from_name(std::string_view name);  // nullopt for "none" and the unknown
std::string_view alg_name(Alg a);
// The default allowed list: every asymmetric algorithm (HS* must be listed to be accepted).
std::vector<Alg> asymmetric_algs();

enum class KeyType { Rsa, EcP256, EcP384, Ed25519, Hmac };

struct Key {
  std::string kid;  // "" for PEM keys and JWKs without one
  std::string alg;  // the JWK's "alg" when it had one: then only that alg uses it
  KeyType type = KeyType::Rsa;
  std::shared_ptr<EVP_PKEY> pkey;  // null for Hmac
  std::string secret;              // Hmac only
};

struct KeySet {
  std::vector<Key> keys;
  bool has_kid(std::string_view kid) const;
};

// Does `a` use keys of type `t`? (RS*/PS*: RSA; ES256: P-256; ES384: P-384; EdDSA: Ed25519.)
bool alg_fits(Alg a, KeyType t);

// The keys of a JWKS document: {"keys": [...]} (a lone JWK object is accepted too). Keys with
// "use": "enc", of an unsupported kty or crv ("oct" included: secrets come from `secret` only),
// or that fail to decode are skipped; `skipped` (if given) gets one line per skipped key. An
// error when the text is not JSON or holds no usable key. RSA keys under 2048 bits are skipped.
Result<KeySet> parse_jwks(std::string_view json, std::vector<std::string>* skipped = nullptr);
// One public key (or a certificate's) in PEM.
Result<Key> key_from_pem(std::string_view pem);
Key hmac_key(std::string secret);

// Strict base64url without padding (RFC 7515 §2): nothing on '=', a character outside the
// alphabet, a length of 4n+1, or unused trailing bits that are not zero.
std::optional<std::string> base64url_strict(std::string_view text);

// Raises a raw signature to what OpenSSL verifies: JOSE ECDSA r||s (2*size bytes) to DER.
std::optional<std::string> ecdsa_raw_to_der(std::string_view raw, std::size_t size);
// Checks `sig` over `input` with `key` for `a` (the caller checked alg_fits).
bool verify_signature(Alg a, const Key& key, std::string_view input, std::string_view sig);

struct Policy {
  std::vector<Alg> algorithms;  // allowed
  std::vector<std::string> issuers;
  std::vector<std::string> audiences;
  std::vector<std::string> required_claims;
  std::map<std::string, std::string> claims;  // claim -> value it must have (or contain)
  std::chrono::seconds leeway{60};
};

enum class Status {
  Ok,
  Malformed,   // not a JWS compact token we accept (also: too large, bad alg, crit)
  UnknownKid,  // the header names a kid that no key set has
  NoKey,       // no key of the right type
  BadSignature,
  Expired,
  NotYetValid,
  BadIssuer,
  BadAudience,
  MissingClaim,  // a required claim is absent
  ClaimValue,    // a `claims` value does not match (insufficient_scope)
};

struct Outcome {
  Status status = Status::Malformed;
  std::string description;  // for error_description: no secret, no token text
  nlohmann::json claims;    // the payload, when the signature verified
  bool ok() const { return status == Status::Ok; }
};

// Verifies `token` (the compact form) against the keys of `sets` (null entries skipped) and the
// policy, at `now` (seconds since the epoch).
Outcome verify(std::string_view token, std::span<const KeySet* const> sets, const Policy& policy,
               std::int64_t now);

// A claim as a request header value: strings as they are, anything else as compact JSON.
std::string claim_text(const nlohmann::json& value);

}  // namespace portier::proxy::jwt
