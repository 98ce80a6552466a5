// On-demand certificates (certificatesResolvers.<name>.acme.onDemand, as Caddy's on_demand_tls):
// what an HTTPS entrypoint asks when a ClientHello names a host that no certificate covers.
// The implementation (app/on_demand.h) asks the resolver's `ask` endpoint, applies its rate
// limit and has the ACME manager order the certificate, on threads of its own.
//
// Threading: want() and wait() are called by any worker; they never block (a short mutex around
// a map lookup, taken only for names without a certificate).
#pragma once

#include <chrono>
#include <string_view>

namespace portier::tls {

class OnDemand {
 public:
  virtual ~OnDemand() = default;
  // True when a certificate for `name` is being obtained and a handshake should wait for it (up
  // to wait()); false when it will not come soon (refused, rate-limited, failed): the handshake
  // goes on at once with the default certificate.
  virtual bool want(std::string_view name) = 0;
  virtual std::chrono::milliseconds wait() const = 0;
};

}  // namespace portier::tls
