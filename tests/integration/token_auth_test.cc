// jwt and apiKey through a real portier: a JWKS served by a real HTTP server (python3's
// http.server over a temp directory, whose log counts the fetches), key rotation, claims
// forwarded to the whoami backend (which echoes the request), RFC 6750 challenges, API keys from a
// field and from the query, and the API gateway: rateLimit keyed by the key name apiKey forwards.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <regex>

#include "support/jwt_sign.h"
#include "support/net.h"
#include "support/process.h"

namespace portier::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

class TokenAuthTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<TempDir>();
    std::filesystem::create_directories(dir_->path() / "www");
    rsa_ = std::make_unique<TestKey>(make_key("RSA"));
    ec_ = std::make_unique<TestKey>(make_key("P-256"));
    write_jwks({jwk_of(*rsa_, "a")});
    jwks_port_ = free_port();
    jwks_ =
        Process::start({"/usr/bin/python3", "-u", "-m", "http.server", std::to_string(jwks_port_),
                        "--bind", "127.0.0.1", "--directory", (dir_->path() / "www").string()},
                       dir_->path() / "jwks.log");
    ASSERT_TRUE(poll_until(
        [] {
          try {  // http_get throws while nothing listens yet
            auto r = http_get(jwks_port_, "127.0.0.1", "/jwks.json");
            return r && r->status == 200;
          } catch (const std::exception&) {
            return false;
          }
        },
        10s));
    app_ = std::make_unique<Whoami>(start_whoami(*dir_, "app"));
    portier_ = std::make_unique<Portier>(start_portier(*dir_, dynamic()));
  }
  static void TearDownTestSuite() {
    portier_.reset();
    app_.reset();
    jwks_.reset();
    dir_.reset();
  }
  // Replaces the served JWKS in one rename, so a fetch never sees half a file.
  static void write_jwks(const std::vector<json>& keys) {
    auto tmp = dir_->write("jwks.tmp", json({{"keys", keys}}).dump());
    std::filesystem::rename(tmp, dir_->path() / "www" / "jwks.json");
  }
  static int jwks_fetches() {
    const std::string log = jwks_->log();
    int n = 0;
    for (auto at = log.find("GET /jwks.json"); at != std::string::npos;
         at = log.find("GET /jwks.json", at + 1)) {
      ++n;
    }
    return n - 1;  // the readiness probe above
  }
  static std::string dynamic() {
    const std::string jwks = "http://127.0.0.1:" + std::to_string(jwks_port_) + "/jwks.json";
    auto router = [](const std::string& name, const std::string& mws) {
      return "    " + name + ":\n      rule: \"Host(`" + name + ".localhost`)\"\n" +
             "      service: app\n      middlewares: [" + mws + "]\n";
    };
    std::string d = "http:\n  routers:\n";
    d += router("jwt", "jwt");
    d += router("admin", "jwtadmin");
    d += router("key", "apikey");
    d += router("gw", "apikey, perkey");
    d += "  middlewares:\n";
    d += "    jwt:\n      jwt:\n        jwksUrl: \"" + jwks + "\"\n" +
         "        issuers: [\"https://idp.test\"]\n        audiences: [api]\n" +
         "        forwardHeaders: {X-User: sub, X-Roles: roles}\n        removeHeader: true\n" +
         "        jwksMinRefreshInterval: 300ms\n";
    d += "    jwtadmin:\n      jwt:\n        jwksUrl: \"" + jwks + "\"\n" +
         "        claims: {role: admin}\n        realm: admins\n";
    // sha256("key-one") and sha256("key-two")
    d += "    apikey:\n      apiKey:\n        keyQuery: api_key\n        keys:\n"
         "          - "
         "\"ci:sha256:9b346041bc9a49574eb2665b2ad2a0a3f9f9cce4e42f5d1f26deb8a256b5966a\"\n"
         "          - "
         "\"ops:sha256:c8df51469c308a59bfbd48a3e0bdd228ca922d6032035f5ef6e4ad45f473a9f3\"\n";
    d += "    perkey:\n      rateLimit:\n        average: 1\n        period: 1h\n        burst: 2\n"
         "        sourceCriterion:\n          requestHeaderName: X-API-Key-Name\n";
    d += "  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: \"" +
         app_->url() + "\"\n";
    return d;
  }
  static std::string token(const TestKey& k, const std::string& alg, const std::string& kid,
                           json patch = json::object()) {
    json claims = {{"iss", "https://idp.test"}, {"aud", "api"},    {"sub", "alice"},
                   {"roles", {"a", "b"}},       {"role", "admin"}, {"exp", unix_now() + 300}};
    claims.merge_patch(patch);
    return sign_token(k, alg, claims, kid);
  }
  static std::optional<Response> get(const std::string& host, const std::string& path,
                                     const std::string& headers = "") {
    return http_get(portier_->port, host, path, headers);
  }
  static std::optional<Response> bearer(const std::string& host, const std::string& t) {
    return get(host, "/", "Authorization: Bearer " + t + "\r\n");
  }

  static std::unique_ptr<TempDir> dir_;
  static std::unique_ptr<TestKey> rsa_, ec_;
  static std::unique_ptr<Process> jwks_;
  static int jwks_port_;
  static std::unique_ptr<Whoami> app_;
  static std::unique_ptr<Portier> portier_;
};
std::unique_ptr<TempDir> TokenAuthTest::dir_;
std::unique_ptr<TestKey> TokenAuthTest::rsa_, TokenAuthTest::ec_;
std::unique_ptr<Process> TokenAuthTest::jwks_;
int TokenAuthTest::jwks_port_ = 0;
std::unique_ptr<Whoami> TokenAuthTest::app_;
std::unique_ptr<Portier> TokenAuthTest::portier_;

TEST_F(TokenAuthTest, ValidTokenForwardsClaimsAndDropsTheToken) {
  auto r = get("jwt.localhost", "/p",
               "Authorization: Bearer " + token(*rsa_, "RS256", "a") +
                   "\r\nX-User: mallory\r\nX-Roles: root\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_TRUE(contains(r->body, "X-User: alice")) << r->body;
  EXPECT_TRUE(contains(r->body, "X-Roles: [\"a\",\"b\"]")) << r->body;
  EXPECT_FALSE(contains(r->body, "mallory")) << r->body;
  EXPECT_FALSE(contains(r->body, "root")) << r->body;
  EXPECT_FALSE(contains(r->body, "Authorization")) << r->body;
  // A claim the token lacks removes the client's field.
  r = get("jwt.localhost", "/",
          "Authorization: Bearer " + token(*rsa_, "RS256", "a", {{"roles", nullptr}}) +
              "\r\nX-Roles: root\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_FALSE(contains(r->body, "X-Roles")) << r->body;
}

TEST_F(TokenAuthTest, ChallengesFollowRfc6750) {
  long before = app_->requests();
  auto r = get("jwt.localhost", "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->header("www-authenticate"), "Bearer realm=\"portier\"");
  r = get("jwt.localhost", "/", "Authorization: Basic YTpi\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("www-authenticate"), "Bearer realm=\"portier\"");

  struct Case {
    std::string name;
    std::string token;
    std::string description;
  };
  const std::vector<Case> cases = {
      {"garbage", "a.b.c", "the token header is not base64url JSON"},
      {"expired", token(*rsa_, "RS256", "a", {{"exp", unix_now() - 3600}}),
       "the token has expired"},
      {"wrong audience", token(*rsa_, "RS256", "a", {{"aud", "other"}}),
       "the audience is not accepted"},
      {"wrong issuer", token(*rsa_, "RS256", "a", {{"iss", "https://evil"}}),
       "the issuer is not accepted"},
      {"HS256 not allowed", sign_token(hmac_secret(std::string(40, 'k')), "HS256", {}, "a"),
       "the algorithm is not accepted"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    r = bearer("jwt.localhost", c.token);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401);
    EXPECT_EQ(r->header("www-authenticate"),
              "Bearer realm=\"portier\", error=\"invalid_token\", error_description=\"" +
                  c.description + "\"");
  }
  // A claim value the middleware requires: 403 insufficient_scope.
  r = bearer("admin.localhost", token(*rsa_, "RS256", "a", {{"role", "user"}}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_TRUE(contains(r->header("www-authenticate"),
                       "Bearer realm=\"admins\", error=\"insufficient_scope\""))
      << r->header("www-authenticate");
  r = bearer("admin.localhost", token(*rsa_, "RS256", "a"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(app_->requests(), before + 1 + 1);  // the admin request and the /stats call
}

TEST_F(TokenAuthTest, RotationRefetchesAndRandomKidsDoNotHammer) {
  const std::string new_token = token(*ec_, "ES256", "b");
  auto r = bearer("jwt.localhost", new_token);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);           // not published yet (a refetch found nothing)
  std::this_thread::sleep_for(400ms);  // past jwksMinRefreshInterval
  write_jwks({jwk_of(*rsa_, "a"), jwk_of(*ec_, "b")});
  const int before = jwks_fetches();
  r = bearer("jwt.localhost", new_token);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->header("www-authenticate");
  EXPECT_TRUE(contains(r->body, "X-User: alice"));
  EXPECT_GE(jwks_fetches(), before + 1);
  EXPECT_EQ(bearer("jwt.localhost", token(*rsa_, "RS256", "a"))->status, 200);  // old key too

  // Random kids, as fast as one client goes: at most one refetch per 300ms.
  std::mt19937 rng(7);
  std::this_thread::sleep_for(400ms);  // so that the first random kid may ask once
  const int start = jwks_fetches();
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 30; ++i) {
    r = bearer("jwt.localhost", token(*ec_, "ES256", "kid-" + std::to_string(rng())));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401);
  }
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  const int fetched = jwks_fetches() - start;
  EXPECT_LE(fetched, 1 + ms / 300) << ms << " ms";
  EXPECT_GE(fetched, 1);
}

TEST_F(TokenAuthTest, ApiKeyFromFieldAndQuery) {
  auto r = get("key.localhost", "/", "X-API-Key: key-one\r\nX-API-Key-Name: spoofed\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(contains(r->body, "X-Api-Key-Name: ci") || contains(r->body, "X-API-Key-Name: ci"))
      << r->body;
  EXPECT_FALSE(contains(r->body, "key-one")) << r->body;
  EXPECT_FALSE(contains(r->body, "spoofed")) << r->body;
  r = get("key.localhost", "/q?x=1&api_key=key-two");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(contains(r->body, "Key-Name: ops")) << r->body;

  for (const std::string& h : {std::string(), std::string("X-API-Key: key-three\r\n"),
                               std::string("X-API-Key: KEY-ONE\r\n")}) {
    SCOPED_TRACE(h);
    r = get("key.localhost", "/", h);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401);
    EXPECT_EQ(r->body, h.empty() ? "missing API key\n" : "invalid API key\n");
  }
}

// apiKey then rateLimit keyed by the name apiKey forwards: each key has its own bucket.
TEST_F(TokenAuthTest, GatewayRateLimitsPerKey) {
  auto as = [](const std::string& key) {
    auto r = get("gw.localhost", "/", "X-API-Key: " + key + "\r\n");
    return r ? r->status : 0;
  };
  EXPECT_EQ(as("key-one"), 200);
  EXPECT_EQ(as("key-one"), 200);
  EXPECT_EQ(as("key-one"), 429);  // burst 2, then 1 an hour
  EXPECT_EQ(as("key-two"), 200);  // its own bucket
  EXPECT_EQ(as("key-two"), 200);
  EXPECT_EQ(as("key-two"), 429);
  EXPECT_EQ(as("wrong"), 401);  // refused before the limiter
}

}  // namespace
}  // namespace portier::test
