// The data-plane state one worker owns: its deadline wheel, its upstream pools (one per server
// id), its load-balancer counters. Touched only on the worker's thread; no locks, no atomics.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <list>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "config/static_config.h"
#include "proxy/deadline.h"
#include "proxy/http/parser.h"
#include "proxy/routing_table.h"
#include "proxy/upstream_pool.h"

namespace portier::proxy {

class WorkerState {
 public:
  WorkerState(boost::asio::any_io_executor ex, const config::ServersTransport& transport,
              std::string hostname);

  boost::asio::any_io_executor executor() const { return ex_; }
  DeadlineWheel& wheel() { return wheel_; }
  const config::ServersTransport& transport() const { return transport_; }
  const std::string& hostname() const { return hostname_; }

  UpstreamPool& pool(std::uint32_t server_id);

  struct PickRequest {
    std::string_view client_ip;             // hashed by Strategy::Hrw
    const http::Fields* fields = nullptr;   // the request's, for the sticky cookie
    const ServerTarget* exclude = nullptr;  // the server that just failed this request
  };
  struct Pick {
    const ServerTarget* server = nullptr;  // nullptr: none available (all down or weight 0)
    bool set_cookie = false;               // sticky: the response must (re)set the cookie
  };
  // Picks a server of `service` by its sticky cookie, else by its strategy, among servers that
  // are available (weight > 0, health check passing) and not passively down on this worker.
  // When every such server is passively down, the passive marks are ignored (better a try than
  // a 503 while the only server restarts).
  Pick pick(const ServiceTarget& service, const PickRequest& request);

  // Weighted, failover and mirroring services: walks down from `service` to the load balancer
  // that takes this request. Weighted: the child named by its sticky cookie, else smooth
  // weighted round robin over the children that are available; failover: `service` while it
  // is available, else `fallback`; mirroring: its main service. Available means: some server
  // is up (weight, active health) and, while any alternative is, not passively marked down on
  // this worker. Appends Set-Cookie lines for weighted sticky cookies to `set_cookies`, and
  // the mirroring services passed on the way to `mirrorings` when it is not null. nullptr:
  // no child is available (503).
  const ServiceTarget* resolve(const ServiceTarget& service, const PickRequest& request,
                               std::string& set_cookies,
                               std::vector<const ServiceTarget*>* mirrorings = nullptr);
  // Has `service` (any kind) an available server? `passive`: passive marks count too.
  bool available(const ServiceTarget& service, bool passive);

  // Mirroring: the mirrors of `mirroring` that get a copy of this request. Each mirror's
  // percent accumulates per worker and a copy goes out each time it reaches 100, so the share
  // is exact over a run of requests (50: every second request).
  void choose_mirrors(const ServiceTarget& mirroring, std::vector<const ServiceTarget*>& out);
  // Mirror copies on this worker, whether still waiting for the request body (a slot reserved
  // by prepare_mirrors) or in flight: at most kMaxMirrorsInFlight; beyond that copies are
  // dropped before any body is kept for them. An in-flight copy's socket is registered so
  // shutdown() can close it.
  static constexpr std::size_t kMaxMirrorsInFlight = 64;
  bool reserve_mirror_slot() {
    if (mirror_sockets_.size() + mirror_reserved_ >= kMaxMirrorsInFlight) return false;
    ++mirror_reserved_;
    return true;
  }
  void release_mirror_slots(std::size_t n) { mirror_reserved_ -= std::min(n, mirror_reserved_); }
  std::size_t mirrors_in_use() const { return mirror_sockets_.size() + mirror_reserved_; }
  std::list<boost::asio::ip::tcp::socket*>::iterator add_mirror(
      boost::asio::ip::tcp::socket* s) {
    return mirror_sockets_.insert(mirror_sockets_.end(), s);
  }
  void remove_mirror(std::list<boost::asio::ip::tcp::socket*>::iterator it) {
    mirror_sockets_.erase(it);
  }

  // Passive health, per worker: a server that refused or reset a fresh connection is left out
  // of this worker's picks until `for` has passed, or until its active health check passes a
  // probe that started after the mark (the server is back: no reason to wait out the mark).
  void mark_down(const ServerTarget& server, Clock::duration for_);
  bool passively_down(const ServerTarget& server) { return down_at(server, Clock::now()); }
  // Requests in flight to a server on this worker (p2c's measure).
  void begin_request(const ServerTarget& server) {
    if (ServerLocal* l = local(server)) ++l->in_flight;
  }
  void end_request(const ServerTarget& server) {
    if (ServerLocal* l = local(server)) --l->in_flight;
  }
  std::uint32_t in_flight(const ServerTarget& server) {
    const ServerLocal* l = local(server);
    return l ? l->in_flight : 0;
  }

  // The upstream pool of `server`'s id (created on first use, sized by the server's transport:
  // maxIdleConnsPerHost, idleConnTimeout).
  UpstreamPool& pool(const ServerTarget& server);

  // Called on the worker thread when a new table becomes current: drops pools of servers that
  // are gone, keeps the others (and their connections).
  void on_table(const RoutingTable& table);
  void sweep();     // closes expired idle upstream connections
  void shutdown();  // closes idle upstream connections and mirror requests, stops the wheel

 private:
  boost::asio::any_io_executor ex_;
  DeadlineWheel wheel_;
  const config::ServersTransport& transport_;
  std::string hostname_;
  struct ServerLocal {
    std::uint64_t generation = 0;  // the ServerTarget::generation this state belongs to
    std::uint32_t in_flight = 0;
    Clock::time_point down_until{};  // passive health: out of picks until then
    std::uint64_t down_passes = 0;   // the health check's pass count when marked down
  };
  // The state of `server` on this worker; nullptr when the server is a retired owner of its id
  // (a request that started on an older table): its counts no longer matter.
  ServerLocal* local(const ServerTarget& server) {
    if (server.id >= local_.size()) local_.resize(server.id + 1);
    ServerLocal& l = local_[server.id];
    if (server.generation > l.generation) l = ServerLocal{server.generation};
    return server.generation == l.generation ? &l : nullptr;
  }
  bool down_at(const ServerTarget& server, Clock::time_point now);
  const ServiceTarget* pick_child(const ServiceTarget& weighted, const PickRequest& request,
                                  std::string& set_cookies);
  std::size_t pick_by_strategy(const ServiceTarget& service, const PickRequest& request,
                               bool passive);

  std::vector<std::unique_ptr<UpstreamPool>> pools_;  // by server id
  std::vector<ServerLocal> local_;                    // by server id; kept across tables
  std::vector<std::vector<std::int64_t>> wrr_;        // by service index: current weights
  std::vector<std::vector<int>> mirror_credit_;       // by service index, then mirror
  std::list<boost::asio::ip::tcp::socket*> mirror_sockets_;  // mirror requests in flight
  std::size_t mirror_reserved_ = 0;                           // copies waiting for a body
  std::minstd_rand rng_;                              // p2c's draws
  std::vector<std::uint32_t> scratch_;                // p2c's candidates
  Clock::time_point now_;                             // of the pick in progress
};

}  // namespace portier::proxy
