// The credential cache: hits within the TTL, no hit for another password, user or hash, the
// size bound, expiry. Also prints what one bcrypt cost-10 verification costs on this machine.
#include "proxy/middlewares/credential_cache.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "proxy/middlewares/htpasswd.h"

namespace portier::proxy::mw {
namespace {

using namespace std::chrono_literals;
using Clock = CredentialCache::Clock;

// python3: crypt.crypt("test123", "$2y$10$abcdefghijklmnopqrstuu")
constexpr std::string_view kBcrypt10 =
    "$2y$10$abcdefghijklmnopqrstuu4zRHW0Gp7hZDlWa4vXe8sC.w22aBBZm";
// openssl passwd -apr1 -salt r31.... test123
constexpr std::string_view kApr1 = "$apr1$r31....$0sgGvUE2ebRwj3EuTo/yP1";

TEST(CredentialCache, HitsOnlyForTheSameTriple) {
  const unsigned char key[32] = {1, 2, 3};
  CredentialCache cache(16, 5min, key);
  Clock::time_point t0{1h};
  cache.insert("alice", "pw", "hash1", t0);
  struct Case {
    std::string name, user, password, hash;
    Clock::time_point now;
    bool hit;
  };
  std::vector<Case> cases = {
      {"same", "alice", "pw", "hash1", t0 + 1s, true},
      {"other password", "alice", "pw2", "hash1", t0 + 1s, false},
      {"other user", "bob", "pw", "hash1", t0 + 1s, false},
      {"hash changed in config", "alice", "pw", "hash2", t0 + 1s, false},
      {"just before ttl", "alice", "pw", "hash1", t0 + 5min - 1ns, true},
      {"at ttl", "alice", "pw", "hash1", t0 + 5min, false},
      {"expired entry is gone", "alice", "pw", "hash1", t0 + 1s, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(cache.contains(c.user, c.password, c.hash, c.now), c.hit);
  }
}

TEST(CredentialCache, FieldsCannotBeShifted) {
  CredentialCache cache;
  Clock::time_point t{1h};
  cache.insert(std::string("a\0b", 3), "c", "h", t);
  EXPECT_TRUE(cache.contains(std::string("a\0b", 3), "c", "h", t));
  EXPECT_FALSE(cache.contains("a", std::string("b\0c", 3), "h", t));
}

TEST(CredentialCache, BoundedOldestInsertionEvicted) {
  CredentialCache cache(3, 5min);
  Clock::time_point t{1h};
  for (int i = 0; i < 5; ++i) cache.insert("u" + std::to_string(i), "pw", "h", t + i * 1s);
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_FALSE(cache.contains("u0", "pw", "h", t + 10s));
  EXPECT_FALSE(cache.contains("u1", "pw", "h", t + 10s));
  EXPECT_TRUE(cache.contains("u2", "pw", "h", t + 10s));
  EXPECT_TRUE(cache.contains("u4", "pw", "h", t + 10s));
  // Expired entries make room before live ones are evicted.
  cache.insert("late", "pw", "h", t + 10min);
  EXPECT_EQ(cache.size(), 1u);
}

TEST(CredentialCache, VerifyCachesSuccessOnly) {
  CredentialCache cache;
  Clock::time_point t{1h};
  EXPECT_FALSE(cache.verify("u", "wrong", kApr1, t));
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_TRUE(cache.verify("u", "test123", kApr1, t));
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_TRUE(cache.contains("u", "test123", kApr1, t + 1s));
  // Two caches (two workers) have different keys: same inputs, independent entries.
  CredentialCache other;
  EXPECT_FALSE(other.contains("u", "test123", kApr1, t + 1s));
}

// Not an assertion: the number the cache is for. Printed for the record.
TEST(CredentialCache, BcryptCost10Timing) {
  constexpr int kRuns = 5;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kRuns; ++i) ASSERT_TRUE(verify_password(kBcrypt10, "test123"));
  auto per = (std::chrono::steady_clock::now() - start) / kRuns;
  CredentialCache cache;
  Clock::time_point t{1h};
  cache.insert("u", "test123", kBcrypt10, t);
  constexpr int kHits = 10000;
  auto hs = std::chrono::steady_clock::now();
  for (int i = 0; i < kHits; ++i) ASSERT_TRUE(cache.verify("u", "test123", kBcrypt10, t));
  auto hit = (std::chrono::steady_clock::now() - hs) / kHits;
  std::printf("bcrypt cost 10 verify: %.1f ms; cache hit: %.2f us\n",
              std::chrono::duration<double, std::milli>(per).count(),
              std::chrono::duration<double, std::micro>(hit).count());
}

}  // namespace
}  // namespace portier::proxy::mw
