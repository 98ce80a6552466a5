#include "acme/jws.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <memory>

#include "common/base64.h"
#include "acme/ok.h"

namespace portier::acme {
namespace {

struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
using Bn = std::unique_ptr<BIGNUM, BnFree>;

Bn get_bn(EVP_PKEY* key, const char* param) {
  BIGNUM* b = nullptr;
  if (EVP_PKEY_get_bn_param(key, param, &b) != 1) return nullptr;
  return Bn(b);
}

std::string bn_bytes(const BIGNUM* b, int pad) {
  int n = pad > 0 ? pad : BN_num_bytes(b);
  std::string out(static_cast<std::size_t>(n), '\0');
  if (pad > 0) {
    BN_bn2binpad(b, reinterpret_cast<unsigned char*>(out.data()), n);
  } else {
    BN_bn2bin(b, reinterpret_cast<unsigned char*>(out.data()));
  }
  return out;
}

// Size in bytes of one coordinate for the key's curve (32 for P-256, 48 for P-384).
int ec_field_bytes(EVP_PKEY* key) { return (EVP_PKEY_get_bits(key) + 7) / 8; }

}  // namespace

std::string jws_alg(EVP_PKEY* key) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
      return "RS256";
    case EVP_PKEY_EC:
      if (EVP_PKEY_get_bits(key) == 256) return "ES256";
      if (EVP_PKEY_get_bits(key) == 384) return "ES384";
      return {};
    default:
      return {};
  }
}

Result<nlohmann::json> jwk_of(EVP_PKEY* key) {
  std::string alg = jws_alg(key);
  if (alg.empty()) return Error{"unsupported account key (use P-256, P-384 or RSA)"};
  if (alg == "RS256") {
    auto n = get_bn(key, OSSL_PKEY_PARAM_RSA_N);
    auto e = get_bn(key, OSSL_PKEY_PARAM_RSA_E);
    if (!n || !e) return Error{"cannot read the RSA public key"};
    return ok<nlohmann::json>({{"kty", "RSA"},
                               {"n", base64url_encode(bn_bytes(n.get(), 0))},
                               {"e", base64url_encode(bn_bytes(e.get(), 0))}});
  }
  auto x = get_bn(key, OSSL_PKEY_PARAM_EC_PUB_X);
  auto y = get_bn(key, OSSL_PKEY_PARAM_EC_PUB_Y);
  if (!x || !y) return Error{"cannot read the EC public key"};
  int size = ec_field_bytes(key);
  return ok<nlohmann::json>({{"kty", "EC"},
                             {"crv", alg == "ES256" ? "P-256" : "P-384"},
                             {"x", base64url_encode(bn_bytes(x.get(), size))},
                             {"y", base64url_encode(bn_bytes(y.get(), size))}});
}

std::string jwk_thumbprint(const nlohmann::json& jwk) {
  nlohmann::json required;
  std::string kty = jwk.is_object() && jwk.contains("kty") && jwk["kty"].is_string()
                        ? jwk["kty"].get<std::string>()
                        : std::string();
  const char* const* names = nullptr;
  static const char* const kEc[] = {"crv", "kty", "x", "y", nullptr};
  static const char* const kRsa[] = {"e", "kty", "n", nullptr};
  static const char* const kOct[] = {"k", "kty", nullptr};
  names = kty == "EC" ? kEc : kty == "RSA" ? kRsa : kOct;
  for (; *names != nullptr; ++names) {
    if (jwk.contains(*names)) required[*names] = jwk[*names];
  }
  // nlohmann::json objects are ordered maps, and dump() without indent adds no whitespace: the
  // canonical form RFC 7638 §3 asks for.
  std::string canonical = required.dump();
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(canonical.data()), canonical.size(), digest);
  return base64url_encode(std::string_view(reinterpret_cast<char*>(digest), sizeof digest));
}

Result<std::string> jws_sign(EVP_PKEY* key, std::string_view data) {
  std::string alg = jws_alg(key);
  if (alg.empty()) return Error{"unsupported account key"};
  const EVP_MD* md = alg == "ES384" ? EVP_sha384() : EVP_sha256();
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(data.data());
  if (EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, in, data.size()) != 1) {
    return Error{"cannot sign the JWS"};
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in,
                     data.size()) != 1) {
    return Error{"cannot sign the JWS"};
  }
  sig.resize(len);
  if (alg == "RS256") return ok<std::string>(std::move(sig));
  // OpenSSL gives ECDSA signatures as DER SEQUENCE { r, s }; JWS wants r||s, fixed width.
  const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
  ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
  if (es == nullptr) return Error{"cannot decode the ECDSA signature"};
  int size = ec_field_bytes(key);
  std::string raw = bn_bytes(ECDSA_SIG_get0_r(es), size) + bn_bytes(ECDSA_SIG_get0_s(es), size);
  ECDSA_SIG_free(es);
  return ok<std::string>(std::move(raw));
}

Result<std::string> make_jws(EVP_PKEY* key, const std::string& url, const std::string& nonce,
                             const std::string& kid, const std::optional<nlohmann::json>& payload) {
  nlohmann::json header{{"alg", jws_alg(key)}, {"nonce", nonce}, {"url", url}};
  if (kid.empty()) {
    auto jwk = jwk_of(key);
    if (!jwk) return jwk.error();
    header["jwk"] = *jwk;
  } else {
    header["kid"] = kid;
  }
  std::string protected64 = base64url_encode(header.dump());
  std::string payload64 = payload ? base64url_encode(payload->dump()) : std::string();
  auto sig = jws_sign(key, protected64 + "." + payload64);
  if (!sig) return sig.error();
  std::string body =
      nlohmann::json{
          {"protected", protected64}, {"payload", payload64}, {"signature", base64url_encode(*sig)}}
          .dump();
  return ok<std::string>(std::move(body));
}

Result<nlohmann::json> make_eab(const nlohmann::json& account_jwk, const std::string& eab_kid,
                                const std::string& hmac_b64url, const std::string& url) {
  auto mac_key = base64url_decode(hmac_b64url);
  if (!mac_key || mac_key->empty()) {
    return Error{"the EAB HMAC key is not valid base64url"};
  }
  nlohmann::json header{{"alg", "HS256"}, {"kid", eab_kid}, {"url", url}};
  std::string input = base64url_encode(header.dump()) + "." + base64url_encode(account_jwk.dump());
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha256(), mac_key->data(), static_cast<int>(mac_key->size()),
           reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac,
           &mac_len) == nullptr) {
    return Error{"cannot compute the EAB HMAC"};
  }
  auto dot = input.find('.');
  return ok<nlohmann::json>(
      {{"protected", input.substr(0, dot)},
       {"payload", input.substr(dot + 1)},
       {"signature", base64url_encode(std::string_view(reinterpret_cast<char*>(mac), mac_len))}});
}

}  // namespace portier::acme
