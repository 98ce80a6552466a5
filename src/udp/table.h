// UDP routers and services compiled for the data plane (Traefik's udp section), built on the
// control thread with the HTTP routing table and published inside it (RoutingTable::udp()).
// A UDP router has no rule: an entrypoint has at most one router, whose service picks a server
// for each new session. Immutable once built, except the services' rotation, which every worker
// shares under a lock (one short lock per new session, never per datagram).
#pragma once

#include <boost/asio/ip/udp.hpp>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/wrr.h"
#include "config/dynamic.h"

namespace portier::udp {

struct Server {
  std::string address;  // as configured, for logs
  boost::asio::ip::udp::endpoint endpoint;
};

class Service {
 public:
  std::string name;
  std::vector<Server> servers;                           // a loadBalancer
  std::vector<std::pair<const Service*, int>> weighted;  // or weighted children
  // The server for a new session: smooth weighted round robin over weighted children, round
  // robin over a load balancer's servers. Null when there is none. Thread-safe.
  const Server* pick() const;

 private:
  const Service* pick_child() const;
  mutable std::mutex mu_;
  mutable std::size_t next_ = 0;
  mutable std::vector<std::int64_t> current_;  // smooth WRR state of `weighted`
};

class Table {
 public:
  // The service of the entrypoint's router; null when no UDP router is on it.
  const Service* entrypoint(std::size_t index) const {
    return index < entrypoints_.size() ? entrypoints_[index] : nullptr;
  }

 private:
  friend class Builder;
  std::vector<std::unique_ptr<Service>> services_;
  std::vector<const Service*> entrypoints_;  // by entrypoint index
};

struct BuildError {
  std::string kind;  // "udp router", "udp service"
  std::string name;
  std::string message;
};

struct EntryPointInfo {
  std::string name;
  bool udp = false;  // the address ends in /udp
};

struct BuildResult {
  std::shared_ptr<const Table> table;  // null when no entrypoint has a UDP router
  std::vector<BuildError> errors;
};

// Control plane only. Server addresses must be IP literals or names the resolver answers at
// build time (a name is looked up once per build, not per session).
class Builder {
 public:
  explicit Builder(std::vector<EntryPointInfo> entrypoints) : eps_(std::move(entrypoints)) {}
  BuildResult build(const config::Configuration& cfg) const;

 private:
  std::vector<EntryPointInfo> eps_;
};

}  // namespace portier::udp
