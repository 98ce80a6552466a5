// handle_api: the API's routing, apart from any HTTP server (both ApiServer and api@internal
// answer through it).
#include "admin/api.h"

#include <gtest/gtest.h>

namespace portier::admin {
namespace {

using json = nlohmann::json;

TEST(HandleApi, RoutesDecodesAndRefuses) {
  RuntimeStore store;
  auto rt = std::make_shared<Runtime>();
  rt->config.http.routers["who ami@file"] =
      config::Router{.rule = "Host(`a`)", .service = "s@file"};
  rt->config.http.services["s@file"].load_balancer.emplace();
  rt->config.http.services["api@internal"];
  rt->config.http.middlewares["m@file"].type = "headers";
  rt->entrypoints["web"] = "127.0.0.1:80";
  rt->providers["file"];
  store.set(rt);

  struct Case {
    std::string method, path;
    int status;
    std::string content_type;  // prefix
    std::string body;          // substring
  };
  const std::vector<Case> cases = {
      {"GET", "/ping", 200, "text/plain", "OK"},
      {"HEAD", "/api/version", 200, "application/json", "\"Version\":\"9.9\""},
      {"GET", "/api/overview", 200, "application/json", "\"routers\""},
      {"GET", "/api/rawdata", 200, "application/json", "who ami@file"},
      {"GET", "/api/entrypoints", 200, "application/json", "127.0.0.1:80"},
      {"GET", "/api/providers", 200, "application/json", "\"file\""},
      {"GET", "/api/providers/file", 200, "application/json", "\"file\""},
      {"GET", "/api/providers/nope", 404, "application/json", "provider not found"},
      {"GET", "/api/http/routers", 200, "application/json", "who ami@file"},
      {"GET", "/api/http/routers/who%20ami%40file", 200, "application/json", "Host(`a`)"},
      {"GET", "/api/http/routers/who ami@file", 200, "application/json", "Host(`a`)"},
      {"GET", "/api/http/routers/nope@file", 404, "application/json", "router not found"},
      {"GET", "/api/http/routers/", 404, "text/plain", "404 page not found"},
      {"GET", "/api/http/routers/a/b", 404, "text/plain", "404 page not found"},
      {"GET", "/api/http/services/api%40internal", 200, "application/json", "\"internal\""},
      {"GET", "/api/http/services/nope", 404, "application/json", "service not found"},
      {"GET", "/api/http/middlewares/m@file", 200, "application/json", "headers"},
      {"GET", "/api/http/middlewares/x", 404, "application/json", "middleware not found"},
      {"GET", "/", 404, "text/plain", "404 page not found"},
      {"GET", "/api/versions", 404, "text/plain", ""},
      {"POST", "/api/rawdata", 405, "text/plain", "method not allowed"},
      {"DELETE", "/api/http/routers/who%20ami%40file", 405, "text/plain", ""},
      {"POST", "/elsewhere", 404, "text/plain", ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.method + " " + c.path);
    ApiResponse r = handle_api(store, "9.9", c.method, c.path, "");
    EXPECT_EQ(r.status, c.status) << r.body;
    EXPECT_EQ(r.content_type.rfind(c.content_type, 0), 0u) << r.content_type;
    EXPECT_NE(r.body.find(c.body), std::string::npos) << r.body;
    EXPECT_EQ(r.allow.empty(), c.status != 405);
  }
  // api@internal is listed with no type and no loadBalancer, as Traefik lists its own.
  json svc = json::parse(handle_api(store, "", "GET", "/api/http/services/api@internal", "").body);
  EXPECT_EQ(svc["provider"], "internal");
  EXPECT_FALSE(svc.contains("type"));
  EXPECT_FALSE(svc.contains("loadBalancer"));
}

TEST(HandleApi, PercentDecode) {
  EXPECT_EQ(percent_decode("a%40b%2Fc"), "a@b/c");
  EXPECT_EQ(percent_decode("a+b"), "a+b");
  EXPECT_EQ(percent_decode("%4"), "%4");
  EXPECT_EQ(percent_decode("%zz%41"), "%zzA");
}

}  // namespace
}  // namespace portier::admin
