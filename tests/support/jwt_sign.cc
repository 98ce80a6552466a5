#include "support/jwt_sign.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <chrono>
#include <stdexcept>

#include "common/base64.h"

namespace portier::test {
namespace {

using json = nlohmann::json;

const EVP_MD* md_of(const std::string& alg) {
  if (alg.ends_with("256")) return EVP_sha256();
  if (alg.ends_with("384")) return EVP_sha384();
  if (alg.ends_with("512")) return EVP_sha512();
  return nullptr;  // EdDSA
}

std::string bn_param(EVP_PKEY* p, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(p, name, &bn) != 1) throw std::runtime_error("bn param");
  std::string out(static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  BN_free(bn);
  return out;
}

std::string sign_raw(const TestKey& k, const std::string& alg, const std::string& input) {
  const auto* in = reinterpret_cast<const unsigned char*>(input.data());
  if (alg.starts_with("HS")) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(md_of(alg), k.secret.data(), int(k.secret.size()), in, input.size(), mac, &len);
    return std::string(reinterpret_cast<char*>(mac), len);
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  EVP_DigestSignInit(ctx, &pctx, md_of(alg), nullptr, k.pkey.get());
  if (alg.starts_with("PS")) {
    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
  }
  size_t len = 0;
  EVP_DigestSign(ctx, nullptr, &len, in, input.size());
  std::string sig(len, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len, in, input.size());
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  if (alg.starts_with("ES")) {  // DER -> JOSE r||s
    const std::size_t size = alg == "ES256" ? 32 : 48;
    const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, long(sig.size()));
    std::string raw(2 * size, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(raw.data()), int(size));
    BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(raw.data() + size),
                 int(size));
    ECDSA_SIG_free(es);
    return raw;
  }
  return sig;
}

}  // namespace

TestKey make_key(const std::string& kind) {
  EVP_PKEY* p = nullptr;
  if (kind == "RSA") p = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048});
  if (kind == "RSA-PSS") {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "RSA-PSS", nullptr);
    if (ctx && EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048) == 1) {
      EVP_PKEY_generate(ctx, &p);
    }
    EVP_PKEY_CTX_free(ctx);
  }
  if (kind == "RSA-1024") p = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{1024});
  if (kind == "P-256") p = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (kind == "P-384") p = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
  if (kind == "P-521") p = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-521");
  if (kind == "Ed25519") p = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (p == nullptr) throw std::runtime_error("keygen failed: " + kind);
  return {std::shared_ptr<EVP_PKEY>(p, EVP_PKEY_free), "", kind};
}

TestKey hmac_secret(std::string secret) { return {nullptr, std::move(secret), "HMAC"}; }

json jwk_of(const TestKey& k, const std::string& kid) {
  json j;
  EVP_PKEY* p = k.pkey.get();
  if (k.kind.starts_with("RSA")) {
    j = {{"kty", "RSA"},
         {"n", base64url_encode(bn_param(p, OSSL_PKEY_PARAM_RSA_N))},
         {"e", base64url_encode(bn_param(p, OSSL_PKEY_PARAM_RSA_E))}};
  } else if (k.kind.starts_with("P-")) {
    const std::size_t size = k.kind == "P-256" ? 32 : k.kind == "P-384" ? 48 : 66;
    std::string x(size, '\0'), y(size, '\0');
    BIGNUM *bx = nullptr, *by = nullptr;
    EVP_PKEY_get_bn_param(p, OSSL_PKEY_PARAM_EC_PUB_X, &bx);
    EVP_PKEY_get_bn_param(p, OSSL_PKEY_PARAM_EC_PUB_Y, &by);
    BN_bn2binpad(bx, reinterpret_cast<unsigned char*>(x.data()), int(size));
    BN_bn2binpad(by, reinterpret_cast<unsigned char*>(y.data()), int(size));
    BN_free(bx);
    BN_free(by);
    j = {{"kty", "EC"}, {"crv", k.kind}, {"x", base64url_encode(x)}, {"y", base64url_encode(y)}};
  } else if (k.kind == "Ed25519") {
    unsigned char raw[32];
    size_t len = sizeof raw;
    EVP_PKEY_get_raw_public_key(p, raw, &len);
    j = {{"kty", "OKP"},
         {"crv", "Ed25519"},
         {"x", base64url_encode(std::string(reinterpret_cast<char*>(raw), len))}};
  }
  if (!kid.empty()) j["kid"] = kid;
  return j;
}

std::string public_pem(const TestKey& k) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, k.pkey.get());
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, std::size_t(len));
  BIO_free(bio);
  return out;
}

std::string sign_token(const TestKey& k, const std::string& alg, const json& payload,
                       const std::string& kid, json header) {
  if (!header.contains("alg")) header["alg"] = alg;
  if (!kid.empty() && !header.contains("kid")) header["kid"] = kid;
  header["typ"] = "JWT";
  const std::string input =
      base64url_encode(header.dump()) + "." + base64url_encode(payload.dump());
  return input + "." + base64url_encode(sign_raw(k, alg, input));
}

long long unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace portier::test
