// The errors middleware through the real proxy: an app whoami (its /status?code=N answers N), a
// second whoami serving the error pages (its request dump shows what the page request was), a
// dead server, and a forwardAuth whose 401 is replaced too.
#include <gtest/gtest.h>

#include "support/net.h"
#include "support/process.h"

namespace portier::test {
namespace {

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

class ErrorsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<TempDir>();
    app_ = std::make_unique<Whoami>(start_whoami(*dir_, "app"));
    pages_ = std::make_unique<Whoami>(start_whoami(*dir_, "pages"));
    portier_ = std::make_unique<Portier>(start_portier(*dir_, dynamic()));
  }
  static void TearDownTestSuite() {
    portier_.reset();
    pages_.reset();
    app_.reset();
    dir_.reset();
  }
  static std::string dynamic() {
    auto router = [](const std::string& name, const std::string& service,
                     const std::string& mws) {
      return "    " + name + ":\n      rule: \"Host(`" + name + ".localhost`)\"\n" +
             "      service: " + service + "\n      middlewares: [" + mws + "]\n";
    };
    auto service = [](const std::string& name, const std::string& url) {
      return "    " + name + ":\n      loadBalancer:\n        servers:\n          - url: \"" + url +
             "\"\n";
    };
    const std::string dead = "http://127.0.0.1:" + std::to_string(free_port());
    return "http:\n  routers:\n" + router("err", "app", "err") + router("rew", "app", "rew") +
           router("dead", "deadsvc", "err") + router("missing", "app", "missing") +
           router("auth", "app", "err401, deny") + router("plain", "app", "plain") +
           R"yaml(  middlewares:
    err:
      errors:
        status: ["500-599"]
        service: pages
        query: "/errors/{status}?orig={originalStatus}&u={url}"
    rew:
      errors:
        status: ["500-599", "404"]
        statusRewrites:
          "500-599": 503
        service: pages@file
        query: "errors/{status}?orig={originalStatus}"
        errorRequestHeaders: [X-Keep]
    missing:
      errors:
        status: ["500"]
        service: nope
    err401:
      errors:
        status: ["401"]
        service: pages
        query: /login-page
    deny:
      forwardAuth:
        address: "http://127.0.0.1:)yaml" +
           std::to_string(pages_->port) + R"yaml(/auth"
    plain:
      errors:
        status: ["418"]
        service: pages
  services:
)yaml" + service("app", app_->url()) +
           service("pages", pages_->url()) + service("deadsvc", dead);
  }

  static std::unique_ptr<TempDir> dir_;
  static std::unique_ptr<Whoami> app_;
  static std::unique_ptr<Whoami> pages_;
  static std::unique_ptr<Portier> portier_;
};
std::unique_ptr<TempDir> ErrorsTest::dir_;
std::unique_ptr<Whoami> ErrorsTest::app_;
std::unique_ptr<Whoami> ErrorsTest::pages_;
std::unique_ptr<Portier> ErrorsTest::portier_;

TEST_F(ErrorsTest, ServerErrorGetsThePage) {
  auto r = http_get(portier_->port, "err.localhost", "/status?code=500",
                    "X-Client: 1\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->header("x-whoami-name"), "pages");
  EXPECT_TRUE(r->header("content-type").starts_with("text/plain")) << r->header("content-type");
  EXPECT_TRUE(contains(r->body,
                       "GET /errors/500?orig=500&u=http%3A%2F%2Ferr.localhost%2Fstatus%3Fcode%"
                       "3D500 HTTP/1.1"))
      << r->body;
  EXPECT_TRUE(contains(r->body, "Host: err.localhost")) << r->body;
  EXPECT_TRUE(contains(r->body, "X-Client: 1")) << r->body;  // the original fields
}

TEST_F(ErrorsTest, OtherStatusesPassThrough) {
  auto ok = http_get(portier_->port, "err.localhost", "/status?code=200");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, "status 200\n");
  auto nf = http_get(portier_->port, "err.localhost", "/status?code=404");
  ASSERT_TRUE(nf);
  EXPECT_EQ(nf->status, 404);
  EXPECT_EQ(nf->body, "status 404\n");
  // A keep-alive connection goes on after a replaced response.
  Conn c(portier_->port);
  c.send("GET /status?code=503 HTTP/1.1\r\nHost: err.localhost\r\n\r\n");
  auto first = c.read_response();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 503);
  EXPECT_TRUE(contains(first->body, "GET /errors/503?")) << first->body;
  c.send("GET /status?code=201 HTTP/1.1\r\nHost: err.localhost\r\n\r\n");
  auto second = c.read_response();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 201);
}

TEST_F(ErrorsTest, RequestWithAStreamedBody) {
  // The body (larger than the connection's buffer) streams to the server before the 500 comes
  // back: the page request must still name the original host and URL.
  Conn c(portier_->port);
  const std::string body(200 * 1024, 'b');
  c.send("POST /status?code=500 HTTP/1.1\r\nHost: err.localhost\r\nX-Client: 2\r\n"
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_TRUE(contains(r->body,
                       "GET /errors/500?orig=500&u=http%3A%2F%2Ferr.localhost%2Fstatus%3Fcode%"
                       "3D500 HTTP/1.1"))
      << r->body;
  EXPECT_TRUE(contains(r->body, "Host: err.localhost")) << r->body;
  EXPECT_TRUE(contains(r->body, "X-Client: 2")) << r->body;
  EXPECT_FALSE(contains(r->body, "Content-Length")) << r->body;
}

TEST_F(ErrorsTest, StatusRewrites) {
  auto r = http_get(portier_->port, "rew.localhost", "/status?code=502",
                    "X-Keep: k\r\nX-Drop: d\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_TRUE(contains(r->body, "GET /errors/503?orig=502 HTTP/1.1")) << r->body;
  EXPECT_TRUE(contains(r->body, "X-Keep: k")) << r->body;  // errorRequestHeaders
  EXPECT_FALSE(contains(r->body, "X-Drop")) << r->body;
  auto nf = http_get(portier_->port, "rew.localhost", "/status?code=404");
  ASSERT_TRUE(nf);
  EXPECT_EQ(nf->status, 404);  // no rewrite matches
  EXPECT_TRUE(contains(nf->body, "GET /errors/404?orig=404 HTTP/1.1")) << nf->body;
}

TEST_F(ErrorsTest, DeadServerGetsThePage) {
  auto r = http_get(portier_->port, "dead.localhost", "/x");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
  EXPECT_TRUE(contains(r->body, "GET /errors/502?orig=502&u=http%3A%2F%2Fdead.localhost%2Fx "))
      << r->body;
}

TEST_F(ErrorsTest, LaterMiddlewaresAnswerIsReplaced) {
  long before = app_->requests();
  auto r = http_get(portier_->port, "auth.localhost", "/private");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_TRUE(contains(r->body, "GET /login-page HTTP/1.1")) << r->body;
  EXPECT_FALSE(r->has_header("www-authenticate"));  // the denial's fields go with it
  EXPECT_EQ(app_->requests(), before + 1);  // only the /stats call itself
}

TEST_F(ErrorsTest, EmptyQueryAsksForTheRoot) {
  auto r = http_get(portier_->port, "plain.localhost", "/status?code=418");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 418);
  EXPECT_TRUE(contains(r->body, "GET / HTTP/1.1")) << r->body;
}

TEST_F(ErrorsTest, MissingServiceDisablesTheRouter) {
  auto r = http_get(portier_->port, "missing.localhost", "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_TRUE(poll_until(
      [] {
        return contains(portier_->proc->log(), "errors.service: service `nope@file` does not exist");
      },
      std::chrono::seconds(5)))
      << portier_->proc->log();
}

}  // namespace
}  // namespace portier::test
