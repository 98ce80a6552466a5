// Health of one upstream server as the active health checker sees it. Shared between the
// checker (control plane, the only writer), the workers (one relaxed load per pick: no lock, no
// read-modify-write) and the admin API (reads for serverStatus). Kept across table swaps for
// servers that did not change, so a reload does not reset health. Lives in common/ because both
// proxy/ (writer, readers) and admin/ (reader) see it and neither may include the other.
#pragma once

#include <atomic>
#include <cstdint>

namespace portier {

struct ServerHealth {
  std::atomic<bool> up{true};
  // Wall-clock time of the last completed probe, milliseconds since the Unix epoch; 0: none yet.
  std::atomic<std::int64_t> last_check_ms{0};
  // Probes passed so far. A worker's passive mark remembers it; a later pass clears the mark.
  std::atomic<std::uint64_t> passes{0};
};

// Requests in flight to one server URL, over all workers and all services that use it, for the
// API. Workers add and subtract with relaxed read-modify-writes (balancing itself uses each
// worker's own counts, not this). Kept across table swaps, like the server's id and pools.
struct ServerLoad {
  std::atomic<std::int64_t> in_flight{0};
};

}  // namespace portier
