// forwardAuth through the real proxy: a whoami backend, a second whoami as the authentication
// server (its /auth endpoint: 200 with Remote-User for Basic credentials or `session=ok`, 302
// for browsers, 401 otherwise; /last-auth shows what it received).
#include <gtest/gtest.h>

#include "support/net.h"
#include "support/process.h"

namespace portier::test {
namespace {

using namespace std::chrono_literals;

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

std::vector<std::string> all_headers(const Response& r, const std::string& name) {
  std::vector<std::string> out;
  for (const auto& [n, v] : r.headers) {
    if (strcasecmp(n.c_str(), name.c_str()) == 0) out.push_back(v);
  }
  return out;
}

class ForwardAuthTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<TempDir>();
    app_ = std::make_unique<Whoami>(start_whoami(*dir_, "app"));
    auth_ = std::make_unique<Whoami>(start_whoami(*dir_, "authsrv"));
    dead_port_ = free_port();
    portier_ = std::make_unique<Portier>(start_portier(*dir_, dynamic()));
  }
  static void TearDownTestSuite() {
    portier_.reset();
    auth_.reset();
    app_.reset();
    dir_.reset();
  }
  static std::string dynamic() {
    const std::string auth = "http://127.0.0.1:" + std::to_string(auth_->port) + "/auth?from=portier";
    auto router = [](const std::string& name) {
      return "    " + name + ":\n      rule: \"Host(`" + name + ".localhost`)\"\n" +
             "      service: app\n      middlewares: [" + name + "]\n";
    };
    std::string dyn = "http:\n  routers:\n";
    for (const char* r : {"fa", "body", "cookie", "filter", "regex", "down", "signin", "keep"}) {
      dyn += router(r);
    }
    auto mw = [&](const std::string& name, const std::string& address, const std::string& opts) {
      return "    " + name + ":\n      forwardAuth:\n        address: \"" + address + "\"\n" + opts;
    };
    dyn += "  middlewares:\n";
    dyn += mw("fa", auth,
              "        trustForwardHeader: false\n"
              "        authResponseHeaders: [Remote-User, Remote-Groups]\n");
    dyn += mw("body", auth,
              "        forwardBody: true\n        maxBodySize: 100\n"
              "        authResponseHeaders: [Remote-User]\n");
    dyn += mw("cookie", auth, "        addAuthCookiesToResponse: [auth_session]\n");
    dyn += mw("filter", auth, "        authRequestHeaders: [Authorization, X-Keep]\n");
    dyn += mw("regex", auth, "        authResponseHeadersRegex: \"^Remote-\"\n");
    dyn += mw("down", "http://127.0.0.1:" + std::to_string(dead_port_) + "/auth", "");
    dyn += mw("signin", auth, "        authSigninURL: \"https://login.example/sign?x=1\"\n");
    dyn += mw("keep", auth, "        preserveLocationHeader: true\n");
    dyn += "  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: \"" +
           app_->url() + "\"\n";
    return dyn;
  }
  // What the auth server received last (read directly, not through the proxy).
  static std::string last_auth() {
    auto r = http_get(auth_->port, "127.0.0.1", "/last-auth");
    return r ? r->body : "";
  }

  static std::unique_ptr<TempDir> dir_;
  static std::unique_ptr<Whoami> app_;
  static std::unique_ptr<Whoami> auth_;
  static std::unique_ptr<Portier> portier_;
  static int dead_port_;
};
std::unique_ptr<TempDir> ForwardAuthTest::dir_;
std::unique_ptr<Whoami> ForwardAuthTest::app_;
std::unique_ptr<Whoami> ForwardAuthTest::auth_;
std::unique_ptr<Portier> ForwardAuthTest::portier_;
int ForwardAuthTest::dead_port_ = 0;

TEST_F(ForwardAuthTest, AllowedRequestCarriesTheIdentity) {
  auto r = http_get(portier_->port, "fa.localhost", "/page?q=1",
                    "Authorization: Basic YWxpY2U6cHc=\r\nRemote-User: mallory\r\n"
                    "X-Forwarded-Host: evil.example\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_TRUE(contains(r->body, "GET /page?q=1 HTTP/1.1")) << r->body;
  EXPECT_TRUE(contains(r->body, "Remote-User: alice")) << r->body;
  EXPECT_FALSE(contains(r->body, "mallory")) << r->body;
  EXPECT_TRUE(contains(r->body, "Remote-Groups: admins\nRemote-Groups: dev")) << r->body;
  EXPECT_FALSE(contains(r->body, "X-Auth-Extra")) << r->body;  // not listed
  const std::string seen = last_auth();
  EXPECT_TRUE(contains(seen, "GET /auth?from=portier HTTP/1.1")) << seen;
  EXPECT_TRUE(contains(seen, "Authorization: Basic YWxpY2U6cHc=")) << seen;
  EXPECT_TRUE(contains(seen, "X-Forwarded-Method: GET")) << seen;
  EXPECT_TRUE(contains(seen, "X-Forwarded-Uri: /page?q=1")) << seen;
  EXPECT_TRUE(contains(seen, "X-Forwarded-Host: fa.localhost")) << seen;  // the client's goes
  EXPECT_FALSE(contains(seen, "evil.example")) << seen;
  EXPECT_TRUE(contains(seen, "X-Forwarded-Proto: http")) << seen;
  EXPECT_TRUE(contains(seen, "X-Forwarded-For: 127.0.0.1")) << seen;
  EXPECT_TRUE(contains(seen, "Connection: close")) << seen;
}

TEST_F(ForwardAuthTest, DeniedRequestGetsTheAuthServersAnswer) {
  long before = app_->requests();
  auto r = http_get(portier_->port, "fa.localhost", "/secret");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->body, "denied by whoami\n");
  EXPECT_EQ(r->header("www-authenticate"), "Basic realm=\"whoami\"");
  EXPECT_EQ(r->header("x-whoami-name"), "authsrv");
  EXPECT_EQ(app_->requests(), before + 1);  // only the /stats call itself
  // A cookie session passes too, and the connection stays usable after a denial.
  Conn c(portier_->port);
  c.send("GET /a HTTP/1.1\r\nHost: fa.localhost\r\n\r\n");
  auto denied = c.read_response();
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->status, 401);
  c.send("GET /b HTTP/1.1\r\nHost: fa.localhost\r\nCookie: a=b; session=ok\r\n\r\n");
  auto ok = c.read_response();
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_TRUE(contains(ok->body, "GET /b HTTP/1.1")) << ok->body;
}

TEST_F(ForwardAuthTest, RedirectPassesLocation) {
  auto r = http_get(portier_->port, "fa.localhost", "/", "Accept: text/html\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 302);
  // Made absolute against the auth address, as Traefik does.
  EXPECT_EQ(r->header("location"),
            "http://127.0.0.1:" + std::to_string(auth_->port) + "/login?rd=back");
  EXPECT_EQ(r->body, "to the login page\n");
  auto kept = http_get(portier_->port, "keep.localhost", "/", "Accept: text/html\r\n");
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->status, 302);
  EXPECT_EQ(kept->header("location"), "/login?rd=back");
}

TEST_F(ForwardAuthTest, SigninUrlOn401) {
  auto r = http_get(portier_->port, "signin.localhost", "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 302);
  EXPECT_EQ(r->header("location"), "https://login.example/sign?x=1");
}

TEST_F(ForwardAuthTest, ForwardBodyGoesToBoth) {
  Conn c(portier_->port);
  c.send(
      "POST /echo HTTP/1.1\r\nHost: body.localhost\r\nAuthorization: Basic eA==\r\n"
      "Content-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world");
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello world");
  const std::string seen = last_auth();
  EXPECT_TRUE(contains(seen, "GET /auth?from=portier HTTP/1.1")) << seen;
  EXPECT_TRUE(contains(seen, "Content-Length: 11")) << seen;
  EXPECT_TRUE(contains(seen, "X-Forwarded-Method: POST")) << seen;
  EXPECT_TRUE(contains(seen, "Body: hello world\n")) << seen;
  // Chunked bodies are read whole too; the connection is reused.
  c.send(
      "POST /echo HTTP/1.1\r\nHost: body.localhost\r\nAuthorization: Basic eA==\r\n"
      "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  auto chunked = c.read_response();
  ASSERT_TRUE(chunked);
  EXPECT_EQ(chunked->status, 200);
  EXPECT_EQ(chunked->body, "abcde");
  EXPECT_TRUE(contains(last_auth(), "Body: abcde\n"));
  // Over maxBodySize: Traefik's 401, and the connection closes.
  Conn big(portier_->port);
  big.send("POST /echo HTTP/1.1\r\nHost: body.localhost\r\nAuthorization: Basic eA==\r\n"
           "Content-Length: 101\r\n\r\n" + std::string(101, 'x'));
  auto too_large = big.read_response();
  ASSERT_TRUE(too_large);
  EXPECT_EQ(too_large->status, 401);
  EXPECT_TRUE(big.wait_closed(5s));
}

TEST_F(ForwardAuthTest, AuthServerDown) {
  long before = app_->requests();
  auto r = http_get(portier_->port, "down.localhost", "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(app_->requests(), before + 1);  // only the /stats call itself
}

TEST_F(ForwardAuthTest, AuthCookiesAddedToTheResponse) {
  auto r = http_get(portier_->port, "cookie.localhost", "/status?code=200&cookie=auth_session",
                    "Cookie: session=ok\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "status 200\n");
  auto cookies = all_headers(*r, "set-cookie");
  ASSERT_EQ(cookies.size(), 1u) << r->body;
  EXPECT_EQ(cookies[0], "auth_session=fresh; Path=/");  // the auth server's wins
  // The service's other cookies stay.
  auto other = http_get(portier_->port, "cookie.localhost", "/status?code=200&cookie=app",
                        "Cookie: session=ok\r\n");
  ASSERT_TRUE(other);
  cookies = all_headers(*other, "set-cookie");
  ASSERT_EQ(cookies.size(), 2u);
  EXPECT_EQ(cookies[0], "app=backend");
  EXPECT_EQ(cookies[1], "auth_session=fresh; Path=/");
}

TEST_F(ForwardAuthTest, AuthRequestHeadersFilter) {
  auto r = http_get(portier_->port, "filter.localhost", "/x",
                    "Authorization: Basic eA==\r\nX-Keep: 1\r\nX-Drop: 1\r\nUser-Agent: t\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  const std::string seen = last_auth();
  EXPECT_TRUE(contains(seen, "X-Keep: 1")) << seen;
  EXPECT_FALSE(contains(seen, "X-Drop")) << seen;
  EXPECT_FALSE(contains(seen, "User-Agent")) << seen;
  EXPECT_TRUE(contains(seen, "X-Forwarded-Method: GET")) << seen;
  EXPECT_TRUE(contains(seen, "X-Forwarded-Uri: /x")) << seen;
  // Without authResponseHeaders nothing of the auth answer reaches the server.
  EXPECT_FALSE(contains(r->body, "Remote-User")) << r->body;
}

TEST_F(ForwardAuthTest, ResponseHeadersRegex) {
  auto r = http_get(portier_->port, "regex.localhost", "/",
                    "Authorization: Basic eA==\r\nRemote-Email: spoof@example\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(contains(r->body, "Remote-User: alice")) << r->body;
  EXPECT_TRUE(contains(r->body, "Remote-Groups: admins")) << r->body;
  EXPECT_FALSE(contains(r->body, "spoof@example")) << r->body;  // matching fields go
  EXPECT_FALSE(contains(r->body, "X-Auth-Extra")) << r->body;
}

}  // namespace
}  // namespace portier::test
