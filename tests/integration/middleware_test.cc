// Middlewares through the real proxy: what whoami receives, what the client gets back.
#include <gtest/gtest.h>

#include "support/net.h"
#include "support/process.h"

namespace portier::test {
namespace {

using namespace std::chrono_literals;

class MiddlewareTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    env_ = ProxyEnv::start("mw", dynamic);
    whoami_ = &env_->whoami;
    portier_ = &env_->portier;
  }
  static void TearDownTestSuite() { env_.reset(); }
  static std::string dynamic(const std::string& url) {
    auto router = [](const std::string& name, const std::string& mws) {
      return "    " + name + ":\n      rule: \"Host(`" + name +
             ".localhost`)\"\n      service: s\n" + "      middlewares: [" + mws + "]\n";
    };
    std::string dyn = "http:\n  routers:\n" + router("strip", "strip") + router("add", "add") +
                      router("replace", "replace") + router("hdr", "hdr") +
                      router("redir", "redir") + router("redirport", "redirport") +
                      router("chain", "both") + router("auth", "auth") +
                      router("ghost", "nothing") +
                      R"yaml(  middlewares:
    strip:
      stripPrefix:
        prefixes: [/api]
    add:
      addPrefix:
        prefix: /base
    replace:
      replacePath:
        path: /fixed
    hdr:
      headers:
        customRequestHeaders:
          X-Added: "yes"
          User-Agent: ""
        customResponseHeaders:
          X-Served-By: portier
          X-Whoami-Name: ""
        frameDeny: true
    redir:
      redirectScheme:
        scheme: https
        permanent: true
    redirport:
      redirectScheme:
        scheme: https
        port: "8443"
    both:
      chain:
        middlewares: [strip, hdr]
    auth:
      plugin:
        example: {}
  services:
    s:
      loadBalancer:
        servers:
          - url: ")yaml" +
                      url + "\"\n";
    return dyn;
  }
  static std::unique_ptr<ProxyEnv> env_;
  static Whoami* whoami_;
  static Portier* portier_;
};
std::unique_ptr<ProxyEnv> MiddlewareTest::env_;
Whoami* MiddlewareTest::whoami_ = nullptr;
Portier* MiddlewareTest::portier_ = nullptr;

TEST_F(MiddlewareTest, PathRewrites) {
  auto strip = http_get(portier_->port, "strip.localhost", "/api/users?x=1");
  ASSERT_TRUE(strip);
  EXPECT_NE(strip->body.find("GET /users?x=1 HTTP/1.1"), std::string::npos) << strip->body;
  EXPECT_NE(strip->body.find("X-Forwarded-Prefix: /api"), std::string::npos) << strip->body;
  auto add = http_get(portier_->port, "add.localhost", "/x");
  ASSERT_TRUE(add);
  EXPECT_NE(add->body.find("GET /base/x HTTP/1.1"), std::string::npos) << add->body;
  auto replace = http_get(portier_->port, "replace.localhost", "/orig?a=b");
  ASSERT_TRUE(replace);
  EXPECT_NE(replace->body.find("GET /fixed?a=b HTTP/1.1"), std::string::npos) << replace->body;
  EXPECT_NE(replace->body.find("X-Replaced-Path: /orig"), std::string::npos) << replace->body;
}

TEST_F(MiddlewareTest, Headers) {
  auto r = http_get(portier_->port, "hdr.localhost", "/", "User-Agent: curl/8\r\nX-Added: no\r\n");
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("X-Added: yes"), std::string::npos) << r->body;
  EXPECT_EQ(r->body.find("X-Added: no"), std::string::npos) << r->body;
  EXPECT_EQ(r->body.find("User-Agent"), std::string::npos) << r->body;
  EXPECT_EQ(r->header("x-served-by"), "portier");
  EXPECT_EQ(r->header("x-frame-options"), "DENY");
  EXPECT_FALSE(r->has_header("x-whoami-name"));
}

TEST_F(MiddlewareTest, RedirectScheme) {
  long before = whoami_->requests();
  auto get = http_get(portier_->port, "redir.localhost:8000", "/p?q=1");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 301);
  EXPECT_EQ(get->header("location"), "https://redir.localhost/p?q=1");
  Conn c(portier_->port);
  c.send("POST /form HTTP/1.1\r\nHost: redir.localhost\r\nContent-Length: 0\r\n\r\n");
  auto post = c.read_response();
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 308);
  // The connection stays usable after a redirect without a body.
  c.send("GET /again HTTP/1.1\r\nHost: redirport.localhost\r\n\r\n");
  auto port = c.read_response();
  ASSERT_TRUE(port);
  EXPECT_EQ(port->status, 302);
  EXPECT_EQ(port->header("location"), "https://redirport.localhost:8443/again");
  EXPECT_EQ(whoami_->requests() - before, 1);  // only the /stats call: no redirect reached it
}

TEST_F(MiddlewareTest, ChainAndUnsupported) {
  auto chain = http_get(portier_->port, "chain.localhost", "/api/z");
  ASSERT_TRUE(chain);
  EXPECT_NE(chain->body.find("GET /z HTTP/1.1"), std::string::npos) << chain->body;
  EXPECT_EQ(chain->header("x-served-by"), "portier");
  // A router using a middleware portier does not implement yet is disabled, said so, and its
  // requests are not forwarded unprotected.
  auto auth = http_get(portier_->port, "auth.localhost", "/");
  ASSERT_TRUE(auth);
  EXPECT_EQ(auth->status, 404);
  EXPECT_TRUE(portier_->proc->wait_for_log(
      "object=\"router auth@file\" error=\"middleware `auth@file`: type `plugin` is not "
      "supported yet\"",
      1s))
      << portier_->proc->log();
  EXPECT_TRUE(
      portier_->proc->wait_for_log("object=\"router ghost@file\" error=\"middleware "
                                   "`nothing@file` does not exist\"",
                                   1s));
}

}  // namespace
}  // namespace portier::test
