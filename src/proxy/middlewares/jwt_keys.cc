// Keys and signatures for jwt_verify.h: JWK and PEM import through OpenSSL 3's provider API
// (EVP_PKEY_fromdata, no deprecated RSA/EC_KEY calls), and one EVP_DigestVerify per algorithm.
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <array>
#include <cstring>

#include "common/base64.h"
#include "proxy/middlewares/jwt_verify.h"

namespace portier::proxy::jwt {
namespace {

using json = nlohmann::json;

struct AlgInfo {
  Alg alg;
  std::string_view name;
};
constexpr std::array<AlgInfo, 12> kAlgs = {{
    {Alg::RS256, "RS256"},
    {Alg::RS384, "RS384"},
    {Alg::RS512, "RS512"},
    {Alg::PS256, "PS256"},
    {Alg::PS384, "PS384"},
    {Alg::PS512, "PS512"},
    {Alg::ES256, "ES256"},
    {Alg::ES384, "ES384"},
    {Alg::EdDSA, "EdDSA"},
    {Alg::HS256, "HS256"},
    {Alg::HS384, "HS384"},
    {Alg::HS512, "HS512"},
}};

const EVP_MD* digest_of(Alg a) {
  switch (a) {
    case Alg::RS256:
    case Alg::PS256:
    case Alg::ES256:
    case Alg::HS256:
      return EVP_sha256();
    case Alg::RS384:
    case Alg::PS384:
    case Alg::ES384:
    case Alg::HS384:
      return EVP_sha384();
    case Alg::RS512:
    case Alg::PS512:
    case Alg::HS512:
      return EVP_sha512();
    case Alg::EdDSA:
      return nullptr;
  }
  return nullptr;
}

std::shared_ptr<EVP_PKEY> own(EVP_PKEY* p) { return {p, EVP_PKEY_free}; }

Result<KeyType> type_of(EVP_PKEY* p) {
  switch (EVP_PKEY_get_base_id(p)) {
    case EVP_PKEY_RSA:
    case EVP_PKEY_RSA_PSS:
      if (EVP_PKEY_get_bits(p) < 2048) return Error{"RSA key shorter than 2048 bits"};
      return KeyType::Rsa;
    case EVP_PKEY_ED25519:
      return KeyType::Ed25519;
    case EVP_PKEY_EC: {
      char group[64] = {};
      size_t len = 0;
      if (EVP_PKEY_get_group_name(p, group, sizeof group, &len) != 1) break;
      std::string_view g(group, len);
      if (g == "prime256v1" || g == "P-256") return KeyType::EcP256;
      if (g == "secp384r1" || g == "P-384") return KeyType::EcP384;
      return Error{"EC curve " + std::string(g) + " is not supported (P-256 and P-384 are)"};
    }
    default:
      break;
  }
  return Error{"unsupported key type (RSA, EC P-256/P-384 and Ed25519 are)"};
}

// An EVP_PKEY from OSSL_PARAMs ("RSA" or "EC").
EVP_PKEY* from_params(const char* type, OSSL_PARAM_BLD* bld) {
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  EVP_PKEY* pkey = nullptr;
  if (params && ctx && EVP_PKEY_fromdata_init(ctx) == 1) {
    if (EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) pkey = nullptr;
  }
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  return pkey;
}

std::optional<std::string> member(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return base64url_strict(it->get<std::string>());
}

Result<EVP_PKEY*> rsa_from_jwk(const json& j) {
  auto n = member(j, "n"), e = member(j, "e");
  if (!n || !e || n->empty() || e->empty()) return Error{"RSA key without valid n and e"};
  BIGNUM* bn =
      BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()), int(n->size()), nullptr);
  BIGNUM* be =
      BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()), int(e->size()), nullptr);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  EVP_PKEY* pkey = nullptr;
  if (bn && be && bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) == 1 &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) == 1) {
    pkey = from_params("RSA", bld);
  }
  OSSL_PARAM_BLD_free(bld);
  BN_free(bn);
  BN_free(be);
  if (!pkey) return Error{"RSA key rejected by OpenSSL"};
  return pkey;
}

Result<EVP_PKEY*> ec_from_jwk(const json& j, const std::string& crv) {
  std::size_t size = crv == "P-256" ? 32 : crv == "P-384" ? 48 : 0;
  if (size == 0) return Error{"EC curve `" + crv + "` is not supported"};
  auto x = member(j, "x"), y = member(j, "y");
  if (!x || !y || x->size() != size || y->size() != size) return Error{"EC key with bad x or y"};
  std::string point = "\x04" + *x + *y;  // uncompressed SEC1 point
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  EVP_PKEY* pkey = nullptr;
  const char* group = size == 32 ? "prime256v1" : "secp384r1";
  if (bld && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) == 1 &&
      OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) ==
          1) {
    pkey = from_params("EC", bld);
  }
  OSSL_PARAM_BLD_free(bld);
  if (!pkey) return Error{"EC key rejected by OpenSSL (not on the curve?)"};
  return pkey;
}

Result<Key> key_from_jwk(const json& j) {
  if (!j.is_object()) return Error{"not an object"};
  auto str = [&](const char* name) {
    auto it = j.find(name);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (str("use") == "enc") return Error{"use is enc"};
  const std::string kty = str("kty");
  Result<EVP_PKEY*> pkey = Error{"kty `" + kty + "` is not supported"};
  if (kty == "RSA") {
    pkey = rsa_from_jwk(j);
  } else if (kty == "EC") {
    pkey = ec_from_jwk(j, str("crv"));
  } else if (kty == "OKP") {
    auto x = member(j, "x");
    if (str("crv") != "Ed25519") return Error{"OKP curve `" + str("crv") + "` is not supported"};
    if (!x || x->size() != 32) return Error{"Ed25519 key with bad x"};
    EVP_PKEY* p = EVP_PKEY_new_raw_public_key(
        EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(x->data()), x->size());
    pkey = p ? Result<EVP_PKEY*>(p) : Result<EVP_PKEY*>(Error{"Ed25519 key rejected"});
  }
  if (!pkey) return pkey.error();
  Key k;
  k.pkey = own(*pkey);
  auto type = type_of(k.pkey.get());
  if (!type) return type.error();
  k.type = *type;
  k.kid = str("kid");
  k.alg = str("alg");
  return k;
}

}  // namespace

std::optional<Alg> alg_from_name(std::string_view name) {
  for (const auto& a : kAlgs) {
    if (a.name == name) return a.alg;
  }
  return std::nullopt;
}

std::string_view alg_name(Alg a) {
  for (const auto& i : kAlgs) {
    if (i.alg == a) return i.name;
  }
  return "?";
}

std::vector<Alg> asymmetric_algs() {
  std::vector<Alg> out;
  for (const auto& a : kAlgs) {
    if (!alg_fits(a.alg, KeyType::Hmac)) out.push_back(a.alg);
  }
  return out;
}

bool alg_fits(Alg a, KeyType t) {
  switch (a) {
    case Alg::RS256:
    case Alg::RS384:
    case Alg::RS512:
    case Alg::PS256:
    case Alg::PS384:
    case Alg::PS512:
      return t == KeyType::Rsa;
    case Alg::ES256:
      return t == KeyType::EcP256;
    case Alg::ES384:
      return t == KeyType::EcP384;
    case Alg::EdDSA:
      return t == KeyType::Ed25519;
    case Alg::HS256:
    case Alg::HS384:
    case Alg::HS512:
      return t == KeyType::Hmac;
  }
  return false;
}

bool KeySet::has_kid(std::string_view kid) const {
  for (const auto& k : keys) {
    if (k.kid == kid) return true;
  }
  return false;
}

std::optional<std::string> base64url_strict(std::string_view text) {
  if (text.size() % 4 == 1 || text.find('=') != std::string_view::npos) return std::nullopt;
  auto out = base64url_decode(text);
  // Unused low bits must be zero, so one value has one encoding (re-encoding shows it).
  if (!out || base64url_encode(*out) != text) return std::nullopt;
  return out;
}

Result<KeySet> parse_jwks(std::string_view text, std::vector<std::string>* skipped) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return Error{"the JWKS is not a JSON object"};
  json list = json::array();
  if (auto it = doc.find("keys"); it != doc.end()) {
    if (!it->is_array()) return Error{"the JWKS `keys` is not an array"};
    list = *it;
  } else {
    list.push_back(doc);  // a lone JWK
  }
  KeySet set;
  for (std::size_t i = 0; i < list.size() && set.keys.size() < kMaxKeys; ++i) {
    auto k = key_from_jwk(list[i]);
    if (k) {
      set.keys.push_back(std::move(*k));
    } else if (skipped) {
      skipped->push_back("key " + std::to_string(i) + ": " + k.error().message);
    }
  }
  if (set.keys.empty()) return Error{"the JWKS holds no usable signing key"};
  return set;
}

Result<Key> key_from_pem(std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), int(pem.size()));
  EVP_PKEY* pkey = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  if (!pkey) {
    (void)BIO_reset(bio);
    if (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
      pkey = X509_get_pubkey(cert);
      X509_free(cert);
    }
  }
  BIO_free(bio);
  if (!pkey) return Error{"not a PEM public key or certificate"};
  Key k;
  k.pkey = own(pkey);
  auto type = type_of(pkey);
  if (!type) return type.error();
  k.type = *type;
  return k;
}

Key hmac_key(std::string secret) {
  Key k;
  k.type = KeyType::Hmac;
  k.secret = std::move(secret);
  return k;
}

std::optional<std::string> ecdsa_raw_to_der(std::string_view raw, std::size_t size) {
  if (raw.size() != 2 * size) return std::nullopt;
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  BIGNUM* r = BN_bin2bn(p, int(size), nullptr);
  BIGNUM* s = BN_bin2bn(p + size, int(size), nullptr);
  ECDSA_SIG* sig = ECDSA_SIG_new();
  if (!r || !s || !sig || ECDSA_SIG_set0(sig, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return std::nullopt;
  }
  unsigned char* der = nullptr;
  int len = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);  // frees r and s
  if (len <= 0) return std::nullopt;
  std::string out(reinterpret_cast<char*>(der), std::size_t(len));
  OPENSSL_free(der);
  return out;
}

bool verify_signature(Alg a, const Key& key, std::string_view input, std::string_view sig) {
  if (!alg_fits(a, key.type)) return false;
  const auto* in = reinterpret_cast<const unsigned char*>(input.data());
  if (key.type == KeyType::Hmac) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!HMAC(digest_of(a), key.secret.data(), int(key.secret.size()), in, input.size(), mac,
              &len)) {
      return false;
    }
    return sig.size() == len && CRYPTO_memcmp(mac, sig.data(), len) == 0;
  }
  std::string der;
  if (a == Alg::ES256 || a == Alg::ES384) {
    auto d = ecdsa_raw_to_der(sig, a == Alg::ES256 ? 32 : 48);
    if (!d) return false;
    der = std::move(*d);
    sig = der;
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  bool ok = ctx && EVP_DigestVerifyInit(ctx, &pctx, digest_of(a), nullptr, key.pkey.get()) == 1;
  if (ok && (a == Alg::PS256 || a == Alg::PS384 || a == Alg::PS512)) {
    // RFC 7518 §3.5: MGF1 with the same hash, salt as long as the hash.
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, digest_of(a)) == 1;
  } else if (ok && key.type == KeyType::Rsa) {
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
  }
  ok = ok && EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                              in, input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

}  // namespace portier::proxy::jwt
