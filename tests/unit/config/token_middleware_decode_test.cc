// jwt and apiKey (portier types) decoded from a dynamic YAML file and from Docker labels: both
// go through the same decoders, so the same options give the same model.
#include <gtest/gtest.h>

#include "config/decode.h"
#include "providers/docker/labels.h"

namespace portier::config {
namespace {

Middleware from_yaml(const std::string& body) {
  auto cfg = decode_dynamic_yaml("http:\n  middlewares:\n    m:\n" + body, "m.yml");
  EXPECT_TRUE(cfg) << (cfg ? "" : cfg.error().message);
  return cfg ? cfg->http.middlewares.at("m") : Middleware{};
}

Middleware from_labels(const std::map<std::string, std::string>& below, std::string& error) {
  std::map<std::string, std::string> labels;
  for (const auto& [k, v] : below) labels["portier.http.middlewares.m." + k] = v;
  auto d = providers::docker::decode_labels(labels, {"portier", "traefik"}, "c");
  error = d.errors.empty() ? "" : d.errors[0].message;
  auto it = d.config.http.middlewares.find("m");
  return it == d.config.http.middlewares.end() ? Middleware{} : it->second;
}

Middleware want_jwt() {
  Middleware m;
  m.type = "jwt";
  Jwt& j = m.jwt.emplace();
  j.jwks_url = "https://idp.example/jwks.json";
  j.algorithms = {"RS256", "ES256"};
  j.issuers = {"https://idp.example"};
  j.audiences = {"api", "web"};
  j.required_claims = {"sub"};
  j.claims = {{"role", "admin"}};
  j.forward_headers = {{"X-User", "sub"}};
  j.leeway = std::chrono::seconds(5);
  j.token_cookie = "session";
  j.remove_header = true;
  j.jwks_min_refresh_interval = std::chrono::seconds(2);
  return m;
}

TEST(TokenMiddlewareDecode, JwtFromYamlAndLabelsAgree) {
  Middleware y = from_yaml(
      "      jwt:\n"
      "        jwksUrl: https://idp.example/jwks.json\n"
      "        algorithms: [RS256, ES256]\n"
      "        issuers: [\"https://idp.example\"]\n"
      "        audiences: [api, web]\n"
      "        requiredClaims: [sub]\n"
      "        claims: {role: admin}\n"
      "        forwardHeaders: {X-User: sub}\n"
      "        leeway: 5s\n"
      "        tokenCookie: session\n"
      "        removeHeader: true\n"
      "        jwksMinRefreshInterval: 2s\n");
  EXPECT_EQ(y.provider_error, "");
  EXPECT_TRUE(y == want_jwt());
  std::string error;
  Middleware l = from_labels({{"jwt.jwksurl", "https://idp.example/jwks.json"},
                              {"jwt.algorithms", "RS256,ES256"},
                              {"jwt.issuers", "https://idp.example"},
                              {"jwt.audiences", "api, web"},
                              {"jwt.requiredclaims", "sub"},
                              {"jwt.claims.role", "admin"},
                              {"jwt.forwardheaders.X-User", "sub"},
                              {"jwt.leeway", "5s"},
                              {"jwt.tokencookie", "session"},
                              {"jwt.removeheader", "true"},
                              {"jwt.jwksminrefreshinterval", "2s"}},
                             error);
  EXPECT_EQ(error, "");
  EXPECT_TRUE(l == want_jwt());
}

TEST(TokenMiddlewareDecode, Defaults) {
  Middleware j = from_yaml("      jwt:\n        secret: s\n");
  ASSERT_TRUE(j.jwt);
  EXPECT_EQ(j.jwt->leeway, std::chrono::seconds(60));
  EXPECT_EQ(j.jwt->realm, "portier");
  EXPECT_EQ(j.jwt->jwks_refresh_interval, std::chrono::minutes(15));
  EXPECT_EQ(j.jwt->jwks_min_refresh_interval, std::chrono::seconds(10));
  Middleware a = from_yaml("      apiKey:\n        keys: [\"a:sha256:00\"]\n");
  ASSERT_TRUE(a.api_key);
  EXPECT_EQ(a.api_key->key_header, "X-API-Key");
  EXPECT_EQ(a.api_key->name_header, "X-API-Key-Name");
  EXPECT_FALSE(a.api_key->bearer);
  EXPECT_FALSE(a.api_key->keep_key);
}

TEST(TokenMiddlewareDecode, ApiKeyFromYamlAndLabelsAgree) {
  Middleware want;
  want.type = "apiKey";
  ApiKey& a = want.api_key.emplace();
  a.keys = {"ci:sha256:ab", "ops:$2y$05$x"};
  a.keys_file = "/etc/keys";
  a.key_header = "X-Token";
  a.key_query = "api_key";
  a.bearer = true;
  a.name_header = "X-Client";
  a.keep_key = true;
  Middleware y = from_yaml(
      "      apiKey:\n"
      "        keys: [\"ci:sha256:ab\", \"ops:$2y$05$x\"]\n"
      "        keysFile: /etc/keys\n        keyHeader: X-Token\n        keyQuery: api_key\n"
      "        bearer: true\n        nameHeader: X-Client\n        keepKey: true\n");
  EXPECT_EQ(y.provider_error, "");
  EXPECT_TRUE(y == want);
  std::string error;
  Middleware l = from_labels({{"apikey.keys", "ci:sha256:ab,ops:$2y$05$x"},
                              {"apikey.keysfile", "/etc/keys"},
                              {"apikey.keyheader", "X-Token"},
                              {"apikey.keyquery", "api_key"},
                              {"apikey.bearer", "true"},
                              {"apikey.nameheader", "X-Client"},
                              {"apikey.keepkey", "true"}},
                             error);
  EXPECT_EQ(error, "");
  EXPECT_TRUE(l == want);
}

TEST(TokenMiddlewareDecode, ErrorsNameTheOption) {
  struct Case {
    std::string yaml;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"      jwt:\n        leeway: soon\n", "jwt.leeway"},
      {"      jwt:\n        algorithms: {a: b}\n", "jwt.algorithms"},
      {"      jwt:\n        jwksUrls: x\n", "did you mean `http.middlewares.m.jwt.jwksUrl`?"},
      {"      apiKey:\n        bearer: maybe\n", "apiKey.bearer"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.yaml);
    Middleware m = from_yaml(c.yaml);
    EXPECT_NE(m.provider_error.find(c.error), std::string::npos) << m.provider_error;
  }
}

}  // namespace
}  // namespace portier::config

// cache (a portier type) and compress: the same model from YAML and from labels.
namespace portier::config {
namespace {

TEST(CacheMiddlewareDecode, YamlAndLabelsAgree) {
  Middleware want;
  want.type = "cache";
  Cache& c = want.cache.emplace();
  c.max_memory_bytes = 1000000;
  c.max_entry_bytes = 5000;
  c.default_ttl = std::chrono::seconds(30);
  c.stale_while_revalidate = std::chrono::seconds(10);
  c.stale_if_error = std::chrono::minutes(5);
  c.lock_timeout = std::chrono::milliseconds(1500);
  c.cache_authorized = true;
  Middleware y = from_yaml(
      "      cache:\n"
      "        maxMemoryBytes: 1000000\n"
      "        maxEntryBytes: 5000\n"
      "        defaultTtl: 30s\n"
      "        staleWhileRevalidate: 10s\n"
      "        staleIfError: 5m\n"
      "        lockTimeout: 1500ms\n"
      "        cacheAuthorized: true\n");
  EXPECT_EQ(y.provider_error, "");
  EXPECT_TRUE(y == want);
  std::string error;
  Middleware l = from_labels({{"cache.maxmemorybytes", "1000000"},
                              {"cache.maxentrybytes", "5000"},
                              {"cache.defaultttl", "30s"},
                              {"cache.stalewhilerevalidate", "10s"},
                              {"cache.staleiferror", "5m"},
                              {"cache.locktimeout", "1500ms"},
                              {"cache.cacheauthorized", "true"}},
                             error);
  EXPECT_EQ(error, "");
  EXPECT_TRUE(l == want);
  // A misspelt option is reported with the closest one.
  Middleware bad = from_labels({{"cache.maxmemorybyte", "1"}}, error);
  const std::string why = error + bad.provider_error;
  EXPECT_NE(why.find("did you mean `http.middlewares.m.cache.maxMemoryBytes`"), std::string::npos)
      << why;
}

}  // namespace
}  // namespace portier::config
