// Smooth weighted round robin (nginx's), as one pure function shared by the HTTP load balancer
// (proxy/balancer.h, per worker), the TCP and the UDP services (tcp/table.h, udp/table.h, under
// their own lock). Header-only in common so that udp/, which links neither proxy/ nor tcp/, can
// use it too. No state of its own: the caller keeps `current` and any locking.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace portier {

// Each usable server gains its weight, the richest is picked and pays back the sum. `current`
// has one entry per server and persists between picks (resized, and so reset, when n changes).
// npos (size_t(-1)) when no server is usable or all usable ones weigh 0.
template <typename Weight, typename Usable>
std::size_t wrr_pick(std::size_t n, Weight weight, std::vector<std::int64_t>& current,
                     Usable usable) {
  if (current.size() != n) current.assign(n, 0);
  std::int64_t total = 0;
  std::size_t best = n;
  for (std::size_t i = 0; i < n; ++i) {
    if (!usable(i) || weight(i) <= 0) continue;
    current[i] += weight(i);
    total += weight(i);
    if (best == n || current[i] > current[best]) best = i;
  }
  if (best == n) return static_cast<std::size_t>(-1);
  current[best] -= total;
  return best;
}

// The weighted children form of it, for services whose `weighted` is a list of (child, weight):
// every child is usable. Null when none weighs more than 0.
template <typename Child>
const Child* wrr_pick_child(const std::vector<std::pair<const Child*, int>>& weighted,
                            std::vector<std::int64_t>& current) {
  const std::size_t i = wrr_pick(
      weighted.size(), [&](std::size_t k) { return weighted[k].second; }, current,
      [](std::size_t) { return true; });
  return i == static_cast<std::size_t>(-1) ? nullptr : weighted[i].first;
}

}  // namespace portier
