// Load-balancing algorithms, as pure functions over a service's servers: smooth weighted round
// robin, power of two random choices (least outstanding requests), and a consistent-hash ring
// on the client IP. No I/O, no clock, randomness passed in, so they are unit-tested directly.
//
// WorkerState::pick (worker_state.cc) holds the per-worker inputs (current weights, in-flight
// counts, passive health) and calls these; HashRing is built once per table (table builder).
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/wrr.h"

namespace portier::proxy {

// loadBalancer.strategy. Traefik v3's names: wrr (default), p2c, hrw.
enum class Strategy { Wrr, P2c, Hrw };
std::optional<Strategy> parse_strategy(std::string_view name);  // "" is Wrr

// A 64-bit hash of bytes: FNV-1a, then splitmix64's finalizer so nearby inputs (127.0.0.2,
// 127.0.0.3) land far apart on the ring. Stable across processes and builds.
std::uint64_t hash64(std::string_view bytes);

// Consistent hashing: each server owns points on a 64-bit circle (kPointsPerWeight per unit of
// weight, at most kMaxPoints), placed by hashing its URL, so a server's points do not move when
// others come or go. A key belongs to the first point at or after its hash. Adding one server to
// N moves about 1/(N+1) of the keys, all of them to the new server.
class HashRing {
 public:
  static constexpr int kPointsPerWeight = 256;
  static constexpr int kMaxPoints = 256 * 64;

  // `servers`: (URL, weight) by server index; weight 0 gets no points.
  static HashRing build(const std::vector<std::pair<std::string, int>>& servers);

  // The server index owning `key`, walking on past servers for which `usable(index)` is false;
  // npos when none is usable.
  template <typename Usable>
  std::size_t pick(std::uint64_t key, Usable usable) const;

  bool empty() const { return points_.empty(); }
  std::size_t size() const { return points_.size(); }
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

 private:
  struct Point {
    std::uint64_t hash;
    std::uint32_t server;
    bool operator<(const Point& o) const {
      return hash != o.hash ? hash < o.hash : server < o.server;
    }
  };
  std::vector<Point> points_;  // sorted by hash
  std::size_t servers_ = 0;
};

template <typename Usable>
std::size_t HashRing::pick(std::uint64_t key, Usable usable) const {
  if (points_.empty()) return npos;
  std::size_t lo = 0, hi = points_.size();
  while (lo < hi) {
    std::size_t mid = (lo + hi) / 2;
    if (points_[mid].hash < key) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  // Walk clockwise past unusable servers (a run of one server's points is tested once); the
  // walk is bounded by the number of points.
  std::uint32_t tried_last = static_cast<std::uint32_t>(-1);
  for (std::size_t step = 0; step < points_.size(); ++step) {
    const Point& p = points_[(lo + step) % points_.size()];
    if (p.server == tried_last) continue;
    if (usable(p.server)) return p.server;
    tried_last = p.server;
  }
  return npos;
}

// Smooth weighted round robin: common/wrr.h (shared with the TCP and UDP services).
using portier::wrr_pick;

// Power of two random choices: two distinct usable servers drawn at random, the one with fewer
// requests in flight wins (ties: the first drawn). `scratch` is reused between calls so a pick
// does not allocate. npos when none is usable.
template <typename InFlight, typename Usable>
std::size_t p2c_pick(std::size_t n, InFlight in_flight, Usable usable, std::minstd_rand& rng,
                     std::vector<std::uint32_t>& scratch) {
  scratch.clear();
  for (std::size_t i = 0; i < n; ++i) {
    if (usable(i)) scratch.push_back(static_cast<std::uint32_t>(i));
  }
  if (scratch.empty()) return static_cast<std::size_t>(-1);
  if (scratch.size() == 1) return scratch[0];
  const std::size_t a = rng() % scratch.size();
  std::size_t b = rng() % (scratch.size() - 1);
  if (b >= a) ++b;
  const std::uint32_t x = scratch[a], y = scratch[b];
  return in_flight(y) < in_flight(x) ? y : x;
}

}  // namespace portier::proxy
