#include "tcp/proxy_header.h"

#include <gtest/gtest.h>

namespace portier::tcp {
namespace {

namespace ip = boost::asio::ip;

std::string v2(std::uint8_t ver_cmd, std::uint8_t fam, const std::string& payload) {
  std::string s("\r\n\r\n\0\r\nQUIT\n", 12);
  s.push_back(static_cast<char>(ver_cmd));
  s.push_back(static_cast<char>(fam));
  s.push_back(static_cast<char>(payload.size() >> 8));
  s.push_back(static_cast<char>(payload.size() & 0xff));
  return s + payload;
}

struct Case {
  std::string name;
  std::string bytes;
  ProxyStatus want;
  std::size_t size = 0;
  std::string source;  // "ip:port", or "" for local
};

TEST(ProxyHeader, Table) {
  const std::string v4_payload("\xc0\x00\x02\x01\x0a\x00\x00\x01\x30\x39\x01\xbb", 12);
  std::string v6_payload(36, '\0');
  v6_payload[15] = 1;  // ::1
  v6_payload[31] = 2;  // ::2
  v6_payload[32] = 0x04;
  v6_payload[33] = 0xd2;  // 1234
  v6_payload[35] = 80;
  const std::vector<Case> cases = {
      {"empty", "", ProxyStatus::Partial},
      {"http", "GET / HTTP/1.1\r\n", ProxyStatus::None},
      {"tls", "\x16\x03\x01", ProxyStatus::None},
      {"v1 prefix", "PROX", ProxyStatus::Partial},
      {"v1 tcp4", "PROXY TCP4 192.0.2.1 10.0.0.1 12345 443\r\nGET", ProxyStatus::Ok, 41,
       "192.0.2.1:12345"},
      {"v1 tcp6", "PROXY TCP6 2001:db8::1 ::1 1 2\r\n", ProxyStatus::Ok, 32, "[2001:db8::1]:1"},
      {"v1 unknown", "PROXY UNKNOWN\r\n", ProxyStatus::Ok, 15, ""},
      {"v1 unknown with addresses", "PROXY UNKNOWN 1.2.3.4 5.6.7.8 1 2\r\n", ProxyStatus::Ok, 35,
       ""},
      {"v1 partial line", "PROXY TCP4 192.0.2.1 10.0.0.1 1", ProxyStatus::Partial},
      {"v1 family mismatch", "PROXY TCP4 ::1 ::1 1 2\r\n", ProxyStatus::Invalid},
      {"v1 bad port", "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", ProxyStatus::Invalid},
      {"v1 leading zero port", "PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n", ProxyStatus::Invalid},
      {"v1 missing port", "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", ProxyStatus::Invalid},
      {"v1 double space", "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n", ProxyStatus::Invalid},
      {"v1 bare newline", "PROXY TCP4 1.2.3.4\n", ProxyStatus::Invalid},
      {"v1 too long", "PROXY TCP4 " + std::string(120, '1'), ProxyStatus::Invalid},
      {"v1 udp", "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", ProxyStatus::Invalid},
      {"v2 prefix", std::string("\r\n\r\n\0\r", 6), ProxyStatus::Partial},
      {"v2 tcp4", v2(0x21, 0x11, v4_payload) + "data", ProxyStatus::Ok, 28, "192.0.2.1:12345"},
      {"v2 tcp6", v2(0x21, 0x21, v6_payload), ProxyStatus::Ok, 52, "[::1]:1234"},
      {"v2 tcp4 with tlvs", v2(0x21, 0x11, v4_payload + std::string("\x04\x00\x01x", 4)),
       ProxyStatus::Ok, 32, "192.0.2.1:12345"},
      {"v2 local", v2(0x20, 0x00, ""), ProxyStatus::Ok, 16, ""},
      {"v2 local with addresses", v2(0x20, 0x11, v4_payload), ProxyStatus::Ok, 28, ""},
      {"v2 unspec proxy", v2(0x21, 0x00, ""), ProxyStatus::Ok, 16, ""},
      {"v2 partial payload", v2(0x21, 0x11, v4_payload).substr(0, 20), ProxyStatus::Partial},
      {"v2 short ipv4", v2(0x21, 0x11, v4_payload.substr(0, 8)), ProxyStatus::Invalid},
      {"v2 version 1", v2(0x11, 0x11, v4_payload), ProxyStatus::Invalid},
      {"v2 command 2", v2(0x22, 0x11, v4_payload), ProxyStatus::Invalid},
      {"v2 family 4", v2(0x21, 0x41, v4_payload), ProxyStatus::Invalid},
      {"v2 too long", v2(0x21, 0x11, std::string(4000, 'x')), ProxyStatus::Invalid},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    ProxyHeader h;
    ASSERT_EQ(parse_proxy_header(c.bytes, h), c.want);
    if (c.want != ProxyStatus::Ok) continue;
    EXPECT_EQ(h.size, c.size);
    if (c.source.empty()) {
      EXPECT_TRUE(h.local);
    } else {
      EXPECT_FALSE(h.local);
      std::string got = h.source.address().is_v6() ? "[" + h.source.address().to_string() + "]"
                                                   : h.source.address().to_string();
      EXPECT_EQ(got + ":" + std::to_string(h.source.port()), c.source);
    }
  }
}

TEST(ProxyHeader, WrittenHeadersParseBack) {
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"192.0.2.7", "10.1.2.3"}, {"2001:db8::7", "::1"}, {"::ffff:192.0.2.9", "127.0.0.1"}};
  for (int version : {1, 2}) {
    for (const auto& [s, d] : pairs) {
      SCOPED_TRACE(std::to_string(version) + " " + s);
      ip::tcp::endpoint src(ip::make_address(s), 40000), dst(ip::make_address(d), 5432);
      std::string h = make_proxy_header(version, src, dst);
      ProxyHeader got;
      ASSERT_EQ(parse_proxy_header(h, got), ProxyStatus::Ok);
      EXPECT_EQ(got.size, h.size());
      EXPECT_EQ(got.version, version);
      EXPECT_FALSE(got.local);
      EXPECT_EQ(got.source.port(), 40000);
      EXPECT_EQ(got.destination.port(), 5432);
      auto plain = [](const ip::address& a) {
        return a.is_v6() && a.to_v6().is_v4_mapped()
                   ? ip::address(ip::make_address_v4(ip::v4_mapped, a.to_v6()))
                   : a;
      };
      EXPECT_EQ(got.source.address(), plain(src.address()));
    }
  }
  // A mixed pair goes as TCP6 with the IPv4 address mapped, as HAProxy writes it: the ports and
  // addresses get through (it was UNKNOWN, which loses them).
  EXPECT_EQ(make_proxy_header(1, {ip::make_address("1.2.3.4"), 1}, {ip::make_address("::1"), 2}),
            "PROXY TCP6 ::ffff:1.2.3.4 ::1 1 2\r\n");
  // An IPv4-mapped source with a plain IPv6 destination (found by the fuzzer): TCP6 too, in v2.
  {
    const std::string v2 = make_proxy_header(2, {ip::make_address("::ffff:10.0.0.1"), 40000},
                                             {ip::make_address("2001:db8::1"), 443});
    ProxyHeader got;
    ASSERT_EQ(parse_proxy_header(v2, got), ProxyStatus::Ok);
    EXPECT_FALSE(got.local);
    EXPECT_EQ(got.source.port(), 40000);
    EXPECT_EQ(got.destination.port(), 443);
    EXPECT_EQ(got.source.address(), ip::make_address("::ffff:10.0.0.1"));
    EXPECT_EQ(got.destination.address(), ip::make_address("2001:db8::1"));
  }
  EXPECT_EQ(make_proxy_header(1, {ip::make_address("1.2.3.4"), 1},
                              {ip::make_address("5.6.7.8"), 2}),
            "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n");
}

}  // namespace
}  // namespace portier::tcp
