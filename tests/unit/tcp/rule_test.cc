#include "tcp/rule.h"

#include <gtest/gtest.h>

namespace portier::tcp {
namespace {

namespace ip = boost::asio::ip;

struct Case {
  std::string rule;
  std::string sni;
  std::vector<std::string> alpn;
  std::string client;
  bool want;
};

TEST(TcpRule, Matches) {
  const std::vector<Case> cases = {
      {"HostSNI(`*`)", "", {}, "10.0.0.1", true},
      {"HostSNI(`*`)", "a.test", {}, "10.0.0.1", true},
      {"HostSNI(`a.test`)", "a.test", {}, "10.0.0.1", true},
      {"HostSNI(`A.Test.`)", "a.test", {}, "10.0.0.1", true},
      {"HostSNI(`a.test`)", "b.test", {}, "10.0.0.1", false},
      {"HostSNI(`a.test`)", "", {}, "10.0.0.1", false},
      {"HostSNI(`*.test`)", "a.test", {}, "10.0.0.1", true},
      {"HostSNI(`*.test`)", "a.b.test", {}, "10.0.0.1", false},
      {"HostSNI(`*.example.test`)", "example.test", {}, "10.0.0.1", false},
      {"HostSNIRegexp(`^db[0-9]+\\.test$`)", "db12.test", {}, "10.0.0.1", true},
      {"HostSNIRegexp(`^db[0-9]+\\.test$`)", "dbx.test", {}, "10.0.0.1", false},
      {"HostSNIRegexp(`db`)", "mydb.test", {}, "10.0.0.1", true},  // unanchored, as Go's
      {"ClientIP(`10.0.0.0/8`)", "", {}, "10.9.9.9", true},
      {"ClientIP(`10.0.0.0/8`)", "", {}, "11.0.0.1", false},
      {"ClientIP(`::1`)", "", {}, "::1", true},
      {"ALPN(`h2`)", "a.test", {"http/1.1", "h2"}, "10.0.0.1", true},
      {"ALPN(`h2`)", "a.test", {"http/1.1"}, "10.0.0.1", false},
      {"HostSNI(`a.test`) && ClientIP(`10.0.0.1`)", "a.test", {}, "10.0.0.1", true},
      {"HostSNI(`a.test`) && ClientIP(`10.0.0.1`)", "a.test", {}, "10.0.0.2", false},
      {"HostSNI(`a.test`) || HostSNI(`b.test`)", "b.test", {}, "10.0.0.1", true},
      {"!HostSNI(`a.test`) && HostSNI(`*`)", "b.test", {}, "10.0.0.1", true},
      {"!(HostSNI(`a.test`) || ALPN(`x`))", "c.test", {"x"}, "10.0.0.1", false},
      {"HostSNI(\"a.test\")", "a.test", {}, "10.0.0.1", true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.rule + " sni=" + c.sni + " client=" + c.client);
    auto r = parse_rule(c.rule);
    ASSERT_TRUE(r) << r.error().message;
    ConnInfo info{c.sni, c.alpn, ip::make_address(c.client)};
    EXPECT_EQ(r->matches(info), c.want);
  }
}

TEST(TcpRule, Shape) {
  auto all = parse_rule("HostSNI(`*`)");
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->catch_all());
  EXPECT_TRUE(all->host_sni().empty());
  auto both = parse_rule("HostSNI(`*`) && ClientIP(`1.2.3.4`)");
  ASSERT_TRUE(both);
  EXPECT_FALSE(both->catch_all());
  auto hosts = parse_rule("HostSNI(`B.test`) || HostSNI(`a.test`) || HostSNI(`b.test`)");
  ASSERT_TRUE(hosts);
  EXPECT_EQ(hosts->host_sni(), (std::vector<std::string>{"a.test", "b.test"}));
}

TEST(TcpRule, Errors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "empty rule"},
      {"Host(`a.test`)", "HTTP matcher"},
      {"HostSNI(`a.test`, `b.test`)", "takes 1 value"},
      {"HostSNI(`a b`)", "not a valid host name"},
      {"HostSNI(``)", "empty value"},
      {"HostSNIRegexp(`(`)", "HostSNIRegexp"},
      {"ClientIP(`10.0.0.0/33`)", "ClientIP"},
      {"ALPN(`acme-tls/1`)", "not allowed"},
      {"HostSNI(`a.test`) &&", "expected"},
      {"HostSNI(`a.test`", "expected"},
      {"(HostSNI(`a.test`)", "expected )"},
      {"HostSNI(`a.test)", "unterminated"},
      {std::string(200, '!') + "HostSNI(`*`)", "nested"},
      // The lexer and the bounds are the HTTP rules' (rules/expr.h).
      {"HostSNI(\"a\\q.test\")", "unknown escape \\q"},
      {"HostSNI(`a.test`) & ALPN(`h2`)", "column 19: unexpected character '&'"},
      {"HostSNI('a.test')", "single quotes are not allowed"},
      {[] {
         std::string r = "ALPN(`x`)";
         for (int i = 0; i < 1000; ++i) r += " || ALPN(`x`)";
         return r;
       }(),
       "more than 1000 matchers in one rule"},
  };
  for (const auto& [rule, want] : cases) {
    SCOPED_TRACE(rule);
    auto r = parse_rule(rule);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find(want), std::string::npos) << r.error().message;
  }
}

}  // namespace
}  // namespace portier::tcp
