// DNS-01 (RFC 8555 §8.4): the TXT record _acme-challenge.<name> holding
// base64url(SHA-256(key authorization)) is set through a DNS provider (dns_provider.h), checked
// for propagation as lego does (dns_propagation.h), then the challenge is answered, then the
// record is removed.
//
// Threading: the manager's thread; present() blocks for the propagation wait (bounded by the
// provider's propagation timeout) and returns early when the manager stops.
#pragma once

#include <memory>

#include "acme/manager.h"
#include "acme/solver.h"
#include "common/result.h"

namespace portier::acme {

// Reads the provider's settings from the environment (lego's variable names). An error names
// what is missing, or the supported providers for an unknown name.
Result<std::unique_ptr<Solver>> make_dns_solver(const DnsChallengeConfig& cfg, Wait wait);

}  // namespace portier::acme
