// The Redis pieces that need no server: the storage URL, RESP framing, and how a reload merges
// Redis's data with an instance's own.
#include "acme/redis.h"

#include <gtest/gtest.h>

#include "acme/crypto.h"
#include "acme/redis_storage.h"
#include "common/redis_url.h"
#include "unit/acme/test_certs.h"

namespace portier::acme {
namespace {

TEST(RedisUrl, Parses) {
  struct Case {
    std::string url;
    bool ok;
    RedisEndpoint want;
  };
  RedisEndpoint def;
  RedisEndpoint full;
  full.host = "redis.internal";
  full.port = 6380;
  full.db = 2;
  full.username = "portier";
  full.password = "p@ss:word";
  full.tls = true;
  full.ca_file = "/etc/ca.pem";
  full.prefix = "edge";
  RedisEndpoint pass_only;
  pass_only.password = "secret";
  RedisEndpoint v6;
  v6.host = "::1";
  v6.port = 7000;
  std::vector<Case> cases = {
      {"redis://127.0.0.1", true, def},
      {"redis://127.0.0.1:6379/0", true, def},
      {"rediss://portier:p%40ss%3Aword@redis.internal:6380/2?prefix=edge&ca=/etc/ca.pem", true,
       full},
      {"redis://secret@127.0.0.1", true, pass_only},
      {"redis://[::1]:7000", true, v6},
      {"http://127.0.0.1", false, {}},
      {"redis://", false, {}},
      {"redis://h:0", false, {}},
      {"redis://h:99999", false, {}},
      {"redis://h/x", false, {}},
      {"redis://h?prefix=", false, {}},
      {"redis://h?bogus=1", false, {}},
      {"redis://h?ca=/x", false, {}},  // ca needs rediss
      {"redis://u:%zzhunter2@h", false, {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.url);
    auto r = parse_redis_url(c.url);
    ASSERT_EQ(r.has_value(), c.ok) << (r ? "" : r.error().message);
    if (c.ok) {
      EXPECT_EQ(*r, c.want);
    } else {
      EXPECT_EQ(r.error().message.find("hunter2"), std::string::npos);  // never echoed
    }
  }
  EXPECT_EQ(full.redacted(), "rediss://portier:***@redis.internal:6380/2?prefix=edge");
}

TEST(Resp, ParsesRepliesAndRefusesBadOnes) {
  struct Case {
    std::string in;
    ParseStatus want;
    RedisReply::Type type;
    std::size_t used;
  };
  std::vector<Case> cases = {
      {"+OK\r\n", ParseStatus::Ok, RedisReply::Type::Status, 5},
      {"-ERR no\r\n", ParseStatus::Ok, RedisReply::Type::Error, 9},
      {":42\r\n:1\r\n", ParseStatus::Ok, RedisReply::Type::Integer, 5},
      {"$3\r\nabc\r\n", ParseStatus::Ok, RedisReply::Type::Bulk, 9},
      {"$-1\r\n", ParseStatus::Ok, RedisReply::Type::Nil, 5},
      {"*2\r\n$1\r\na\r\n:7\r\n", ParseStatus::Ok, RedisReply::Type::Array, 15},
      {"*-1\r\n", ParseStatus::Ok, RedisReply::Type::Nil, 5},
      {"$3\r\nab", ParseStatus::Incomplete, {}, 0},
      {"*2\r\n$1\r\na\r\n", ParseStatus::Incomplete, {}, 0},
      {"+OK", ParseStatus::Incomplete, {}, 0},
      {"", ParseStatus::Incomplete, {}, 0},
      {"$3\r\nabcd\r\n", ParseStatus::Invalid, {}, 0},
      {"$99999999999\r\n", ParseStatus::Invalid, {}, 0},
      {":x\r\n", ParseStatus::Invalid, {}, 0},
      {"!3\r\n", ParseStatus::Invalid, {}, 0},
      {"*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n",
       ParseStatus::Invalid,
       {},
       0},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.in);
    RedisReply r;
    std::size_t used = 0;
    ASSERT_EQ(parse_reply(c.in, r, used), c.want);
    if (c.want != ParseStatus::Ok) continue;
    EXPECT_EQ(r.type, c.type);
    EXPECT_EQ(used, c.used);
  }
  RedisReply arr;
  std::size_t used = 0;
  ASSERT_EQ(parse_reply("*2\r\n$1\r\na\r\n:7\r\n", arr, used), ParseStatus::Ok);
  ASSERT_EQ(arr.elements.size(), 2u);
  EXPECT_EQ(arr.elements[0].str, "a");
  EXPECT_EQ(arr.elements[1].integer, 7);
  EXPECT_EQ(encode_command({"SET", "k", ""}), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
}

TEST(MergeShared, NewerCertificateWinsAndLocalOnlyDataIsKept) {
  auto key = generate_key("EC256");
  ASSERT_TRUE(key);
  auto cert = [&](const std::string& name, long days) {
    return StoredCertificate{
        {name}, testing::self_signed(key->get(), {name}, -3600, days * 86400), "KEY", "default"};
  };
  ResolverData remote, local;
  remote.certificates = {cert("a.test", 30), cert("b.test", 90)};
  remote.failures = {FailureState{{"c.test"}, 1, 5, "remote"}};
  local.certificates = {cert("a.test", 60), cert("b.test", 10), cert("d.test", 90)};
  local.failures = {FailureState{{"c.test"}, 3, 9, "local"},   // Redis's wins
                    FailureState{{"b.test"}, 1, 9, "local"},   // Redis has a certificate: dropped
                    FailureState{{"e.test"}, 2, 9, "local"}};  // only here: kept
  StoredAccount acct;
  acct.email = "local@example.com";
  local.account = acct;

  ResolverData m = merge_shared(remote, local);
  ASSERT_EQ(m.certificates.size(), 3u);
  EXPECT_EQ(m.certificates[0].cert_pem, local.certificates[0].cert_pem);   // a: local is newer
  EXPECT_EQ(m.certificates[1].cert_pem, remote.certificates[1].cert_pem);  // b: Redis is newer
  EXPECT_EQ(m.certificates[2].domains, std::vector<std::string>{"d.test"});
  ASSERT_EQ(m.failures.size(), 2u);
  EXPECT_EQ(m.failures[0].last_error, "remote");
  EXPECT_EQ(m.failures[1].domains, std::vector<std::string>{"e.test"});
  ASSERT_TRUE(m.account);  // Redis had none
  EXPECT_EQ(m.account->email, "local@example.com");

  // A Redis restarted empty gets everything back.
  EXPECT_EQ(merge_shared(ResolverData{}, local), local);
}

}  // namespace
}  // namespace portier::acme
