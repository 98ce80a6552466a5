// JWT verification (proxy/middlewares/jwt_verify.h) with keys generated here by OpenSSL: every
// algorithm, the refusals (none, alg confusion, tampering, malformed input), claims, and JWKS
// parsing.
#include <gtest/gtest.h>

#include "common/base64.h"
#include "proxy/middlewares/jwt_verify.h"
#include "support/jwt_sign.h"

namespace portier::proxy::jwt {
namespace {

using json = nlohmann::json;
using test::jwk_of;
using test::make_key;
using test::sign_token;
using test::TestKey;

const std::string kSecret = "0123456789abcdef0123456789abcdef-secret";

Policy all_algs() {
  Policy p;
  for (auto n : {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
                 "HS256", "HS384", "HS512"}) {
    p.algorithms.push_back(*alg_from_name(n));
  }
  return p;
}

KeySet set_of(const TestKey& k, const std::string& kid = "") {
  if (k.kind == "HMAC") return KeySet{{hmac_key(k.secret)}};
  json doc = {{"keys", json::array({jwk_of(k, kid)})}};
  auto s = parse_jwks(doc.dump());
  EXPECT_TRUE(s) << (s ? "" : s.error().message);
  return s ? *s : KeySet{};
}

Outcome run(const std::string& token, const KeySet& set, const Policy& p = all_algs(),
            long long now = test::unix_now()) {
  const KeySet* sets[] = {&set};
  return verify(token, sets, p, now);
}

struct KeyCase {
  std::string alg;
  std::string kind;
};
const std::vector<KeyCase> kKeyCases = {
    {"RS256", "RSA"},     {"RS384", "RSA"},     {"RS512", "RSA"},   {"PS256", "RSA"},
    {"PS384", "RSA"},     {"PS512", "RSA-PSS"}, {"ES256", "P-256"}, {"ES384", "P-384"},
    {"EdDSA", "Ed25519"}, {"HS256", "HMAC"},    {"HS384", "HMAC"},  {"HS512", "HMAC"},
};

TestKey key_for(const std::string& kind) {
  return kind == "HMAC" ? test::hmac_secret(kSecret) : make_key(kind);
}

TEST(JwtVerify, EveryAlgorithmVerifiesAndRefusesTampering) {
  for (const auto& c : kKeyCases) {
    SCOPED_TRACE(c.alg + " " + c.kind);
    TestKey k = key_for(c.kind);
    KeySet set = set_of(k, "k1");
    const json claims = {{"sub", "alice"}, {"exp", test::unix_now() + 300}};
    std::string t = sign_token(k, c.alg, claims, "k1");
    Outcome o = run(t, set);
    EXPECT_EQ(o.status, Status::Ok) << o.description;
    EXPECT_EQ(o.claims["sub"], "alice");

    // Another payload under the same signature.
    auto dot1 = t.find('.'), dot2 = t.rfind('.');
    std::string forged = t.substr(0, dot1 + 1) +
                         base64url_encode(json({{"sub", "root"}, {"exp", 9999999999}}).dump()) +
                         t.substr(dot2);
    EXPECT_EQ(run(forged, set).status, Status::BadSignature);
    // A flipped signature byte.
    std::string sig = *base64url_strict(t.substr(dot2 + 1));
    sig[sig.size() / 2] ^= 0x01;
    EXPECT_EQ(run(t.substr(0, dot2 + 1) + base64url_encode(sig), set).status, Status::BadSignature);
    // Not in the allowed list.
    Policy only_other = all_algs();
    std::erase(only_other.algorithms, *alg_from_name(c.alg));
    EXPECT_EQ(run(t, set, only_other).status, Status::Malformed);
    // Another key of the same kind does not verify it.
    KeySet other =
        set_of(c.kind == "HMAC" ? test::hmac_secret(kSecret + "x") : make_key(c.kind), "k1");
    EXPECT_EQ(run(t, other).status, Status::BadSignature);
  }
}

TEST(JwtVerify, NoneIsAlwaysRefused) {
  TestKey k = test::hmac_secret(kSecret);
  KeySet set = set_of(k);
  for (std::string alg : {"none", "None", "NONE", ""}) {
    SCOPED_TRACE(alg);
    std::string t = base64url_encode(json({{"alg", alg}}).dump()) + "." +
                    base64url_encode(json({{"sub", "x"}}).dump()) + ".";
    EXPECT_EQ(run(t, set).status, Status::Malformed);
    // With a signature part too.
    EXPECT_EQ(run(t + "AAAA", set).status, Status::Malformed);
  }
}

// The classic confusion: an HS256 token whose secret is the RSA public key's PEM (or JWK).
TEST(JwtVerify, AlgorithmConfusionIsRefused) {
  TestKey rsa = make_key("RSA");
  KeySet set = set_of(rsa, "k1");
  auto pem_key = key_from_pem(test::public_pem(rsa));
  ASSERT_TRUE(pem_key);
  KeySet pem_set{{*pem_key}};
  for (const std::string& secret : {test::public_pem(rsa), jwk_of(rsa, "k1").dump()}) {
    std::string t = sign_token(test::hmac_secret(secret), "HS256", {{"sub", "x"}}, "k1");
    EXPECT_EQ(run(t, set).status, Status::NoKey);
    EXPECT_EQ(run(t, pem_set).status, Status::NoKey);
  }
  // ES256 signed, RSA key only; RS256 claimed for an EC key.
  TestKey ec = make_key("P-256");
  EXPECT_EQ(run(sign_token(ec, "ES256", {{"sub", "x"}}, "k1"), set).status, Status::NoKey);
  EXPECT_EQ(run(sign_token(rsa, "RS256", {{"sub", "x"}}), set_of(ec)).status, Status::NoKey);
  // ES384 with a P-256 key.
  EXPECT_EQ(run(sign_token(ec, "ES256", {{"sub", "x"}}, "", {{"alg", "ES384"}}), set_of(ec)).status,
            Status::NoKey);
  // A JWK's own "alg" restricts it.
  json jwk = jwk_of(rsa, "k1");
  jwk["alg"] = "PS256";
  auto restricted = parse_jwks(json({{"keys", {jwk}}}).dump());
  ASSERT_TRUE(restricted);
  EXPECT_EQ(run(sign_token(rsa, "RS256", {{"sub", "x"}}, "k1"), *restricted).status, Status::NoKey);
  EXPECT_EQ(run(sign_token(rsa, "PS256", {{"sub", "x"}}, "k1"), *restricted).status, Status::Ok);
}

TEST(JwtVerify, MalformedTokens) {
  TestKey k = test::hmac_secret(kSecret);
  KeySet set = set_of(k);
  const std::string good = sign_token(k, "HS256", {{"sub", "x"}});
  const auto dot1 = good.find('.');
  struct Case {
    std::string name;
    std::string token;
  };
  const std::vector<Case> cases = {
      {"empty", ""},
      {"one part", "abc"},
      {"two parts", good.substr(0, good.rfind('.'))},
      {"four parts", good + ".x"},
      {"padding", good.substr(0, dot1) + "=" + good.substr(dot1)},
      {"bad character", "*" + good},
      {"standard alphabet", good.substr(0, dot1) + "+/" + good.substr(dot1)},
      {"header not JSON", base64url_encode("nope") + good.substr(dot1)},
      {"header an array", base64url_encode("[1]") + good.substr(dot1)},
      {"crit", sign_token(k, "HS256", {{"sub", "x"}}, "", {{"crit", {"exp"}}})},
      {"kid not a string", sign_token(k, "HS256", {{"sub", "x"}}, "", {{"kid", 7}})},
      {"payload not an object", sign_token(k, "HS256", json::array({1}))},
      {"too large", sign_token(k, "HS256", {{"pad", std::string(kMaxTokenSize, 'a')}})},
      {"exp not a number", sign_token(k, "HS256", {{"exp", "tomorrow"}})},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(run(c.token, set).status, Status::Malformed) << run(c.token, set).description;
  }
}

TEST(JwtVerify, Base64urlStrict) {
  EXPECT_EQ(base64url_strict("YWJj"), "abc");
  EXPECT_EQ(base64url_strict("YWI"), "ab");
  EXPECT_FALSE(base64url_strict("YWI="));
  EXPECT_FALSE(base64url_strict("YWJ"));  // trailing bits not zero ("YWI" is canonical)
  EXPECT_FALSE(base64url_strict("Y"));
  EXPECT_FALSE(base64url_strict("YW J"));
}

TEST(JwtVerify, TimesAndLeeway) {
  TestKey k = test::hmac_secret(kSecret);
  KeySet set = set_of(k);
  const long long now = 1'700'000'000;
  Policy p = all_algs();
  p.leeway = std::chrono::seconds(30);
  struct Case {
    json claims;
    Status want;
  };
  const std::vector<Case> cases = {
      {{{"exp", now + 1}}, Status::Ok},
      {{{"exp", now - 29}}, Status::Ok},  // within the leeway
      {{{"exp", now - 30}}, Status::Expired},
      {{{"exp", now - 3600}}, Status::Expired},
      {{{"nbf", now + 29}}, Status::Ok},
      {{{"nbf", now + 31}}, Status::NotYetValid},
      {{{"nbf", "now"}}, Status::Malformed},
      {{{"exp", now + 10.5}}, Status::Ok},  // NumericDate may be fractional
      {json::object(), Status::Ok},         // exp is optional unless required
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.claims.dump());
    EXPECT_EQ(run(sign_token(k, "HS256", c.claims), set, p, now).status, c.want);
  }
  p.required_claims = {"exp"};
  EXPECT_EQ(run(sign_token(k, "HS256", json::object()), set, p, now).status, Status::MissingClaim);
}

TEST(JwtVerify, IssuerAudienceAndClaims) {
  TestKey k = test::hmac_secret(kSecret);
  KeySet set = set_of(k);
  Policy p = all_algs();
  p.issuers = {"https://a", "https://b"};
  p.audiences = {"api"};
  p.required_claims = {"sub"};
  p.claims = {{"role", "admin"}, {"tier", "3"}};
  const json base = {
      {"iss", "https://b"}, {"aud", "api"}, {"sub", "x"}, {"role", "admin"}, {"tier", 3}};
  struct Case {
    std::string name;
    json patch;  // merged into base; null values remove
    Status want;
  };
  const std::vector<Case> cases = {
      {"all good", json::object(), Status::Ok},
      {"aud list with a match", {{"aud", {"web", "api"}}}, Status::Ok},
      {"role in a list", {{"role", {"user", "admin"}}}, Status::Ok},
      {"other issuer", {{"iss", "https://c"}}, Status::BadIssuer},
      {"no issuer", {{"iss", nullptr}}, Status::BadIssuer},
      {"issuer not a string", {{"iss", 1}}, Status::BadIssuer},
      {"aud list without a match", {{"aud", {"web"}}}, Status::BadAudience},
      {"no aud", {{"aud", nullptr}}, Status::BadAudience},
      {"no sub", {{"sub", nullptr}}, Status::MissingClaim},
      {"wrong role", {{"role", "user"}}, Status::ClaimValue},
      {"no role", {{"role", nullptr}}, Status::ClaimValue},
      {"tier as a string", {{"tier", "3"}}, Status::Ok},
      {"wrong tier", {{"tier", 4}}, Status::ClaimValue},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    json claims = base;
    claims.merge_patch(c.patch);
    EXPECT_EQ(run(sign_token(k, "HS256", claims), set, p).status, c.want);
  }
}

TEST(JwtVerify, KidSelection) {
  TestKey a = make_key("P-256"), b = make_key("P-256");
  json doc = {{"keys", {jwk_of(a, "a"), jwk_of(b, "b")}}};
  auto set = parse_jwks(doc.dump());
  ASSERT_TRUE(set);
  EXPECT_EQ(run(sign_token(a, "ES256", {{"s", 1}}, "a"), *set).status, Status::Ok);
  EXPECT_EQ(run(sign_token(b, "ES256", {{"s", 1}}, "b"), *set).status, Status::Ok);
  EXPECT_EQ(run(sign_token(a, "ES256", {{"s", 1}}, "b"), *set).status, Status::BadSignature);
  EXPECT_EQ(run(sign_token(a, "ES256", {{"s", 1}}, "c"), *set).status, Status::UnknownKid);
  EXPECT_EQ(run(sign_token(b, "ES256", {{"s", 1}}), *set).status, Status::Ok);  // no kid: any
  // Keys without a kid take tokens with an unknown kid (PEM keys have none).
  KeySet kidless = set_of(a);
  EXPECT_EQ(run(sign_token(a, "ES256", {{"s", 1}}, "zzz"), kidless).status, Status::Ok);
}

TEST(JwtKeys, JwksParsing) {
  TestKey rsa = make_key("RSA"), ec = make_key("P-384"), ed = make_key("Ed25519");
  json enc = jwk_of(make_key("RSA"), "enc");
  enc["use"] = "enc";
  json bad_ec = jwk_of(make_key("P-256"), "bad");
  std::string y = *base64url_strict(bad_ec["y"].get<std::string>());
  y[5] ^= 0x40;  // no longer on the curve
  bad_ec["y"] = base64url_encode(y);
  json doc = {{"keys",
               {jwk_of(rsa, "r"),
                jwk_of(ec, "e"),
                jwk_of(ed, "o"),
                enc,
                bad_ec,
                jwk_of(make_key("P-521"), "p521"),
                jwk_of(make_key("RSA-1024"), "small"),
                {{"kty", "oct"}, {"k", "c2VjcmV0"}, {"kid", "oct"}},
                {{"kty", "RSA"}, {"n", "AQAB=="}, {"e", "AQAB"}, {"kid", "pad"}},
                5}}};
  std::vector<std::string> skipped;
  auto set = parse_jwks(doc.dump(), &skipped);
  ASSERT_TRUE(set);
  ASSERT_EQ(set->keys.size(), 3u);
  EXPECT_EQ(set->keys[0].kid, "r");
  EXPECT_EQ(set->keys[0].type, KeyType::Rsa);
  EXPECT_EQ(set->keys[1].type, KeyType::EcP384);
  EXPECT_EQ(set->keys[2].type, KeyType::Ed25519);
  EXPECT_EQ(skipped.size(), 7u);
  EXPECT_FALSE(set->has_kid("enc"));

  EXPECT_FALSE(parse_jwks("not json"));
  EXPECT_FALSE(parse_jwks("{\"keys\": 1}"));
  EXPECT_FALSE(parse_jwks("{\"keys\": []}"));
  EXPECT_TRUE(parse_jwks(jwk_of(ed, "").dump()));  // a lone JWK
}

TEST(JwtKeys, PemAndEcdsaConversion) {
  auto k = key_from_pem(test::public_pem(make_key("Ed25519")));
  ASSERT_TRUE(k);
  EXPECT_EQ(k->type, KeyType::Ed25519);
  EXPECT_FALSE(key_from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"));
  EXPECT_FALSE(key_from_pem(test::public_pem(make_key("RSA-1024"))));
  EXPECT_FALSE(ecdsa_raw_to_der(std::string(63, '\1'), 32));
  auto der = ecdsa_raw_to_der(std::string(64, '\1'), 32);
  ASSERT_TRUE(der);
  EXPECT_EQ((*der)[0], 0x30);  // a DER SEQUENCE
}

}  // namespace
}  // namespace portier::proxy::jwt
