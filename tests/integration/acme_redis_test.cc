// RedisStorage against a real redis-server (no portier, no CA): rediss:// with a verified
// certificate and serverName, an ACL user's AUTH, SELECT of a database, the storage round trip,
// the order lock's semantics (only the holder's token releases or renews it), and token sharing
// through pub/sub, under an ACL user allowed only the commands portier sends (docs/https.md).
#include <gtest/gtest.h>

#include <atomic>

#include "acme/redis_storage.h"
#include "support/certs.h"
#include "support/process.h"
#include "support/redis.h"

namespace portier::test {
namespace {

using namespace std::chrono_literals;

TEST(RedisStorageTest, TlsAuthDatabaseRoundTripAndLock) {
  TempDir dir;
  CertFiles ca = make_ca(dir, "ca", "redis test CA");
  CertFiles leaf = make_leaf(dir, ca, "redis", {"redis.test"});
  RedisServer redis({"--tls-cert-file",
                     leaf.cert.string(),
                     "--tls-key-file",
                     leaf.key.string(),
                     "--tls-ca-cert-file",
                     ca.cert.string(),
                     "--tls-auth-clients",
                     "no",
                     "--user",
                     "portier",
                     "on",
                     ">s3cret",
                     "~t:*",
                     "&t:*",
                     "+ping",
                     "+select",
                     "+get",
                     "+set",
                     "+del",
                     "+hset",
                     "+hgetall",
                     "+hdel",
                     "+pexpire",
                     "+publish",
                     "+subscribe",
                     "+sadd",
                     "+scard",
                     "+eval",
                     "--user",
                     "default",
                     "off"},
                    true);
  const std::string base = "rediss://portier:s3cret@127.0.0.1:" + std::to_string(redis.port());
  const std::string tls = "&ca=" + ca.cert.string() + "&serverName=redis.test";
  auto ep = parse_redis_url(base + "/3?prefix=t" + tls);
  ASSERT_TRUE(ep) << ep.error().message;

  acme::RedisStorage one(*ep, "le"), two(*ep, "le");
  acme::ResolverData data;
  acme::StoredAccount account;
  account.email = "ops@example.com";
  account.private_key_der = std::string("\x30\x01\x00", 3);
  data.account = account;
  data.certificates.push_back({{"a.test", "www.a.test"}, "CERT", "KEY", "default"});
  data.failures.push_back({{"b.test"}, 2, 12345, "timeout"});
  auto first = one.load();
  ASSERT_TRUE(first) << first.error().message;
  auto saved = one.save(data);
  ASSERT_TRUE(saved) << saved.error().message;
  auto loaded = two.load();
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(*loaded, data);
  // A failure cleared by one instance is removed for all (HDEL), the rest stays.
  data.failures.clear();
  ASSERT_TRUE(one.save(data));
  EXPECT_EQ(*two.load(), data);

  // Another database sees nothing of it.
  acme::RedisStorage db0(*parse_redis_url(base + "/0?prefix=t" + tls), "le");
  auto other = db0.load();
  ASSERT_TRUE(other) << other.error().message;
  EXPECT_EQ(*other, acme::ResolverData{});

  // The lock: one holder; a wrong token neither releases nor renews it.
  EXPECT_TRUE(*one.try_lock("a.test", "tok-1", 5s));
  EXPECT_FALSE(*two.try_lock("a.test", "tok-2", 5s));
  two.unlock("a.test", "tok-2");
  EXPECT_FALSE(*two.renew_lock("a.test", "tok-2", 5s));
  EXPECT_FALSE(*two.try_lock("a.test", "tok-2", 5s));
  EXPECT_TRUE(*one.renew_lock("a.test", "tok-1", 5s));
  one.unlock("a.test", "tok-1");
  EXPECT_TRUE(*two.try_lock("a.test", "tok-2", 5s));
  // It expires by itself when its holder is gone.
  EXPECT_TRUE(*one.try_lock("b.test", "tok-3", 200ms));
  EXPECT_TRUE(poll_until([&] { return *two.try_lock("b.test", "tok-4", 5s); }, 3s));

  // Tokens: published by one, mirrored by two's subscriber, which acknowledges before
  // publish_token returns; a save by one is announced to two.
  tls::ChallengeTokens mirrored;
  std::atomic<int> remote{0};
  two.start(mirrored, [&] { ++remote; });
  ASSERT_TRUE(poll_until([&] { return remote.load() >= 1; }, 3s));  // the resync on connecting
  one.publish_token("tok", "tok.thumbprint");
  EXPECT_EQ(mirrored.find("tok"), "tok.thumbprint");
  one.withdraw_token("tok");
  EXPECT_TRUE(poll_until([&] { return !mirrored.find("tok"); }, 3s));
  const int before = remote.load();
  data.failures.push_back({{"c.test"}, 1, 1, "x"});
  ASSERT_TRUE(one.save(data));
  EXPECT_TRUE(poll_until([&] { return remote.load() > before; }, 3s));
  two.stop();

  // Wrong password; a certificate for another name; no TLS at all: refused, with a reason.
  struct Case {
    std::string url, want;
  };
  std::vector<Case> bad = {
      {"rediss://portier:nope@127.0.0.1:" + std::to_string(redis.port()) + "/0?prefix=t" + tls,
       "AUTH refused"},
      {base + "/0?prefix=t&ca=" + ca.cert.string() + "&serverName=other.test",
       "TLS handshake failed"},
      {"redis://portier:s3cret@127.0.0.1:" + std::to_string(redis.port()) + "/0", "redis"},
  };
  for (const auto& c : bad) {
    SCOPED_TRACE(c.url);
    acme::RedisStorage s(*parse_redis_url(c.url), "le");
    auto r = s.load();
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find(c.want), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().message.find("s3cret"), std::string::npos);
  }
}

}  // namespace
}  // namespace portier::test
