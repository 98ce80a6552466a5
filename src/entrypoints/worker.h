// A worker: one thread, one io_context, its own listener per entrypoint (SO_REUSEPORT, so the
// kernel spreads connections), its own upstream pools. Connections stay on the worker that
// accepted them. The control plane talks to a worker only by posting to it (publish, drain,
// abort); everything else runs on the worker's thread without locks or atomics.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <thread>
#include <vector>

#include "common/record_pool.h"
#include "common/result.h"
#include "entrypoints/entrypoint.h"
#include "proxy/routing_table.h"
#include "proxy/worker_state.h"
#include "tls/challenge_tokens.h"
#include "tls/context.h"
#include "tls/on_demand.h"
#include "udp/listener.h"

namespace portier::observability {
class Shard;
class AccessLog;
}  // namespace portier::observability

namespace portier::entrypoints {

class Worker;
struct ConnectionMemory;  // session.h

// A routing table a request holds until its response is written. Counting is per worker and
// non-atomic: a table is freed on the worker once no request of that worker uses it.
class TableLease {
 public:
  TableLease(
      Worker& w,
      std::list<std::pair<std::shared_ptr<const proxy::RoutingTable>, std::uint32_t>>::iterator it);
  ~TableLease();
  TableLease(const TableLease&) = delete;
  TableLease& operator=(const TableLease&) = delete;
  const proxy::RoutingTable* get() const { return it_->first.get(); }
  const proxy::RoutingTable* operator->() const { return get(); }

 private:
  Worker& w_;
  std::list<std::pair<std::shared_ptr<const proxy::RoutingTable>, std::uint32_t>>::iterator it_;
};

// What sessions need for TLS and ACME, shared by every worker (set before start()).
struct TlsServices {
  tls::ServerContext* context = nullptr;         // null: TLS is never offered
  const tls::ChallengeTokens* tokens = nullptr;  // null: no ACME resolver
  tls::OnDemand* on_demand = nullptr;            // null: no resolver with onDemand
};

// A live client connection, as the worker sees it for shutdown.
struct SessionHandle {
  boost::asio::ip::tcp::socket* client = nullptr;
  proxy::UpstreamStream* upstream = nullptr;  // set by the forwarder while in use
  boost::asio::ip::tcp::socket* tcp_upstream = nullptr;  // a TCP router's backend while piping
  bool idle = false;                                 // waiting for the first byte of a request
  // HTTP/1.1 keep-alive: idle, its read of the next request pending. Waiting through a whole
  // tick of the worker (1-2 s), the tick sets `release` and cancels the read; serve_requests
  // then returns Ended::Parked with the idle timeout's expiry in idle_until, and the connection
  // waits for its client without coroutines or buffers (session.cc, park()). A connection's
  // handle sets may_park; an HTTP/2 stream's does not (it has no socket to wait on). A busy
  // connection's wait costs nothing more than before (a read; no epoll_ctl as a wait makes).
  bool may_park = false;
  bool waiting = false;
  bool release = false;
  std::uint8_t waiting_ticks = 0;
  std::chrono::steady_clock::time_point idle_until{};
  // When set, the tick cancels a waiting read only while it returns true (HTTP/2: no write of
  // the connection's may be pending on the socket, which the cancel would abort too).
  bool (*may_release)(void* ctx) = nullptr;
  void* may_release_ctx = nullptr;
  // Told when the worker starts draining while the session is busy (HTTP/2: GOAWAY now, so the
  // client opens no new stream while the open ones finish).
  void (*on_drain)(void* ctx) = nullptr;
  void* on_drain_ctx = nullptr;
  SessionHandle* prev = nullptr;
  SessionHandle* next = nullptr;
};

class Worker {
 public:
  Worker(std::size_t id, const config::StaticConfig& cfg, std::string hostname);
  ~Worker();

  // Control thread, before start(): opens this worker's listener on every entrypoint. The first
  // worker to bind a port-0 entrypoint writes the chosen port into `specs`, so later workers share
  // it.
  Result<bool> listen(std::vector<EntryPointSpec>& specs);
  void set_tls(TlsServices t) { tls_ = t; }
  const TlsServices& tls() const { return tls_; }
  // Control thread, before start(): where this worker counts requests and logs them (either may
  // be null: off).
  void set_observers(observability::Shard* metrics, observability::AccessLog* access_log,
                     bool count_internals) {
    metrics_ = metrics;
    access_log_ = access_log;
    count_internals_ = count_internals;
  }
  bool count_internals() const { return count_internals_; }
  observability::Shard* metrics() const { return metrics_; }
  observability::AccessLog* access_log() const { return access_log_; }
  std::size_t id() const { return id_; }
  // Starts the thread; on_exit runs on it when the worker has nothing left to do.
  void start(std::function<void()> on_exit);
  void join();

  // Thread-safe (post to the worker). `taken`, if set, runs on this worker's thread once the
  // table is current there.
  void publish(std::shared_ptr<const proxy::RoutingTable> table,
               std::function<void()> taken = nullptr);
  void drain();  // stop accepting, close idle connections, let active ones finish
  void abort();  // close every connection now

  // Worker thread only.
  proxy::WorkerState& state() { return state_; }
  const bool& draining() const { return draining_; }
  TableLease acquire_table();
  void add(SessionHandle& s);
  void remove(SessionHandle& s);
  // Memory of ended connections, for the next ones (session.cc); at most kSpareConnections,
  // given back when the worker goes quiet.
  std::vector<std::unique_ptr<ConnectionMemory>>& spare_connections() { return spare_connections_; }
  static constexpr std::size_t kSpareConnections = 32;
  // Connection records and parked connections' waits (session.cc), packed (record_pool.h).
  RecordPool& records() { return records_; }

 private:
  friend class TableLease;
  using TableList = std::list<std::pair<std::shared_ptr<const proxy::RoutingTable>, std::uint32_t>>;
  void release(TableList::iterator it);
  Result<bool> listen_udp(EntryPointSpec& spec);  // udp_listen.cc
  void housekeeping();
  void maybe_finish();

  std::size_t id_;
  // Before io_: a session ending while io_ is destroyed returns its memory here.
  std::vector<std::unique_ptr<ConnectionMemory>> spare_connections_;
  RecordPool records_;  // and its records here
  // All I/O is started on this worker's thread, so the reactor needs no locking; posts from the
  // control thread go through the scheduler, which keeps its lock.
  boost::asio::io_context io_{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  proxy::WorkerState state_;
  boost::asio::steady_timer housekeeping_;
  std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>> acceptors_;
  std::vector<const EntryPointSpec*> acceptor_specs_;
  std::vector<std::unique_ptr<udp::Listener>> udp_listeners_;  // entrypoints with /udp
  TableList tables_;  // front: current
  // Requests started and ended (table leases taken and given back) and connections closed: the
  // housekeeping tick tells a quiet second after a busy one by it, and gives the heap's free
  // pages back then (worker.cc).
  std::uint64_t activity_ = 0;
  std::uint64_t activity_at_tick_ = 0;
  bool busy_since_trim_ = false;
  SessionHandle* sessions_ = nullptr;
  std::size_t session_count_ = 0;
  bool draining_ = false;
  bool finished_ = false;
  TlsServices tls_;
  observability::Shard* metrics_ = nullptr;
  observability::AccessLog* access_log_ = nullptr;
  bool count_internals_ = false;  // metrics.addInternals
  std::thread thread_;
};

}  // namespace portier::entrypoints
