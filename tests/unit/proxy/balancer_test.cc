// The balancing algorithms as pure functions: strategies by name, smooth weighted round robin,
// power of two choices, and the consistent-hash ring (stability and movement on change).
#include "proxy/balancer.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace portier::proxy {
namespace {

constexpr std::size_t kNone = static_cast<std::size_t>(-1);

TEST(Balancer, StrategyNames) {
  struct Case {
    std::string name;
    std::optional<Strategy> want;
  };
  const std::vector<Case> cases = {
      {"", Strategy::Wrr},     {"wrr", Strategy::Wrr},    {"p2c", Strategy::P2c},
      {"hrw", Strategy::Hrw},  {"WRR", std::nullopt},     {"leasttime", std::nullopt},
      {"hash", Strategy::Hrw}, {"ipHash", Strategy::Hrw}, {"md5", std::nullopt}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(parse_strategy(c.name), c.want);
  }
}

TEST(Balancer, SmoothWeightedRoundRobin) {
  struct Case {
    std::string name;
    std::vector<int> weights;
    std::vector<bool> usable;
    std::string want;  // picks as letters, a = server 0
  };
  const std::vector<Case> cases = {
      {"1:3 interleaves", {1, 3}, {true, true}, "babbbabb"},
      {"equal", {1, 1, 1}, {true, true, true}, "abcabc"},
      {"weight 0 gets nothing", {0, 1}, {true, true}, "bbbb"},
      {"unusable skipped", {5, 1}, {false, true}, "bbb"},
      {"none usable", {1, 1}, {false, false}, "---"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<std::int64_t> current;
    std::string got;
    for (std::size_t k = 0; k < c.want.size(); ++k) {
      std::size_t i = wrr_pick(
          c.weights.size(), [&](std::size_t s) { return c.weights[s]; }, current,
          [&](std::size_t s) { return c.usable[s]; });
      got += i == kNone ? '-' : static_cast<char>('a' + i);
    }
    EXPECT_EQ(got, c.want);
  }
}

TEST(Balancer, PowerOfTwoChoices) {
  struct Case {
    std::string name;
    std::vector<std::uint32_t> in_flight;
    std::vector<bool> usable;
    std::set<std::size_t> allowed;  // every pick must be one of these
  };
  const std::vector<Case> cases = {
      {"two servers: always the less busy", {5, 1}, {true, true}, {1}},
      {"the busiest of three never wins", {9, 1, 2}, {true, true, true}, {1, 2}},
      {"unusable never picked", {0, 7}, {false, true}, {1}},
      {"none usable", {0, 0}, {false, false}, {kNone}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::minstd_rand rng(42);  // randomness injected: a fixed seed
    std::vector<std::uint32_t> scratch;
    std::set<std::size_t> seen;
    for (int k = 0; k < 200; ++k) {
      seen.insert(p2c_pick(
          c.in_flight.size(), [&](std::size_t s) { return c.in_flight[s]; },
          [&](std::size_t s) { return c.usable[s]; }, rng, scratch));
    }
    for (std::size_t s : seen) EXPECT_TRUE(c.allowed.count(s)) << s;
  }
}

TEST(Balancer, PowerOfTwoChoicesSpreadsEvenLoad) {
  std::minstd_rand rng(7);
  std::vector<std::uint32_t> scratch;
  std::map<std::size_t, int> count;
  for (int k = 0; k < 3000; ++k) {
    ++count[p2c_pick(
        3, [](std::size_t) { return 0u; }, [](std::size_t) { return true; }, rng, scratch)];
  }
  for (std::size_t s = 0; s < 3; ++s) EXPECT_NEAR(count[s], 1000, 150) << s;
}

std::vector<std::pair<std::string, int>> servers(int n) {
  std::vector<std::pair<std::string, int>> out;
  for (int i = 0; i < n; ++i) out.emplace_back("http://10.0.0." + std::to_string(i + 1), 1);
  return out;
}

std::size_t owner(const HashRing& ring, const std::string& ip) {
  return ring.pick(hash64(ip), [](std::size_t) { return true; });
}

std::string client(int i) {
  return "10." + std::to_string(i / 65536 % 256) + "." + std::to_string(i / 256 % 256) + "." +
         std::to_string(i % 256);
}

TEST(HashRing, AddingAServerMovesAboutOneNthAllToIt) {
  struct Case {
    int before;
  };
  for (Case c : std::vector<Case>{{2}, {3}, {4}, {9}}) {
    SCOPED_TRACE(c.before);
    HashRing small = HashRing::build(servers(c.before));
    HashRing big = HashRing::build(servers(c.before + 1));
    const int clients = 20000;
    int moved = 0;
    std::map<std::size_t, int> load;
    for (int i = 0; i < clients; ++i) {
      std::size_t a = owner(small, client(i)), b = owner(big, client(i));
      ++load[b];
      if (a != b) {
        ++moved;
        EXPECT_EQ(b, static_cast<std::size_t>(c.before)) << "a client moved between old servers";
      }
    }
    const double expected = 1.0 / (c.before + 1);
    EXPECT_NEAR(static_cast<double>(moved) / clients, expected, expected * 0.3);
    // 256 points per server keep every share within about 25 % of even.
    for (const auto& [s, n] : load) {
      EXPECT_NEAR(n, clients * expected, clients * expected * 0.25) << "server " << s;
    }
  }
}

TEST(HashRing, SkipsUnusableServersAndWeighs) {
  HashRing ring = HashRing::build(servers(3));
  const std::uint64_t key = hash64("192.0.2.7");
  std::size_t first = ring.pick(key, [](std::size_t) { return true; });
  std::size_t second = ring.pick(key, [&](std::size_t s) { return s != first; });
  EXPECT_NE(second, first);
  EXPECT_NE(second, kNone);
  EXPECT_EQ(ring.pick(key, [](std::size_t) { return false; }), HashRing::npos);

  // Weight 0: no points; weight 3: three times the points of weight 1.
  HashRing weighted = HashRing::build({{"http://a", 0}, {"http://b", 1}, {"http://c", 3}});
  EXPECT_EQ(weighted.size(), 4u * HashRing::kPointsPerWeight);
  std::map<std::size_t, int> load;
  for (int i = 0; i < 20000; ++i) ++load[owner(weighted, client(i))];
  EXPECT_EQ(load.count(0), 0u);
  EXPECT_NEAR(load[2] / static_cast<double>(load[1]), 3.0, 0.6);
  EXPECT_TRUE(HashRing::build({{"http://a", 0}}).empty());
}

}  // namespace
}  // namespace portier::proxy
