// Middlewares compiled into actions: chains, errors, path steps, redirects.
#include "proxy/middlewares/actions.h"

#include <gtest/gtest.h>

#include "config/decode.h"
#include "unit/config/decode_errors.h"

namespace portier::proxy {
namespace {

std::map<std::string, config::Middleware> middlewares(const std::string& yaml) {
  auto cfg = config::decode_dynamic_yaml("http:\n  middlewares:\n" + yaml, "m.yml");
  EXPECT_TRUE(cfg) << cfg.error().message;
  return cfg ? cfg->http.middlewares : std::map<std::string, config::Middleware>{};
}

const char* kAll = R"yaml(
    strip:
      stripPrefix:
        prefixes: ["/api", "/v2"]
    add:
      addPrefix:
        prefix: /base
    replace:
      replacePath:
        path: /fixed
    hdr:
      headers:
        customRequestHeaders: {X-Added: "yes", User-Agent: ""}
        customResponseHeaders: {X-Served-By: portier}
        frameDeny: true
        contentTypeNosniff: true
    redir:
      redirectScheme:
        scheme: https
        permanent: true
    both:
      chain:
        middlewares: [strip, hdr]
    loop1:
      chain:
        middlewares: [loop2]
    loop2:
      chain:
        middlewares: [loop1]
    auth:
      basicAuth:
        users: ["a:b"]
)yaml";

TEST(Actions, CompileChainsAndErrors) {
  auto all = middlewares(kAll);
  auto both = compile_actions({"both"}, all);
  ASSERT_TRUE(both) << both.error().message;
  EXPECT_EQ(both->path_steps.size(), 1u);
  EXPECT_EQ(both->request_headers.size(), 2u);
  ASSERT_EQ(both->response_headers.size(), 3u);  // X-Served-By, X-Frame-Options, nosniff
  EXPECT_EQ(both->response_headers[1].name, "X-Frame-Options");
  EXPECT_EQ(both->response_headers[1].value, "DENY");

  struct E {
    std::vector<std::string> names;
    std::string error;
  };
  const std::vector<E> errors = {
      {{"missing"}, "middleware `missing` does not exist"},
      {{"loop1"}, "chain cycle"},
      {{"auth"}, "type `basicAuth` is not supported yet"},
      {{"strip", "auth"}, "middleware `auth`"},
  };
  for (const auto& e : errors) {
    SCOPED_TRACE(e.error);
    auto r = compile_actions(e.names, all);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find(e.error), std::string::npos) << r.error().message;
  }
  EXPECT_EQ(middleware_error(all.at("auth")), "type `basicAuth` is not supported yet");
  EXPECT_EQ(middleware_error(all.at("strip")), "");
}

TEST(Actions, PathSteps) {
  auto all = middlewares(kAll);
  struct C {
    std::vector<std::string> names;
    std::string path;
    std::string query;
    std::string want_target;
    std::string header;  // "Name: value" or ""
  };
  const std::vector<C> table = {
      {{"strip"}, "/api/users", "x=1", "/users?x=1", "X-Forwarded-Prefix: /api"},
      {{"strip"}, "/api", "", "/", "X-Forwarded-Prefix: /api"},
      {{"strip"}, "/apiary", "", "/ary", "X-Forwarded-Prefix: /api"},  // plain prefix, as Traefik
      {{"strip"}, "/v2/x", "", "/x", "X-Forwarded-Prefix: /v2"},
      {{"strip"}, "/other", "", "/other", ""},
      {{"add"}, "/x", "q", "/base/x?q", ""},
      {{"replace"}, "/orig/path", "a=b", "/fixed?a=b", "X-Replaced-Path: /orig/path"},
      {{"strip", "add"}, "/api/x", "", "/base/x", "X-Forwarded-Prefix: /api"},
  };
  for (const auto& c : table) {
    SCOPED_TRACE(c.path);
    auto a = compile_actions(c.names, all);
    ASSERT_TRUE(a);
    Rewrite rw;
    apply_path_steps(*a, c.path, c.query, rw);
    EXPECT_EQ(rw.target, c.want_target);
    if (c.header.empty()) {
      EXPECT_TRUE(rw.added.empty());
    } else {
      ASSERT_EQ(rw.added.size(), 1u);
      EXPECT_EQ(rw.added[0].name + ": " + rw.added[0].value, c.header);
    }
  }
}

TEST(Actions, Redirects) {
  Redirect https{"https", "", true};
  EXPECT_EQ(redirect_location(https, "http", "example.com:8000", "/a?b=1"),
            "https://example.com/a?b=1");
  EXPECT_EQ(redirect_location(https, "https", "example.com", "/a"), "");
  EXPECT_EQ(redirect_location(Redirect{"https", "8443", false}, "http", "example.com", "/"),
            "https://example.com:8443/");
  EXPECT_EQ(redirect_location(Redirect{"https", "443", false}, "http", "example.com", "/"),
            "https://example.com/");
  EXPECT_EQ(redirect_location(https, "http", "[::1]:80", "/"), "https://[::1]/");
  EXPECT_EQ(redirect_status(https, "GET"), 301);
  EXPECT_EQ(redirect_status(https, "HEAD"), 301);
  EXPECT_EQ(redirect_status(https, "POST"), 308);
  EXPECT_EQ(redirect_status(Redirect{"https", "", false}, "GET"), 302);
  EXPECT_EQ(redirect_status(Redirect{"https", "", false}, "PUT"), 307);
}

// An error inside one middleware disables that middleware only (its provider_error).
TEST(Actions, DecodeErrors) {
  const std::string bad = config::decode_errors(
      "http:\n  middlewares:\n    m:\n      stripPrefx:\n        prefixes: [/a]\n", "m.yml");
  EXPECT_NE(bad.find("m.yml:4:7: unknown middleware type `stripPrefx`"), std::string::npos) << bad;
  EXPECT_NE(bad.find("did you mean `stripPrefix`?"), std::string::npos);
  const std::string two = config::decode_errors(
      "http:\n  middlewares:\n    m:\n      addPrefix: {prefix: /a}\n      replacePath: {path: "
      "/b}\n",
      "m.yml");
  EXPECT_NE(two.find("exactly one middleware type"), std::string::npos);
  const std::string opt = config::decode_errors(
      "http:\n  middlewares:\n    m:\n      addPrefix:\n        prefx: /a\n", "m.yml");
  EXPECT_NE(opt.find("did you mean `http.middlewares.m.addPrefix.prefix`?"), std::string::npos)
      << opt;
}

}  // namespace
}  // namespace portier::proxy

namespace portier::proxy {
namespace {

TEST(Actions, RedirectRegexUsesGoReplacementSyntax) {
  struct Case {
    std::string regex, replacement, scheme, host, target, want;
  };
  std::vector<Case> cases = {
      {"^http://localhost/(.*)", "http://mydomain/${1}", "http", "localhost", "/a/b?c=1",
       "http://mydomain/a/b?c=1"},
      {"^https?://(www\\.)?(?P<host>[^/:]+)(:\\d+)?/(.*)", "https://$host/$4", "http",
       "www.example.com:8000", "/x", "https://example.com/x"},
      {"^http://a\\.test/old$", "http://a.test/new$$", "http", "a.test", "/old",
       "http://a.test/new$"},
      {"^http://a\\.test/old$", "http://a.test/new", "http", "a.test", "/other", ""},  // no match
      {"/x/", "/y\\z/", "https", "h", "/x/", "https://h/y\\z/"},  // a backslash stays literal
      // Go's rules: "$1x" names the group "1x" (none: empty); a group beyond the count is
      // empty; a '$' that starts no reference stays.
      {"^http://a\\.test/(o)ld$", "http://a.test/$1x-${1}x", "http", "a.test", "/old",
       "http://a.test/-ox"},
      {"^http://a\\.test/(o)ld$", "http://a.test/n$7", "http", "a.test", "/old",
       "http://a.test/n"},
      {"^http://a\\.test/old$", "http://a.test/$/${}/${x/$", "http", "a.test", "/old",
       "http://a.test/$/${}/${x/$"},
      // A replacement that leaves the URL as it was: no redirect (it would loop).
      {"^http://a\\.test/(.*)$", "http://a.test/$1", "http", "a.test", "/same", ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.regex + " -> " + c.replacement);
    auto mws = middlewares("    r:\n      redirectRegex:\n        regex: '" + c.regex +
                           "'\n        replacement: '" + c.replacement + "'\n");
    auto a = compile_actions({"r"}, mws);
    ASSERT_TRUE(a) << a.error().message;
    ASSERT_TRUE(a->redirect);
    EXPECT_EQ(redirect_location(*a->redirect, c.scheme, c.host, c.target), c.want);
  }
  auto bad = compile_actions({"r"}, middlewares("    r:\n      redirectRegex:\n        regex: "
                                                "'('\n        replacement: x\n"));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("redirectRegex.regex"), std::string::npos);
  // RE2 rewrites reach \9 at most: a reference to group 10 is refused, not misread as \1 then "0".
  auto ten = compile_actions(
      {"r"}, middlewares("    r:\n      redirectRegex:\n        regex: "
                         "'(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)'\n        replacement: 'x$10'\n"));
  ASSERT_FALSE(ten);
  EXPECT_NE(ten.error().message.find("group 10"), std::string::npos) << ten.error().message;
}

TEST(Actions, StrictTransportSecurityOnTlsRoutersOrWhenForced) {
  auto mws = middlewares("    sts:\n      headers:\n        stsSeconds: 60\n");
  auto plain = compile_actions({"sts"}, mws, false);
  auto tls = compile_actions({"sts"}, mws, true);
  ASSERT_TRUE(plain && tls);
  EXPECT_TRUE(plain->response_headers.empty());
  ASSERT_EQ(tls->response_headers.size(), 1u);
  EXPECT_EQ(tls->response_headers[0].value, "max-age=60");
}

}  // namespace
}  // namespace portier::proxy
