// The Traefik v3 rule language: matching cases per matcher (from Traefik's documentation of each
// one), operators and precedence, host pinning for the index, and parse errors with columns.
#include "rules/rule.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace portier::rules {
namespace {

struct Req {
  std::string host = "example.com";
  std::string method = "GET";
  std::string path = "/";
  std::string query;
  std::vector<HeaderView> headers;
  std::string ip = "10.0.0.1";
};

struct Case {
  std::string rule;
  Req req;
  bool match;
};

Request view(const Req& r) {
  return Request{r.host, r.method, r.path, r.query, r.headers, boost::asio::ip::make_address(r.ip)};
}

Req host(std::string h) { return Req{.host = std::move(h)}; }
Req path(std::string p) { return Req{.path = std::move(p)}; }
Req method(std::string m) { return Req{.method = std::move(m)}; }
Req query(std::string q) { return Req{.query = std::move(q)}; }
Req header(std::string_view n, std::string_view v) { return Req{.headers = {{n, v}}}; }
Req client(std::string ip) { return Req{.ip = std::move(ip)}; }

TEST(Rules, Matching) {
  const std::vector<Case> cases = {
      // Host: exact, case-insensitive (request hosts arrive lower-cased), trailing dot ignored.
      {"Host(`example.com`)", host("example.com"), true},
      {"Host(`Example.COM`)", host("example.com"), true},
      {"Host(`example.com.`)", host("example.com"), true},
      {"Host(`example.com`)", host("www.example.com"), false},
      {"Host(`example.com`)", host("example.org"), false},
      {"Host(`example.com`)", host(""), false},
      {"Host(\"example.com\")", host("example.com"), true},
      {"Host(`127.0.0.1`)", host("127.0.0.1"), true},
      // IPv6 literals: request hosts come without brackets (normalize_host); the rule may have
      // them or not (Traefik's Host(`10::10`) matches http://[10::10]/).
      {"Host(`[::1]`)", host("::1"), true},
      {"Host(`10::10`)", host("10::10"), true},
      {"Host(`10::10`)", host("10::11"), false},
      // Wildcards as Traefik's: `*.d` is one label, any, before d; `*` is every host.
      {"Host(`*.example.com`)", host("test.example.com"), true},
      {"Host(`*.Example.com`)", host("other.example.com"), true},
      {"Host(`*.example.com`)", host("example.com"), false},
      {"Host(`*.example.com`)", host("a.b.example.com"), false},
      {"Host(`*.example.com`)", host("test.otherexample.com"), false},
      {"Host(`*`)", host("localhost"), true},
      {"Host(`*`)", host(""), true},
      // Matcher names: as documented, all lower, all upper, or title case (Traefik's four).
      {"host(`example.com`)", host("example.com"), true},
      {"HOST(`example.com`)", host("example.com"), true},
      {"PATHPREFIX(\"/css\")", path("/css/a"), true},
      {"pathprefix(\"/css\")", path("/js"), false},
      {"Pathprefix(`/css`) && !Host(\"example.com\")", path("/css"), false},
      {"!(!(Host(\"example.com\") && Pathprefix(\"/css\")))", path("/css"), true},
      {"Hostregexp(`^ex`) && Clientip(`10.0.0.0/8`)", Req{}, true},
      // HostRegexp: RE2, unanchored like Go's MatchString.
      {"HostRegexp(`^.+\\.example\\.com$`)", host("a.example.com"), true},
      {"HostRegexp(`^.+\\.example\\.com$`)", host("example.com"), false},
      {"HostRegexp(`example`)", host("www.example.org"), true},
      {"HostRegexp(`^[a-z]+-[0-9]+\\.local$`)", host("api-12.local"), true},
      {"HostRegexp(`^[a-z]+-[0-9]+\\.local$`)", host("api-x.local"), false},
      {"HostRegexp(`^(?:www\\.)?example\\.com$`)", host("www.example.com"), true},
      {"HostRegexp(`^(?:www\\.)?example\\.com$`)", host("example.com"), true},
      // Path: exact, on the decoded path.
      {"Path(`/products`)", path("/products"), true},
      {"Path(`/products`)", path("/products/"), false},
      {"Path(`/products`)", path("/products/shoes"), false},
      {"Path(`/products`)", path("/Products"), false},
      {"Path(`/`)", path("/"), true},
      {"Path(`/a b`)", path("/a b"), true},
      // PathPrefix: plain prefix, no regex.
      {"PathPrefix(`/products`)", path("/products"), true},
      {"PathPrefix(`/products`)", path("/products/shoes"), true},
      {"PathPrefix(`/products`)", path("/productsandmore"), true},
      {"PathPrefix(`/products/`)", path("/products"), false},
      {"PathPrefix(`/products`)", path("/"), false},
      {"PathPrefix(`/`)", path("/anything/at/all"), true},
      {"PathPrefix(`/api/{id}`)", path("/api/{id}/x"), true},
      {"PathPrefix(`/api/{id}`)", path("/api/12/x"), false},
      // PathRegexp.
      {"PathRegexp(`^/products/(shoes|socks)/[0-9]+$`)", path("/products/shoes/42"), true},
      {"PathRegexp(`^/products/(shoes|socks)/[0-9]+$`)", path("/products/hats/42"), false},
      {"PathRegexp(`\\.(jpeg|jpg|png)$`)", path("/images/cat.png"), true},
      {"PathRegexp(`\\.(jpeg|jpg|png)$`)", path("/images/cat.gif"), false},
      {"PathRegexp(`/v[0-9]/`)", path("/api/v2/users"), true},
      {"PathRegexp(`(?i)^/admin`)", path("/ADMIN/x"), true},
      // Method.
      {"Method(`GET`)", method("GET"), true},
      {"Method(`get`)", method("GET"), true},
      {"Method(`GET`)", method("POST"), false},
      {"Method(`POST`)", method("POST"), true},
      {"Method(`DELETE`)", method("DELETE"), true},
      {"Method(`PURGE`)", method("PURGE"), true},
      {"Method(`GET`)", method("get"), false},
      // Header: name case-insensitive, value exact, any field with that name.
      {"Header(`Content-Type`, `application/json`)", header("Content-Type", "application/json"),
       true},
      {"Header(`content-type`, `application/json`)", header("CONTENT-TYPE", "application/json"),
       true},
      {"Header(`Content-Type`, `application/json`)", header("Content-Type", "text/html"), false},
      {"Header(`Content-Type`, `application/json`)", header("X-Type", "application/json"), false},
      {"Header(`X-Env`, `prod`)", Req{.headers = {{"X-Env", "dev"}, {"X-Env", "prod"}}}, true},
      {"Header(`X-Env`, `prod`)", Req{}, false},
      {"Header(`X-Env`, `prod`)", header("X-Env", "production"), false},
      // HeaderRegexp.
      {"HeaderRegexp(`Content-Type`, `^application/(json|yaml)$`)",
       header("Content-Type", "application/yaml"), true},
      {"HeaderRegexp(`Content-Type`, `^application/(json|yaml)$`)",
       header("Content-Type", "application/xml"), false},
      {"HeaderRegexp(`User-Agent`, `curl`)", header("user-agent", "curl/8.0"), true},
      {"HeaderRegexp(`User-Agent`, `curl`)", header("user-agent", "Mozilla/5.0"), false},
      {"HeaderRegexp(`X-Id`, `.*`)", Req{}, false},
      {"HeaderRegexp(`X-Id`, `^$`)", header("X-Id", ""), true},
      // Query: key and value, decoded as Go does; one argument means an empty value.
      {"Query(`mobile`, `true`)", query("mobile=true"), true},
      {"Query(`mobile`, `true`)", query("a=1&mobile=true&b=2"), true},
      {"Query(`mobile`, `true`)", query("mobile=false"), false},
      {"Query(`mobile`, `true`)", query("mobile=false&mobile=true"), true},
      {"Query(`mobile`, `true`)", query(""), false},
      {"Query(`q`, `a b`)", query("q=a+b"), true},
      {"Query(`q`, `a b`)", query("q=a%20b"), true},
      {"Query(`q`, `a/b`)", query("q=a%2Fb"), true},
      {"Query(`mobile`)", query("mobile"), true},
      {"Query(`mobile`)", query("mobile="), true},
      {"Query(`mobile`)", query("mobile=1"), false},
      {"Query(`mo bile`, `x`)", query("mo%20bile=x"), true},
      // QueryRegexp.
      {"QueryRegexp(`mobile`, `^(true|yes)$`)", query("mobile=yes"), true},
      {"QueryRegexp(`mobile`, `^(true|yes)$`)", query("mobile=no"), false},
      {"QueryRegexp(`page`, `^[0-9]+$`)", query("page=12&x=y"), true},
      {"QueryRegexp(`page`, `^[0-9]+$`)", query("page=1a"), false},
      {"QueryRegexp(`mobile`)", query("mobile"), true},
      // ClientIP: the peer address, IPv4 and IPv6, plain or CIDR.
      {"ClientIP(`10.0.0.1`)", client("10.0.0.1"), true},
      {"ClientIP(`10.0.0.1`)", client("10.0.0.2"), false},
      {"ClientIP(`10.0.0.0/8`)", client("10.200.3.4"), true},
      {"ClientIP(`10.0.0.0/8`)", client("11.0.0.1"), false},
      {"ClientIP(`192.168.1.0/24`)", client("192.168.1.255"), true},
      {"ClientIP(`192.168.1.0/24`)", client("192.168.2.1"), false},
      {"ClientIP(`0.0.0.0/0`)", client("8.8.8.8"), true},
      {"ClientIP(`::1`)", client("::1"), true},
      {"ClientIP(`::1`)", client("127.0.0.1"), false},
      {"ClientIP(`2001:db8::/32`)", client("2001:db8:1::5"), true},
      {"ClientIP(`2001:db8::/32`)", client("2001:db9::5"), false},
      {"ClientIP(`10.0.0.0/8`)", client("::ffff:10.1.2.3"), true},
      {"ClientIP(`10.0.0.1/32`)", client("10.0.0.1"), true},
      {"ClientIP(`10.0.0.0/31`)", client("10.0.0.1"), true},
      {"ClientIP(`10.0.0.0/31`)", client("10.0.0.2"), false},
      // Operators and precedence: ! binds tightest, then &&, then ||.
      {"Host(`example.com`) && Path(`/`)", Req{}, true},
      {"Host(`example.com`) && Path(`/x`)", Req{}, false},
      {"Host(`a`) || Host(`example.com`)", Req{}, true},
      {"Host(`a`) || Host(`b`)", Req{}, false},
      {"!Host(`a`)", Req{}, true},
      {"!Host(`example.com`)", Req{}, false},
      {"!!Host(`example.com`)", Req{}, true},
      {"Host(`a`) || Host(`example.com`) && Path(`/x`)", Req{}, false},
      {"(Host(`a`) || Host(`example.com`)) && Path(`/`)", Req{}, true},
      {"Host(`example.com`) || Host(`a`) && Path(`/x`)", Req{}, true},
      {"!Host(`a`) && !Path(`/x`)", Req{}, true},
      {"!(Host(`example.com`) && Path(`/`))", Req{}, false},
      {"!(Host(`example.com`) && Path(`/x`))", Req{}, true},
      {"Host(`example.com`) && (Path(`/x`) || Path(`/`))", Req{}, true},
      {"((Host(`example.com`)))", Req{}, true},
      {"Method(`GET`) && !PathPrefix(`/admin`)", path("/admin/users"), false},
      {"Method(`GET`) && !PathPrefix(`/admin`)", path("/public"), true},
      {"Host(`example.com`)&&Path(`/`)", Req{}, true},
      {"  Host(`example.com`)  ", Req{}, true},
      {"Host(`example.com`) && Method(`GET`) && Path(`/`) && ClientIP(`10.0.0.0/8`)", Req{}, true},
      {"Host(`example.com`) && Method(`GET`) && Path(`/`) && ClientIP(`11.0.0.0/8`)", Req{}, false},
      {"Header(`X-A`, `1`) || Query(`a`, `1`)", query("a=1"), true},
      {"Header(`X-A`, `1`) || Query(`a`, `1`)", query("a=2"), false},
      {"Host(\"example.com\") && Path(\"/\")", Req{}, true},
      {"Path(\"/a\\\"b\")", path("/a\"b"), true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.rule + " host=" + c.req.host + " path=" + c.req.path + " query=" + c.req.query);
    auto rule = parse(c.rule);
    ASSERT_TRUE(rule) << rule.error().message;
    EXPECT_EQ(rule->matches(view(c.req)), c.match);
  }
  EXPECT_GE(cases.size(), 110u);
}

TEST(Rules, Errors) {
  struct E {
    std::string rule;
    std::string message;  // a substring of the error
  };
  const std::vector<E> cases = {
      {"", "empty rule"},
      {"   ", "empty rule"},
      {"Host(`a`", "column 9: expected , or ) in Host(...), got the end of the rule"},
      {"Host(`a`) &&", "column 13: expected a matcher"},
      {"Host(`a`) Path(`/`)", "column 11: expected &&, || or the end of the rule"},
      {"Host(`a`) & Path(`/`)", "column 11: unexpected character '&'"},
      {"Host(`a`) | Path(`/`)", "column 11: unexpected character '|'"},
      {"Host(`a`, `b`)", "Host takes 1 value, got 2 (v3 syntax"},
      {"Host()", "column 6: expected a `string` argument to Host"},
      {"Host", "column 5: expected ( after Host"},
      {"hoST(`a`)", "unknown matcher hoST (write Host, or all lower"},
      {"pathPrefix(`/a`)", "unknown matcher pathPrefix (write PathPrefix"},
      {"HostHeader(`a`)", "not an HTTP v3 matcher"},
      {"Foo(`a`)", "column 1: unknown matcher Foo"},
      {"Host('a')", "single quotes are not allowed"},
      {"Host(`a)", "unterminated `string`"},
      {"Host(\"a)", "unterminated \"string\""},
      {"Host(\"a\\qb\")", "unknown escape \\q"},
      {"Host(`a`))", "column 10: expected &&, || or the end of the rule, got `)`"},
      {"(Host(`a`)", "expected ), got the end of the rule"},
      {"!", "expected a matcher"},
      {"Host(``)", "Host: value 1 is empty"},
      {"HostRegexp(``)", "HostRegexp: value 1 is empty"},
      {"PathRegexp(``)", "value 1 is empty"},
      {"Path(``)", "value 1 is empty"},
      {"Method(``)", "value 1 is empty"},
      {"ClientIP(``)", "value 1 is empty"},
      {"Header(`X`, ``)", "Header: value 2 is empty"},
      {"Header(``, `a`)", "Header: value 1 is empty"},
      {"HeaderRegexp(`X`, ``)", "value 2 is empty"},
      {"Query(``)", "value 1 is empty"},
      {"Query(`q`, ``)", "value 2 is empty"},
      {"Host(`*example.com`)", "write `*` or `*.domain`"},
      {"Host(`a.*.com`)", "only a leading `*.`"},
      {"Host(`*.*.com`)", "write `*` or `*.domain`"},
      {"Host(`exämple.com`)", "non-ASCII"},
      {"Path(`products`)", "path `products` must start with /"},
      {"PathPrefix(`api`)", "must start with /"},
      {"PathPrefix(`/a`, `/b`)", "PathPrefix takes 1 value, got 2"},
      {"PathRegexp(`(`)", "invalid regexp"},
      {"HostRegexp(`[a-`)", "invalid regexp"},
      {"HostRegexp(`(?<name>x)`)", "invalid regexp"},  // no Perl named groups in Go/RE2 syntax
      {"HeaderRegexp(`X`, `*`)", "invalid regexp"},
      {"Header(`X`)", "Header takes 2 values, got 1"},
      {"Header(`X`, `a`, `b`)", "Header takes 2 values, got 3"},
      {"Query(`a`, `b`, `c`)", "Query takes 1 or 2 values, got 3"},
      {"Method(`GET`, `POST`)", "Method takes 1 value, got 2"},
      {"ClientIP(`10.0.0.300`)", "invalid IP or CIDR"},
      {"ClientIP(`10.0.0.0/33`)", "prefix longer than the address"},
      {"ClientIP(`10.0.0.0/x`)", "invalid CIDR"},
      {"ClientIP(`::1/129`)", "prefix longer"},
      {"Host(`a`) && (Path(`/`) || )", "expected a matcher"},
      {"Host(`a`) && 12", "unexpected character '1'"},
      // Bounded shape (the fuzzer overflowed the stack with 200,000 of these).
      {std::string(200000, '!') + "Host(`a`)", "column 101: nested more than 100 levels deep"},
      {std::string(200000, '(') + "Host(`a`)" + std::string(200000, ')'), "nested more than 100"},
      {std::string(60, '(') + std::string(60, '!') + "Host(`a`)" + std::string(60, ')'),
       "nested more than 100"},
      {[] {
         std::string r = "Host(`a`)";
         for (int i = 0; i < 1000; ++i) r += " || Host(`a`)";
         return r;
       }(),
       "more than 1000 matchers in one rule"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.rule);
    auto rule = parse(c.rule);
    ASSERT_FALSE(rule);
    EXPECT_NE(rule.error().message.find(c.message), std::string::npos) << rule.error().message;
  }
}

TEST(Rules, DeepButBoundedRulesParse) {
  // At the limits: 100 levels of nesting, 1000 matchers.
  auto nested =
      parse(std::string(50, '(') + std::string(50, '!') + "Host(`a`)" + std::string(50, ')'));
  ASSERT_TRUE(nested) << nested.error().message;
  EXPECT_TRUE(nested->matches(view(host("a"))));  // 50 negations: an even number
  EXPECT_FALSE(nested->matches(view(host("b"))));
  std::string chain = "Host(`a`)";
  for (int i = 0; i < 999; ++i) chain += " && Host(`a`)";
  auto long_chain = parse(chain);
  ASSERT_TRUE(long_chain) << long_chain.error().message;
  EXPECT_TRUE(long_chain->matches(view(host("a"))));
}

TEST(Rules, PinnedHostsForTheIndex) {
  struct P {
    std::string rule;
    std::vector<std::string> hosts;  // empty: can match any host
  };
  const std::vector<P> cases = {
      {"Host(`A.example`)", {"a.example"}},
      {"Host(`a`) && PathPrefix(`/x`)", {"a"}},
      {"PathPrefix(`/x`) && Host(`a`)", {"a"}},
      {"Host(`a`) || Host(`b`)", {"a", "b"}},
      {"(Host(`a`) || Host(`b`)) && Method(`GET`)", {"a", "b"}},
      {"Host(`a`) || PathPrefix(`/x`)", {}},
      {"!Host(`a`)", {}},
      {"HostRegexp(`a`)", {}},
      {"PathPrefix(`/`)", {}},
      {"Host(`a`) && Host(`b`)", {"a"}},  // matches nothing, but only "a" could
      {"Host(`*.a`)", {}},                  // wildcards are matched in order, not indexed
      {"Host(`*`)", {}},
      {"Host(`[::1]`)", {"::1"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.rule);
    auto rule = parse(c.rule);
    ASSERT_TRUE(rule) << rule.error().message;
    EXPECT_EQ(rule->pinned_hosts(), c.hosts);
  }
}

TEST(Rules, HostNamesForCertificates) {
  struct H {
    std::string rule;
    std::vector<std::string> names;
  };
  const std::vector<H> cases = {
      {"Host(`B`) || Host(`a`)", {"a", "b"}},
      {"Host(`a`) || PathPrefix(`/x`)", {"a"}},
      {"Host(`*.Example.com`) || Host(`example.com`)", {"*.example.com", "example.com"}},
      {"Host(`*`)", {}},
      {"HostRegexp(`.*`)", {}},
      {"Host(`a`) && Host(`a`)", {"a"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.rule);
    auto rule = parse(c.rule);
    ASSERT_TRUE(rule) << rule.error().message;
    EXPECT_EQ(rule->host_names(), c.names);
  }
}

TEST(Rules, PercentDecode) {
  char out[64];
  std::string_view in = "/a%20b/%2Fc";
  std::size_t n = percent_decode(in, out);
  EXPECT_EQ(std::string_view(out, n), "/a b//c");
  EXPECT_EQ(percent_decode("/bad%2", out), std::string_view::npos);
  EXPECT_EQ(percent_decode("/bad%zz", out), std::string_view::npos);
  // A rule on /admin is not bypassed by encoding it.
  auto rule = parse("PathPrefix(`/admin`)");
  ASSERT_TRUE(rule);
  n = percent_decode("/%61dmin/x", out);
  Req r = path(std::string(out, n));
  EXPECT_TRUE(rule->matches(view(r)));
}

}  // namespace
}  // namespace portier::rules
