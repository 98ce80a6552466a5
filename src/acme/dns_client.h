// Sending one DNS message to one server and reading its answer: UDP first, TCP when the answer
// is truncated (or for messages too large for UDP). Blocking, with a deadline; for the ACME
// manager's thread.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "acme/dns_wire.h"
#include "common/result.h"

namespace portier::acme::dns {

// "host", "host:port", "[v6]:port" or "v6" -> "host:port" (port 53 when none).
std::string with_port(std::string_view server, int default_port = 53);

// Sends `wire` (its ID is what the answer must carry) to `server` ("host:port"; a host name is
// resolved with getaddrinfo) and returns the raw answer. Errors: unreachable, timeout,
// malformed.
Result<std::string> exchange(const std::string& server, std::string_view wire,
                             std::chrono::milliseconds timeout);

// A random message ID.
std::uint16_t new_id();

// The nameservers of /etc/resolv.conf ("host:53"), or lego's fallback (1.1.1.1, 1.0.0.1).
std::vector<std::string> system_resolvers();

}  // namespace portier::acme::dns
