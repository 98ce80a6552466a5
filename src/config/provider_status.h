// What a provider reports about itself besides its configuration: the files (or other sources)
// it refused or is waiting for. Plain data: providers produce it, the control plane hands it to
// the admin API, which shows it under /api/providers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace portier::config {

struct ProviderIssue {
  std::string file;  // the source it is about, as configured (path); may be empty
  int line = 0;      // 1-based; 0 when not about one line
  std::string message;
  // Error: the source is refused (its last good version, if any, is still served).
  // Warning: served as read, or not read yet, but worth a look (duplicate names, a file still
  // being written).
  bool warning = false;
  std::int64_t since_unix_ms = 0;  // when this issue was first seen (unchanged since)
  bool operator==(const ProviderIssue&) const = default;
};

struct ProviderStatus {
  std::vector<ProviderIssue> issues;  // sorted by file, then line
  bool operator==(const ProviderStatus&) const = default;
};

}  // namespace portier::config
