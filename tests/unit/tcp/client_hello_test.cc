#include "tcp/client_hello.h"

#include <gtest/gtest.h>

#include "unit/tcp/hello_bytes.h"

namespace portier::tcp {
namespace {

using testing::hello_message;
using testing::records;

struct Case {
  std::string name;
  std::string bytes;
  HelloStatus want;
  std::string sni;
  std::vector<std::string> alpn;
};

TEST(ClientHello, Table) {
  const std::string full = records(hello_message("Example.COM.", {"h2", "http/1.1"}));
  std::string bad_type = full;
  bad_type[5] = 2;  // ServerHello
  std::string bad_version = full;
  bad_version[1] = 2;
  std::string trailing = records(hello_message("a.test", {}) + std::string("\x0e\0\0\0", 4));
  std::string long_sni = records(hello_message(std::string(300, 'a'), {}));
  std::string space_sni = records(hello_message("a b", {}));
  const std::vector<Case> cases = {
      {"empty", "", HelloStatus::Partial, "", {}},
      {"http", "GET / HTTP/1.1\r\n", HelloStatus::NotTls, "", {}},
      {"ssh banner reply", "SSH-2.0-OpenSSH\r\n", HelloStatus::NotTls, "", {}},
      {"sslv2", "\x80\x2e\x01", HelloStatus::Tls, "", {}},
      {"one byte", "\x16", HelloStatus::Partial, "", {}},
      {"record header only", full.substr(0, 5), HelloStatus::Partial, "", {}},
      {"half", full.substr(0, full.size() / 2), HelloStatus::Partial, "", {}},
      {"all but one", full.substr(0, full.size() - 1), HelloStatus::Partial, "", {}},
      {"complete", full, HelloStatus::Tls, "example.com", {"h2", "http/1.1"}},
      {"followed by more", full + "xyz", HelloStatus::Tls, "example.com", {"h2", "http/1.1"}},
      {"no sni", records(hello_message("", {"imap"})), HelloStatus::Tls, "", {"imap"}},
      {"fqdn dot", records(hello_message("Db.Test.", {})), HelloStatus::Tls, "db.test", {}},
      {"two trailing dots (fuzzer)", records(hello_message("db.test..", {})), HelloStatus::Tls,
       "db.test", {}},
      {"no extensions", records(hello_message("", {})), HelloStatus::Tls, "", {}},
      {"split in 3-byte records", records(hello_message("db.test", {"postgresql"}), 3),
       HelloStatus::Tls, "db.test", {"postgresql"}},
      {"split records, partial", records(hello_message("db.test", {}), 7).substr(0, 40),
       HelloStatus::Partial, "", {}},
      {"not a client hello", bad_type, HelloStatus::Invalid, "", {}},
      {"not a client hello, partial", bad_type.substr(0, 7), HelloStatus::Invalid, "", {}},
      {"record version 2", bad_version, HelloStatus::Invalid, "", {}},
      {"zero-length record", std::string("\x16\x03\x01\x00\x00", 5), HelloStatus::Invalid, "", {}},
      {"oversized record", std::string("\x16\x03\x01\xff\xff", 5), HelloStatus::Invalid, "", {}},
      {"another message after it", trailing, HelloStatus::Invalid, "", {}},
      {"sni too long", long_sni, HelloStatus::Invalid, "", {}},
      {"sni with a space", space_sni, HelloStatus::Invalid, "", {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    ClientHello h;
    EXPECT_EQ(parse_client_hello(c.bytes, h), c.want);
    if (c.want == HelloStatus::Tls) {
      EXPECT_EQ(h.sni, c.sni);
      EXPECT_EQ(h.alpn, c.alpn);
    }
  }
}

TEST(ClientHello, EveryPrefixIsPartialOrComplete) {
  const std::string full = records(hello_message("every.prefix.test", {"h2"}), 50);
  for (std::size_t n = 1; n < full.size(); ++n) {
    ClientHello h;
    ASSERT_EQ(parse_client_hello(std::string_view(full).substr(0, n), h), HelloStatus::Partial)
        << n;
  }
  ClientHello h;
  EXPECT_EQ(parse_client_hello(full, h), HelloStatus::Tls);
  EXPECT_EQ(h.sni, "every.prefix.test");
}

TEST(ClientHello, TooLargeIsInvalid) {
  // A message announcing more than kMaxClientHello bytes is refused from its header on.
  std::string msg = hello_message("a.test", {});
  msg[1] = 0x01;  // body length 65536 + ...
  ClientHello h;
  EXPECT_EQ(parse_client_hello(records(msg), h), HelloStatus::Invalid);
}

}  // namespace
}  // namespace portier::tcp
