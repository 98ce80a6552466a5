// Health of one upstream server, shared between the health checker (control plane, the only
// writer) and the workers (readers, one relaxed load per pick: no lock, no read-modify-write).
// Kept across table swaps for servers that did not change, so a reload does not reset health.
#pragma once

#include <atomic>

namespace portier::proxy {

struct ServerHealth {
  std::atomic<bool> up{true};
};

}  // namespace portier::proxy
