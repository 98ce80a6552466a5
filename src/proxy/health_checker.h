// Active health checks (loadBalancer.healthCheck): one probe loop per checked server, on the
// control plane's io_context. A failing server leaves the rotation (its ServerHealth turns
// false, which workers read on every pick) and returns when a probe passes again.
//
// The table builder asks for the health of each checked server with track(); the same key
// (service, server URL, check settings) gives the same object, so a reload keeps health and
// running checks; after a build, sweep() stops the checks no table uses any more.
// Control plane only; not thread-safe.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "config/dynamic.h"
#include "proxy/health.h"

namespace portier::proxy {

struct Transport;  // proxy/upstream_tls.h

// How probes reach a server: its transport, and TLS for an https:// URL (healthCheck.scheme
// `https` or `http` overrides the URL's scheme, as in Traefik). Probes verify certificates like
// the forwarder and dial afresh each time (no pool, no session reuse).
struct ProbeVia {
  std::shared_ptr<const Transport> transport;  // null: plain TCP
  bool tls = false;
  std::string host;  // the URL's host: SNI and the verified name unless serverName
};

class HealthChecker {
 public:
  explicit HealthChecker(boost::asio::any_io_executor ex) : ex_(std::move(ex)) {}
  ~HealthChecker();

  std::shared_ptr<const ServerHealth> track(const std::string& service, const std::string& url,
                                            const boost::asio::ip::tcp::endpoint& endpoint,
                                            const std::string& host_header,
                                            const config::HealthCheck& check,
                                            const ProbeVia& via = {});
  void sweep();

  struct Check;

 private:
  boost::asio::any_io_executor ex_;
  std::map<std::string, std::shared_ptr<Check>> checks_;
  std::set<std::string> tracked_;  // keys asked for since the last sweep
};

}  // namespace portier::proxy
