#include "acme/jws.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/hmac.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/base64.h"
#include "acme/crypto.h"

namespace portier::acme {
namespace {

TEST(Base64, UrlTable) {
  struct Case {
    std::string in, out;
  };
  std::vector<Case> cases = {
      {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
      {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}, {"\xfb\xff", "-_8"}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.out);
    EXPECT_EQ(base64url_encode(c.in), c.out);
    EXPECT_EQ(base64url_decode(c.out), c.in);
  }
  EXPECT_FALSE(base64url_decode("a+b"));  // standard alphabet is not base64url
  EXPECT_FALSE(base64url_decode("abcde"));
}

TEST(Base64, StandardWithPaddingAndLineBreaks) {
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("\xfb\xff"), "+/8=");
  EXPECT_EQ(base64_decode("Zm9v\nYmE=\n"), "fooba");
  EXPECT_FALSE(base64_decode("Zm8=Zm8="));
}

TEST(Jwk, Rfc7638ThumbprintExample) {
  // RFC 7638 §3.1.
  nlohmann::json jwk = {
      {"kty", "RSA"},
      {"n",
       "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
       "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-"
       "65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"
       "bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-"
       "kEgU8awapJzKnqDKgw"},
      {"e", "AQAB"},
      {"alg", "RS256"},
      {"kid", "2011-04-29"}};
  EXPECT_EQ(jwk_thumbprint(jwk), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

// Verifies a flattened JWS with OpenSSL directly, converting r||s back to DER for ECDSA.
bool verify(EVP_PKEY* key, const nlohmann::json& jws) {
  std::string input = jws["protected"].get<std::string>() + "." + jws["payload"].get<std::string>();
  std::string sig = *base64url_decode(jws["signature"].get<std::string>());
  std::string alg = jws_alg(key);
  if (alg != "RS256") {
    std::size_t half = sig.size() / 2;
    if (half != (alg == "ES256" ? 32u : 48u)) return false;
    ECDSA_SIG* es = ECDSA_SIG_new();
    ECDSA_SIG_set0(
        es, BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()), int(half), nullptr),
        BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data() + half), int(half), nullptr));
    unsigned char* der = nullptr;
    int n = i2d_ECDSA_SIG(es, &der);
    sig.assign(reinterpret_cast<char*>(der), std::size_t(n));
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const EVP_MD* md = alg == "ES384" ? EVP_sha384() : EVP_sha256();
  bool ok =
      EVP_DigestVerifyInit(ctx, nullptr, md, nullptr, key) == 1 &&
      EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

TEST(Jws, SignaturesVerifyWithOpenSsl) {
  struct Case {
    std::string key_type, alg, kty;
  };
  std::vector<Case> cases = {
      {"EC256", "ES256", "EC"}, {"EC384", "ES384", "EC"}, {"RSA2048", "RS256", "RSA"}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.key_type);
    auto key = generate_key(c.key_type);
    ASSERT_TRUE(key);
    auto body = make_jws(key->get(), "https://ca/new-acct", "nonce1", "",
                         nlohmann::json{{"termsOfServiceAgreed", true}});
    ASSERT_TRUE(body);
    auto jws = nlohmann::json::parse(*body);
    auto header = nlohmann::json::parse(*base64url_decode(jws["protected"].get<std::string>()));
    EXPECT_EQ(header["alg"], c.alg);
    EXPECT_EQ(header["nonce"], "nonce1");
    EXPECT_EQ(header["url"], "https://ca/new-acct");
    EXPECT_EQ(header["jwk"]["kty"], c.kty);
    EXPECT_FALSE(header.contains("kid"));
    EXPECT_TRUE(verify(key->get(), jws));
    if (c.kty == "EC") {
      std::size_t coord = c.alg == "ES256" ? 43 : 64;  // base64url of 32 / 48 bytes
      EXPECT_EQ(header["jwk"]["x"].get<std::string>().size(), coord);
      EXPECT_EQ(header["jwk"]["y"].get<std::string>().size(), coord);
    }

    // POST-as-GET with a kid: empty payload, no jwk.
    auto get = make_jws(key->get(), "https://ca/order/1", "n2", "https://ca/acct/1", std::nullopt);
    ASSERT_TRUE(get);
    auto g = nlohmann::json::parse(*get);
    EXPECT_EQ(g["payload"], "");
    auto gh = nlohmann::json::parse(*base64url_decode(g["protected"].get<std::string>()));
    EXPECT_EQ(gh["kid"], "https://ca/acct/1");
    EXPECT_FALSE(gh.contains("jwk"));
    EXPECT_TRUE(verify(key->get(), g));
  }
}

TEST(Jws, ExternalAccountBindingIsHs256OverTheJwk) {
  auto key = generate_key("EC256");
  ASSERT_TRUE(key);
  auto jwk = jwk_of(key->get());
  ASSERT_TRUE(jwk);
  const std::string mac_key = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W";
  auto eab = make_eab(*jwk, "kid-1", mac_key, "https://ca/new-acct");
  ASSERT_TRUE(eab);
  auto header = nlohmann::json::parse(*base64url_decode((*eab)["protected"].get<std::string>()));
  EXPECT_EQ(header,
            (nlohmann::json{{"alg", "HS256"}, {"kid", "kid-1"}, {"url", "https://ca/new-acct"}}));
  EXPECT_EQ(nlohmann::json::parse(*base64url_decode((*eab)["payload"].get<std::string>())), *jwk);
  std::string input =
      (*eab)["protected"].get<std::string>() + "." + (*eab)["payload"].get<std::string>();
  std::string k = *base64url_decode(mac_key);
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), k.data(), int(k.size()), reinterpret_cast<const unsigned char*>(input.data()),
       input.size(), mac, &len);
  EXPECT_EQ((*eab)["signature"], base64url_encode(std::string(reinterpret_cast<char*>(mac), len)));
  EXPECT_FALSE(make_eab(*jwk, "kid-1", "not base64url!", "u"));
}

TEST(Keys, DerRoundTripInGoForms) {
  for (const char* type : {"EC256", "EC384", "RSA2048"}) {
    SCOPED_TRACE(type);
    auto key = generate_key(type);
    ASSERT_TRUE(key);
    std::string der = private_key_der(key->get());
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    // SEC1 for EC, PKCS#1 for RSA: the type-specific decoders accept them.
    int base = EVP_PKEY_get_base_id(key->get());
    EVP_PKEY* back = d2i_PrivateKey(base, nullptr, &p, long(der.size()));
    ASSERT_NE(back, nullptr);
    EXPECT_EQ(EVP_PKEY_eq(back, key->get()), 1);
    EVP_PKEY_free(back);
    auto parsed = parse_private_key_der(der);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(EVP_PKEY_eq(parsed->get(), key->get()), 1);
    std::string pem = private_key_pem(key->get());
    EXPECT_NE(pem.find(base == EVP_PKEY_EC ? "BEGIN EC PRIVATE KEY" : "BEGIN RSA PRIVATE KEY"),
              std::string::npos);
    EXPECT_TRUE(parse_private_key_pem(pem));
  }
  EXPECT_FALSE(parse_private_key_der("garbage"));
  EXPECT_FALSE(generate_key("DSA1024"));
}

TEST(Csr, CommonNameAndSans) {
  auto key = generate_key("EC256");
  ASSERT_TRUE(key);
  auto der = make_csr_der(key->get(), {"a.test", "b.test"});
  ASSERT_TRUE(der);
  const auto* p = reinterpret_cast<const unsigned char*>(der->data());
  X509_REQ* req = d2i_X509_REQ(nullptr, &p, long(der->size()));
  ASSERT_NE(req, nullptr);
  EXPECT_EQ(X509_REQ_verify(req, key->get()), 1);
  char cn[64] = {0};
  X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req), NID_commonName, cn, sizeof cn);
  EXPECT_STREQ(cn, "a.test");
  STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req);
  auto* names =
      static_cast<GENERAL_NAMES*>(X509V3_get_d2i(exts, NID_subject_alt_name, nullptr, nullptr));
  ASSERT_NE(names, nullptr);
  EXPECT_EQ(sk_GENERAL_NAME_num(names), 2);
  GENERAL_NAMES_free(names);
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  X509_REQ_free(req);
}

}  // namespace
}  // namespace portier::acme
