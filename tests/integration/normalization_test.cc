// What a request means is settled before it is routed, and the server gets that meaning: paths
// normalized (dot segments, escapes), absolute-form targets routed by their authority, Host
// validated, OPTIONS * answered locally, fields with '_' dropped, h2c upgrades refused.
// Real portier and whoami processes; whoami echoes the request line and fields it received.
#include <gtest/gtest.h>

#include "support/net.h"
#include "support/process.h"

namespace portier::test {
namespace {

using namespace std::chrono_literals;

// Only PathPrefix(`/public`) leads to the backend (plus a Host router, a Header rule and /ws).
std::string dynamic_config(const std::string& url) {
  return "http:\n  routers:\n"
         "    public:\n      rule: \"PathPrefix(`/public`)\"\n      service: s\n"
         "    byhost:\n      rule: \"Host(`abs.example`)\"\n      service: s\n"
         "    role:\n      rule: \"PathPrefix(`/role`) && Header(`X_Role`, `admin`)\"\n"
         "      service: s\n"
         "    ws:\n      rule: \"Path(`/ws`)\"\n      service: s\n"
         "  services:\n    s:\n      loadBalancer:\n        servers:\n"
         "          - url: \"" +
         url + "\"\n";
}

class NormalizationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    env_ = ProxyEnv::start("norm", dynamic_config);
    whoami_ = &env_->whoami;
    portier_ = &env_->portier;
  }
  static void TearDownTestSuite() { env_.reset(); }

  // Sends raw bytes on a fresh connection; the response and how many requests the backend got.
  static std::pair<std::optional<Response>, long> exchange(const std::string& raw) {
    long before = whoami_->requests();
    Conn c(portier_->port);
    EXPECT_TRUE(c.send(raw));
    auto r = c.read_response();
    // The /stats request that counts is one of them.
    return {r, whoami_->requests() - before - 1};
  }

  static std::unique_ptr<ProxyEnv> env_;
  static Whoami* whoami_;
  static Portier* portier_;
};
std::unique_ptr<ProxyEnv> NormalizationTest::env_;
Whoami* NormalizationTest::whoami_ = nullptr;
Portier* NormalizationTest::portier_ = nullptr;

TEST_F(NormalizationTest, DotSegmentsCannotLeaveTheRoutedPrefix) {
  struct Case {
    std::string target;
    int status;
    std::string backend_line;  // the request line whoami saw, when forwarded
  };
  const std::vector<Case> cases = {
      // The vectors: each one is /admin (no router: 404) or refused, never forwarded.
      {"/public/../admin", 404, ""},
      {"/public/./../admin", 404, ""},
      {"/public/%2e%2e/admin", 404, ""},
      {"/public/..%2Fadmin", 400, ""},
      {"/public%2F..%2Fadmin", 400, ""},
      {"/public/%2E./%2e%2E/public/../admin?x=/../y", 404, ""},
      // Normalized paths are routed and forwarded as normalized; the query is untouched.
      {"/public/./a/../b?q=/../c&d=%2F", 200, "GET /public/b?q=/../c&d=%2F HTTP/1.1"},
      {"/x/../public//p/?", 200, "GET /public/p/? HTTP/1.1"},
      {"/../../public", 200, "GET /public HTTP/1.1"},
      {"/%70ublic/%7euser/caf%c3%a9", 200, "GET /public/~user/caf%C3%A9 HTTP/1.1"},
      {"/public/a%25b", 400, ""},
      {"/public/a%5Cb", 400, ""},
      {"/public/a%00b", 400, ""},
      {"/public/a%3Bb", 400, ""},
      {"/public/a%3Fb", 400, ""},
      {"/public/a%23b", 400, ""},
      {"/public/a#b", 400, ""},
      {"/public/a%zzb", 400, ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.target);
    auto [r, forwarded] = exchange("GET " + c.target + " HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, c.status) << r->body;
    EXPECT_EQ(forwarded, c.status == 200 ? 1 : 0);
    if (c.status == 200) {
      EXPECT_NE(r->body.find(c.backend_line + "\n"), std::string::npos) << r->body;
    }
  }
}

TEST_F(NormalizationTest, AbsoluteFormIsRoutedByItsAuthority) {
  // The authority wins over Host (RFC 9112 §3.2.2) and is what the server gets as Host.
  auto [r, n] = exchange("GET http://abs.example/x/../y?z HTTP/1.1\r\nHost: other.example\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(n, 1);
  EXPECT_NE(r->body.find("GET /y?z HTTP/1.1\n"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("Host: abs.example\n"), std::string::npos) << r->body;
  EXPECT_EQ(r->body.find("other.example"), std::string::npos) << r->body;

  auto [wrong, n2] = exchange("GET http://other.example/ HTTP/1.1\r\nHost: abs.example\r\n\r\n");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 404);
  EXPECT_EQ(n2, 0);

  auto [bare, n3] = exchange("GET http://abs.example HTTP/1.1\r\nHost: abs.example\r\n\r\n");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->status, 200);
  EXPECT_NE(bare->body.find("GET / HTTP/1.1\n"), std::string::npos) << bare->body;
}

TEST_F(NormalizationTest, MalformedHostsAndTargetsAreRefused) {
  const std::vector<std::string> heads = {
      "GET http://user:pw@abs.example/ HTTP/1.1\r\nHost: abs.example\r\n\r\n",
      "GET ftp://abs.example/ HTTP/1.1\r\nHost: abs.example\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: abs.example:8o\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: abs.example, other.example\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: abs.example:99999\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: abs%2Eexample\r\n\r\n",
      // h2c must not reach a server that would switch protocols behind the proxy.
      "GET /public HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n"
      "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n",
      "GET /public HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\n\r\n",
  };
  for (const auto& raw : heads) {
    SCOPED_TRACE(raw);
    auto [r, n] = exchange(raw);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
    EXPECT_EQ(n, 0);
  }
  auto ok = http_get(portier_->port, "abs.example:8080", "/");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

TEST_F(NormalizationTest, OptionsAsteriskIsAnsweredByTheProxy) {
  long before = whoami_->requests();
  Conn c(portier_->port);
  ASSERT_TRUE(c.send("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("content-length"), "0");
  EXPECT_EQ(r->body, "");
  // The connection stays usable.
  ASSERT_TRUE(c.send("GET /public HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto next = c.read_response();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 200);
  EXPECT_EQ(next->body.find("OPTIONS"), std::string::npos) << next->body;
  EXPECT_EQ(whoami_->requests() - before, 2);  // the GET and /stats
}

TEST_F(NormalizationTest, FieldsWithUnderscoresAreDropped) {
  auto r = http_get(portier_->port, "x", "/public",
                    "X_Forwarded_For: 6.6.6.6\r\nX_Auth_User: root\r\nX-Kept: yes\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("X-Kept: yes"), std::string::npos) << r->body;
  EXPECT_EQ(r->body.find("6.6.6.6"), std::string::npos) << r->body;
  EXPECT_EQ(r->body.find("X_Auth_User"), std::string::npos) << r->body;
  // Rules do not see them either: they match what the server would get.
  auto role = http_get(portier_->port, "x", "/role", "X_Role: admin\r\n");
  ASSERT_TRUE(role);
  EXPECT_EQ(role->status, 404);
}

TEST_F(NormalizationTest, WebSocketUpgradeStillWorks) {
  Conn c(portier_->port);
  ASSERT_TRUE(
      c.send("GET /public/../ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
             "Sec-WebSocket-Version: 13\r\n\r\n"));
  auto r = c.read_response(true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 101);
}

// The options that loosen all this, for legacy clients and servers.
TEST(NormalizationOptions, AllowedEscapesUnsanitizedPathsAndKeptUnderscores) {
  TempDir dir;
  Whoami whoami = start_whoami(dir, "legacy");
  Portier portier = start_portier(dir, route_to(whoami.url()),
                                  "    http:\n      sanitizePath: false\n"
                                  "      underscoreHeadersStrategy: keep\n"
                                  "      encodedCharacters:\n        allowEncodedSlash: true\n"
                                  "        allowEncodedPercent: true\n",
                                  "", 1);
  auto r = http_get(portier.port, "x", "/a/./b/../c%2Fd%25e%2e", "X_Legacy: 1\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  // Escapes are still normalized (unreserved decoded, hex in upper case), segments kept.
  EXPECT_NE(r->body.find("GET /a/./b/../c%2Fd%25e. HTTP/1.1\n"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("X_Legacy: 1\n"), std::string::npos) << r->body;
  auto refused = http_get(portier.port, "x", "/a%3Bb");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 400);
}

TEST(NormalizationOptions, UnderscoreFieldsCanBeRejected) {
  TempDir dir;
  Whoami whoami = start_whoami(dir, "strict");
  Portier portier = start_portier(dir, route_to(whoami.url()),
                                  "    http:\n      underscoreHeadersStrategy: reject\n", "", 1);
  auto r = http_get(portier.port, "x", "/", "X_Role: admin\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  auto ok = http_get(portier.port, "x", "/", "X-Role: admin\r\n");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

}  // namespace
}  // namespace portier::test
