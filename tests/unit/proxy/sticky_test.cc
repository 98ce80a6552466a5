// Sticky cookies: the Set-Cookie line, the cookie read back from requests, opaque values.
#include "proxy/sticky.h"

#include <gtest/gtest.h>

#include "proxy/http/parser.h"

namespace portier::proxy {
namespace {

TEST(Sticky, SetCookieLine) {
  struct Case {
    std::string name;
    config::StickyCookie cookie;
    std::string want;  // for value "v"
  };
  auto with = [](auto f) {
    config::StickyCookie c;
    c.name = "lb";
    f(c);
    return c;
  };
  const std::vector<Case> cases = {
      {"defaults: path /", with([](auto&) {}), "Set-Cookie: lb=v; Path=/\r\n"},
      {"every attribute", with([](auto& c) {
         c.secure = c.http_only = true;
         c.same_site = "strict";
         c.max_age = 300;
         c.path = "/app";
         c.domain = "example.com";
       }),
       "Set-Cookie: lb=v; Path=/app; Domain=example.com; Max-Age=300; HttpOnly; Secure; "
       "SameSite=Strict\r\n"},
      {"negative maxAge expires now", with([](auto& c) { c.max_age = -1; }),
       "Set-Cookie: lb=v; Path=/; Max-Age=0\r\n"},
      {"no path", with([](auto& c) { c.path.clear(); }), "Set-Cookie: lb=v\r\n"},
      {"sameSite none and lax", with([](auto& c) { c.same_site = "none"; }),
       "Set-Cookie: lb=v; Path=/; SameSite=None\r\n"},
      {"name sanitized", with([](auto& c) { c.name = "my cookie;x"; }),
       "Set-Cookie: my_cookie_x=v; Path=/\r\n"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(set_cookie_field(compile_sticky(c.cookie, "svc@file"), "v"), c.want);
  }
  // Traefik's generated name: "_" then hex of SHA-1, six characters, stable per service.
  auto a = compile_sticky({}, "app@file").name;
  EXPECT_EQ(a.size(), 6u);
  EXPECT_EQ(a[0], '_');
  EXPECT_EQ(a, compile_sticky({}, "app@file").name);
  EXPECT_NE(a, compile_sticky({}, "other@file").name);
}

TEST(Sticky, FindCookie) {
  struct Case {
    std::string name;
    std::vector<std::pair<std::string, std::string>> fields;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"alone", {{"Cookie", "lb=abc"}}, "abc"},
      {"among others", {{"cookie", "a=1; lb=abc; b=2"}}, "abc"},
      {"second field", {{"Cookie", "a=1"}, {"Cookie", "lb=x"}}, "x"},
      {"quoted", {{"Cookie", "lb=\"q\""}}, "q"},
      {"prefix is not the name", {{"Cookie", "xlb=1; lbx=2"}}, ""},
      {"absent", {{"Accept", "lb=1"}}, ""},
      {"spaces", {{"Cookie", " a=1 ;  lb = v "}}, "v"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    http::Fields fields;
    for (const auto& [n, v] : c.fields) fields.push({n, v});
    EXPECT_EQ(find_cookie(fields, "lb"), c.want);
  }
}

TEST(Sticky, ValuesAreOpaqueAndSalted) {
  const std::string salt = random_salt();
  EXPECT_EQ(salt.size(), 32u);
  EXPECT_NE(salt, random_salt());
  const std::string v = sticky_value(salt, "http://10.0.0.1:8080");
  EXPECT_EQ(v.size(), 16u);
  EXPECT_EQ(v, sticky_value(salt, "http://10.0.0.1:8080"));
  EXPECT_NE(v, sticky_value(salt, "http://10.0.0.2:8080"));
  EXPECT_NE(v, sticky_value(random_salt(), "http://10.0.0.1:8080"));
  EXPECT_EQ(v.find("10.0.0"), std::string::npos);
}

}  // namespace
}  // namespace portier::proxy
