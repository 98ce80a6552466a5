// Middlewares compiled into filter chains: order, chains, errors, path steps, redirects, header
// edits. Filters run on a Stream as a codec would run them.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "proxy/middlewares/url.h"
#include "proxy/middlewares/filters.h"
#include "proxy/pipeline/chain_builder.h"

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
    gz:
      plugin:
        example: {}
)yaml";

Result<Chain> chain_of(const std::vector<std::string>& names,
                       const std::map<std::string, config::Middleware>& all) {
  return compile_chain(names, all, ChainContext{});
}

RequestResult run(const Chain& chain, Stream& s) {
  boost::asio::io_context io;
  RequestResult r;
  boost::asio::co_spawn(
      io, [&]() -> boost::asio::awaitable<void> { r = co_await run_request(chain, s); },
      boost::asio::detached);
  io.run();
  return r;
}

std::string edit(const std::vector<HeaderEdit>& edits, const std::string& name) {
  const HeaderEdit* e = find_edit(edits, name);
  return e == nullptr ? "<none>" : e->value;
}

Stream request(std::string_view path, std::string_view query = "", bool tls = false) {
  Stream s;
  s.method = "GET";
  s.scheme = tls ? "https" : "http";
  s.tls = tls;
  s.host = "example.com";
  s.path = path;
  s.query = query;
  return s;
}

TEST(Middlewares, CompileChainsAndErrors) {
  auto all = middlewares(kAll);
  auto both = chain_of({"both"}, all);
  ASSERT_TRUE(both) << both.error().message;
  ASSERT_EQ(both->size(), 2u);  // the chain is flattened
  EXPECT_EQ(both->filters[0]->name(), "strip");
  Stream s = request("/api/x");
  auto r = run(*both, s);
  EXPECT_EQ(r.verdict, Verdict::Continue);
  EXPECT_EQ(r.ran, 2u);
  EXPECT_EQ(s.forward_path(), "/x");
  EXPECT_EQ(edit(s.request_edits, "X-Added"), "yes");
  EXPECT_EQ(edit(s.request_edits, "user-agent"), "");  // removed
  EXPECT_EQ(edit(s.request_edits, "X-Forwarded-Prefix"), "/api");
  EXPECT_EQ(run_response(*both, r.ran, s, ResponseView{200}), -1);
  EXPECT_EQ(edit(s.response_edits, "X-Served-By"), "portier");
  EXPECT_EQ(edit(s.response_edits, "X-Frame-Options"), "DENY");
  EXPECT_EQ(edit(s.response_edits, "X-Content-Type-Options"), "nosniff");

  struct E {
    std::vector<std::string> names;
    std::string error;
  };
  const std::vector<E> errors = {
      {{"missing"}, "middleware `missing` does not exist"},
      {{"loop1"}, "chain cycle"},
      {{"gz"}, "type `plugin` is not supported yet"},
      {{"strip", "gz"}, "middleware `gz`"},
  };
  for (const auto& e : errors) {
    SCOPED_TRACE(e.error);
    auto c = chain_of(e.names, all);
    ASSERT_FALSE(c);
    EXPECT_NE(c.error().message.find(e.error), std::string::npos) << c.error().message;
  }
  EXPECT_EQ(middleware_error(all.at("gz")), "type `plugin` is not supported yet");
  EXPECT_EQ(middleware_error(all.at("strip")), "");
}

TEST(Middlewares, PathSteps) {
  auto all = middlewares(kAll);
  struct C {
    std::vector<std::string> names;
    std::string path;
    std::string query;
    std::string want_path;
    std::string header;  // "Name: value" or ""
  };
  const std::vector<C> table = {
      {{"strip"}, "/api/users", "x=1", "/users", "X-Forwarded-Prefix: /api"},
      {{"strip"}, "/api", "", "/", "X-Forwarded-Prefix: /api"},
      {{"strip"}, "/apiary", "", "/ary", "X-Forwarded-Prefix: /api"},  // plain prefix, as Traefik
      {{"strip"}, "/v2/x", "", "/x", "X-Forwarded-Prefix: /v2"},
      {{"strip"}, "/other", "", "/other", ""},
      {{"add"}, "/x", "q", "/base/x", ""},
      {{"replace"}, "/orig/path", "a=b", "/fixed", "X-Replaced-Path: /orig/path"},
      {{"strip", "add"}, "/api/x", "", "/base/x", "X-Forwarded-Prefix: /api"},
      // In order: stripping after adding finds no /api at the start.
      {{"add", "strip"}, "/api/x", "", "/base/api/x", ""},
  };
  for (const auto& c : table) {
    SCOPED_TRACE(c.path);
    auto chain = chain_of(c.names, all);
    ASSERT_TRUE(chain);
    Stream s = request(c.path, c.query);
    run(*chain, s);
    EXPECT_EQ(s.forward_path(), c.want_path);
    if (c.header.empty()) {
      EXPECT_TRUE(s.request_edits.empty());
    } else {
      ASSERT_EQ(s.request_edits.size(), 1u);
      EXPECT_EQ(s.request_edits[0].name + ": " + s.request_edits[0].value, c.header);
    }
  }
}

// Traefik's order: a redirect answers where it sits (the middlewares after it do not run), and
// on the way out the first middleware's response edits win.
TEST(Middlewares, OrderIsTraefiks) {
  auto all = middlewares(kAll + std::string(R"yaml(
    a:
      headers:
        customResponseHeaders: {X-Who: a}
    b:
      headers:
        customResponseHeaders: {X-Who: b, X-Only-B: "1"}
    toroot:
      redirectRegex:
        regex: '^http://example\.com/users$'
        replacement: 'http://example.com/'
)yaml"));
  auto chain = chain_of({"a", "b"}, all);
  ASSERT_TRUE(chain);
  Stream s = request("/");
  auto r = run(*chain, s);
  run_response(*chain, r.ran, s, ResponseView{200});
  EXPECT_EQ(edit(s.response_edits, "X-Who"), "a");
  EXPECT_EQ(edit(s.response_edits, "X-Only-B"), "1");

  // The regex sees the path stripPrefix left.
  auto redir = chain_of({"strip", "toroot", "add"}, all);
  ASSERT_TRUE(redir);
  Stream t = request("/api/users");
  r = run(*redir, t);
  EXPECT_EQ(r.verdict, Verdict::Respond);
  EXPECT_EQ(r.ran, 2u);  // add did not run
  EXPECT_EQ(t.record.answered_by, "toroot");
  EXPECT_EQ(t.local.status, 302);
  EXPECT_EQ(edit(t.local.fields, "Location"), "http://example.com/");
  EXPECT_EQ(t.forward_path(), "/users");

  auto scheme = chain_of({"redir"}, all);
  ASSERT_TRUE(scheme);
  Stream u = request("/p", "q=1");
  EXPECT_EQ(run(*scheme, u).verdict, Verdict::Respond);
  EXPECT_EQ(u.local.status, 301);
  EXPECT_EQ(edit(u.local.fields, "Location"), "https://example.com/p?q=1");
  Stream v = request("/p", "", true);
  EXPECT_EQ(run(*scheme, v).verdict, Verdict::Continue);  // already https
}
TEST(Middlewares, Redirects) {
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
TEST(Middlewares, DecodeErrors) {
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

TEST(Middlewares, RedirectRegexUsesGoReplacementSyntax) {
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
    auto a = chain_of({"r"}, mws);
    ASSERT_TRUE(a) << a.error().message;
    const std::string path = c.target.substr(0, c.target.find('?'));
    const std::string query =
        c.target.find('?') == std::string::npos ? "" : c.target.substr(c.target.find('?') + 1);
    Stream s = request(path, query, c.scheme == "https");
    s.host = c.host;
    auto r = run(*a, s);
    EXPECT_EQ(r.verdict == Verdict::Respond ? edit(s.local.fields, "Location") : "", c.want);
  }
  auto bad = chain_of({"r"}, middlewares("    r:\n      redirectRegex:\n        regex: "
                                                "'('\n        replacement: x\n"));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("redirectRegex.regex"), std::string::npos);
  // RE2 rewrites reach \9 at most: a reference to group 10 is refused, not misread as \1 then "0".
  auto ten = chain_of(
      {"r"}, middlewares("    r:\n      redirectRegex:\n        regex: "
                         "'(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)'\n        replacement: 'x$10'\n"));
  ASSERT_FALSE(ten);
  EXPECT_NE(ten.error().message.find("group 10"), std::string::npos) << ten.error().message;
}

TEST(Middlewares, StrictTransportSecurityOnTlsRequestsOrWhenForced) {
  auto mws = middlewares("    sts:\n      headers:\n        stsSeconds: 60\n");
  auto chain = chain_of({"sts"}, mws);
  ASSERT_TRUE(chain);
  Stream plain = request("/"), tls = request("/", "", true);
  run_response(*chain, 1, plain, ResponseView{200});
  run_response(*chain, 1, tls, ResponseView{200});
  EXPECT_TRUE(plain.response_edits.empty());
  EXPECT_EQ(edit(tls.response_edits, "Strict-Transport-Security"), "max-age=60");
}

}  // namespace
}  // namespace portier::proxy

namespace portier::proxy {
namespace {

// CORS per Traefik's header_test.go: a wildcard origin list with credentials echoes the origin;
// '*' in allowed headers or methods with credentials echoes what the preflight asked for.
TEST(Middlewares, CorsPreflightAndOrigins) {
  auto all = middlewares(R"yaml(
    creds:
      headers:
        accessControlAllowCredentials: true
        accessControlAllowOriginList: ["*"]
        accessControlAllowHeaders: ["*"]
        accessControlAllowMethods: ["*"]
        accessControlExposeHeaders: [X-Id]
    plain:
      headers:
        accessControlAllowOriginList: ["*"]
        accessControlAllowOriginListRegex: ["^https://([a-z]+)\\.example$"]
        accessControlAllowMethods: [GET]
)yaml");
  // The fields a browser sends with a preflight.
  std::string raw =
      "OPTIONS / HTTP/1.1\r\nHost: h\r\nOrigin: https://a.test\r\n"
      "Access-Control-Request-Method: PATCH\r\nAccess-Control-Request-Headers: X-Foo\r\n\r\n";
  http::RequestHead head;
  http::Limits limits;
  ASSERT_EQ(http::parse_request_head(raw, limits, head).status, http::ParseStatus::Complete);

  auto creds = chain_of({"creds"}, all);
  ASSERT_TRUE(creds);
  Stream s = request("/");
  s.method = "OPTIONS";
  s.fields = &head.fields;
  auto r = run(*creds, s);
  ASSERT_EQ(r.verdict, Verdict::Respond);
  EXPECT_EQ(s.local.status, 200);
  EXPECT_EQ(edit(s.local.fields, "Access-Control-Allow-Origin"), "https://a.test");
  EXPECT_EQ(edit(s.local.fields, "Access-Control-Allow-Headers"), "X-Foo");
  EXPECT_EQ(edit(s.local.fields, "Access-Control-Allow-Methods"), "PATCH");
  EXPECT_EQ(edit(s.local.fields, "Access-Control-Allow-Credentials"), "true");
  EXPECT_EQ(edit(s.local.fields, "Access-Control-Expose-Headers"), "X-Id");

  auto plain = chain_of({"plain"}, all);
  ASSERT_TRUE(plain);
  Stream p = request("/");
  p.method = "OPTIONS";
  p.fields = &head.fields;
  ASSERT_EQ(run(*plain, p).verdict, Verdict::Respond);
  EXPECT_EQ(edit(p.local.fields, "Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(edit(p.local.fields, "Access-Control-Allow-Methods"), "GET");
  EXPECT_EQ(edit(p.local.fields, "Access-Control-Allow-Credentials"), "<none>");
}

}  // namespace
}  // namespace portier::proxy
