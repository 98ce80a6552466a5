// IP ranges and client IP strategies, with the cases of Traefik's pkg/ip tests where they apply.
#include "proxy/middlewares/ip_strategy.h"

#include <gtest/gtest.h>

namespace portier::proxy::mw {
namespace {

TEST(IpMatcher, ParseErrors) {
  struct Case {
    std::string name;
    std::vector<std::string> entries;
    std::string error;  // empty: parses
  };
  std::vector<Case> cases = {
      {"v4, v6, cidrs", {"192.168.1.7", "10.0.0.0/8", "::1/128", "2001:db8::/32"}, ""},
      {"host bits set are masked", {"10.1.2.3/8"}, ""},
      {"zero prefix", {"0.0.0.0/0", "::/0"}, ""},
      {"empty list", {}, "no IP or CIDR given"},
      {"prefix too long v4", {"10.0.0.0/8", "10.0.0.0/33"}, "invalid IP or CIDR `10.0.0.0/33`"},
      {"prefix too long v6", {"::/129"}, "invalid IP or CIDR `::/129`"},
      {"negative prefix", {"10.0.0.0/-1"}, "invalid IP or CIDR `10.0.0.0/-1`"},
      {"empty prefix", {"10.0.0.0/"}, "invalid IP or CIDR `10.0.0.0/`"},
      {"prefix junk", {"10.0.0.0/8x"}, "invalid IP or CIDR `10.0.0.0/8x`"},
      {"short v4", {"10.0.0"}, "invalid IP or CIDR `10.0.0`"},
      {"octet too big", {"256.0.0.1"}, "invalid IP or CIDR `256.0.0.1`"},
      {"leading zeros", {"010.0.0.1"}, "invalid IP or CIDR `010.0.0.1`"},
      {"hostname", {"localhost"}, "invalid IP or CIDR `localhost`"},
      {"zone", {"fe80::1%eth0"}, "invalid IP or CIDR `fe80::1%eth0`"},
      {"spaces", {" 10.0.0.1"}, "invalid IP or CIDR ` 10.0.0.1`"},
      {"empty entry", {""}, "invalid IP or CIDR ``"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto m = IpMatcher::parse(c.entries);
    if (c.error.empty()) {
      EXPECT_TRUE(m) << m.error().message;
    } else {
      ASSERT_FALSE(m);
      EXPECT_EQ(m.error().message, c.error);
    }
  }
}

TEST(IpMatcher, Contains) {
  std::vector<std::string> list = {"192.168.1.7", "10.0.0.0/8", "::1/128", "2001:db8::/32",
                                   "172.16.5.9/12"};
  auto m = IpMatcher::parse(list);
  ASSERT_TRUE(m);
  struct Case {
    std::string ip;
    bool in;
  };
  std::vector<Case> cases = {
      {"192.168.1.7", true},
      {"192.168.1.8", false},
      {"10.0.0.1", true},
      {"10.255.255.255", true},
      {"11.0.0.0", false},
      {"::ffff:10.1.2.3", true},  // IPv4-mapped looked up
      {"::ffff:192.168.1.7", true},
      {"::ffff:192.168.1.8", false},
      {"172.31.255.255", true},  // 172.16.0.0/12 after masking
      {"172.32.0.0", false},
      {"::1", true},
      {"::2", false},
      {"2001:db8:ffff::1", true},
      {"2001:db9::1", false},
      {"fe80::1%eth0", false},
      {"", false},
      {"not an ip", false},
      {"10.0.0.1:80", false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.ip);
    EXPECT_EQ(m->contains(c.ip), c.in);
  }
  // An IPv4-mapped entry in the list matches the plain IPv4 address.
  std::vector<std::string> mapped = {"::ffff:1.2.3.4"};
  auto mm = IpMatcher::parse(mapped);
  ASSERT_TRUE(mm);
  EXPECT_TRUE(mm->contains("1.2.3.4"));
  EXPECT_TRUE(mm->contains(boost::asio::ip::make_address("1.2.3.4")));
  std::vector<std::string> ll = {"fe80::/10"};
  EXPECT_TRUE(IpMatcher::parse(ll)->contains("fe80::1%eth0"));  // the zone does not count
}

TEST(IpStrategy, ClientIp) {
  struct Case {
    std::string name;
    IpStrategyConfig config;
    std::string peer;
    std::vector<std::string_view> xff;
    std::string want;
  };
  std::vector<Case> cases = {
      {"peer host:port", {}, "10.0.0.1:1234", {"1.1.1.1"}, "10.0.0.1"},
      {"peer [v6]:port", {}, "[2001:db8::1]:443", {}, "2001:db8::1"},
      {"peer bare v4", {}, "10.0.0.1", {}, "10.0.0.1"},
      {"peer bare v6 used whole", {}, "::1", {}, "::1"},
      {"peer v6 subnet", {0, {}, 64}, "[2001:db8:1:2:3:4:5:6]:1", {}, "2001:db8:1:2::"},
      {"peer v4 ignores subnet", {0, {}, 64}, "10.0.0.1:1", {}, "10.0.0.1"},
      {"depth 1", {1}, "10.0.0.1:1", {"1.1.1.1, 2.2.2.2, 3.3.3.3"}, "3.3.3.3"},
      {"depth 3", {3}, "10.0.0.1:1", {"1.1.1.1, 2.2.2.2, 3.3.3.3"}, "1.1.1.1"},
      {"depth larger than the chain", {4}, "10.0.0.1:1", {"1.1.1.1, 2.2.2.2, 3.3.3.3"}, ""},
      {"depth without header", {1}, "10.0.0.1:1", {}, ""},
      {"depth over several fields", {2}, "10.0.0.1:1", {"1.1.1.1, 2.2.2.2", "3.3.3.3"}, "2.2.2.2"},
      {"depth skips empty fields", {1}, "10.0.0.1:1", {"1.1.1.1", " "}, "1.1.1.1"},
      {"depth returns garbage as is", {1}, "10.0.0.1:1", {"1.1.1.1,  junk "}, "junk"},
      {"depth empty entry", {1}, "10.0.0.1:1", {"1.1.1.1,"}, ""},
      {"depth with v6 subnet", {2, {}, 48}, "x", {"2001:db8:aa:bb::1, 9.9.9.9"}, "2001:db8:aa::"},
      {"depth wins over excludedIPs",
       {1, {"3.3.3.3"}},
       "10.0.0.1:1",
       {"1.1.1.1, 2.2.2.2, 3.3.3.3"},
       "3.3.3.3"},
      {"excluded: first from the right not excluded",
       {0, {"3.3.3.3", "10.0.0.0/8"}},
       "10.0.0.1:1",
       {"1.1.1.1, 2.2.2.2, 10.1.1.1, 3.3.3.3"},
       "2.2.2.2"},
      {"excluded: all excluded", {0, {"0.0.0.0/0"}}, "10.0.0.1:1", {"1.1.1.1, 2.2.2.2"}, ""},
      {"excluded: no header", {0, {"1.1.1.1"}}, "10.0.0.1:1", {}, ""},
      {"excluded: empty entries skipped",
       {0, {"2.2.2.2"}},
       "p",
       {"1.1.1.1, , 2.2.2.2,"},
       "1.1.1.1"},
      {"excluded: garbage is not excluded",
       {0, {"2.2.2.2"}},
       "p",
       {"1.1.1.1, junk, 2.2.2.2"},
       "junk"},
      {"excluded: mapped v4 matches v4 range",
       {0, {"10.0.0.0/8"}},
       "p",
       {"1.1.1.1, ::ffff:10.0.0.5"},
       "1.1.1.1"},
      {"excluded: subnet not applied (as Traefik)",
       {0, {"1.1.1.1"}, 64},
       "p",
       {"2001:db8::1, 1.1.1.1"},
       "2001:db8::1"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto s = IpStrategy::make(c.config);
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->client_ip(c.peer, c.xff), c.want);
  }
}

TEST(IpStrategy, ConfigErrors) {
  struct Case {
    std::string name;
    IpStrategyConfig config;
    std::string error;
  };
  std::vector<Case> cases = {
      {"subnet 0 with depth", {1, {}, 0}, "invalid IPv6 subnet 0: must be between 1 and 128"},
      {"subnet 129 peer", {0, {}, 129}, "invalid IPv6 subnet 129: must be between 1 and 128"},
      {"subnet unchecked with excludedIPs (as Traefik)", {0, {"1.1.1.1"}, 0}, ""},
      {"bad excluded entry", {0, {"1.1.1.1", "nope"}}, "excludedIPs: invalid IP or CIDR `nope`"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto s = IpStrategy::make(c.config);
    if (c.error.empty()) {
      EXPECT_TRUE(s);
    } else {
      ASSERT_FALSE(s);
      EXPECT_EQ(s.error().message, c.error);
    }
  }
}

TEST(IpStrategy, Ipv6SubnetIp) {
  struct Case {
    std::string ip;
    int prefix;
    std::string want;
  };
  std::vector<Case> cases = {
      {"2001:db8:1:2:3:4:5:6", 64, "2001:db8:1:2::"},
      {"2001:db8:1:2:3:4:5:6", 128, "2001:db8:1:2:3:4:5:6"},
      {"2001:db8:1:2:3:4:5:6", 1, "::"},
      {"2001:db8::1", 33, "2001:db8::"},
      {"fe80::1:2%eth0", 64, "fe80::"},
      {"1.2.3.4", 8, "1.2.3.4"},
      {"junk", 64, "junk"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.ip);
    EXPECT_EQ(ipv6_subnet_ip(c.ip, c.prefix), c.want);
  }
}

}  // namespace
}  // namespace portier::proxy::mw
