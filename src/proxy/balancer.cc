#include "proxy/balancer.h"

#include <algorithm>

namespace portier::proxy {

std::optional<Strategy> parse_strategy(std::string_view name) {
  if (name.empty() || name == "wrr") return Strategy::Wrr;
  if (name == "p2c") return Strategy::P2c;
  // hrw is Traefik's name; hash and ipHash (the names nginx and HAProxy users look for) mean
  // the same: consistent hashing on the client IP.
  if (name == "hrw" || name == "hash" || name == "ipHash" || name == "iphash") return Strategy::Hrw;
  return std::nullopt;
}

std::uint64_t hash64(std::string_view bytes) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

HashRing HashRing::build(const std::vector<std::pair<std::string, int>>& servers) {
  HashRing ring;
  ring.servers_ = servers.size();
  std::string key;
  for (std::size_t s = 0; s < servers.size(); ++s) {
    const auto& [url, weight] = servers[s];
    if (weight <= 0) continue;
    const long long points =
        std::min<long long>(static_cast<long long>(weight) * kPointsPerWeight, kMaxPoints);
    for (long long i = 0; i < points; ++i) {
      key.assign(url).append("#").append(std::to_string(i));
      ring.points_.push_back({hash64(key), static_cast<std::uint32_t>(s)});
    }
  }
  std::sort(ring.points_.begin(), ring.points_.end());
  return ring;
}

}  // namespace portier::proxy
