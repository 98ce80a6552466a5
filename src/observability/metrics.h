// Request metrics: per-worker counters summed when read, exposed in Prometheus' text format with
// Traefik's metric names and labels (so its Grafana dashboards work) and as the dashboard's
// traffic JSON.
//
// Threading. Each worker owns one Shard and is its only writer: a request's counts are added
// with relaxed load + store pairs on the worker's own cache lines (no lock, no read-modify-write,
// nothing shared between workers). Readers (a scrape, on any thread) load the same atomics and
// sum over shards; they may see a request's count before its bytes, never a torn value. A shard
// is a fixed open-addressed table (no reallocation under a reader); a series that finds no room
// is counted in `portier_metrics_series_dropped_total` instead. Object names (entrypoints,
// routers, services) are interned to small ids by the control plane when it builds a table.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/server_health.h"

namespace portier::observability {

// Traefik's metrics.prometheus options (metrics.addInternals aside).
struct MetricsOptions {
  std::vector<double> buckets{0.1, 0.3, 1.2, 5.0};  // seconds, ascending
  bool add_entrypoints_labels = true;
  bool add_routers_labels = false;
  bool add_services_labels = true;
  bool add_internals = false;  // metrics.addInternals: count requests to ping, api, prometheus
};

// The request methods Traefik labels by name; anything else is EXTENSION_METHOD.
std::uint8_t method_id(std::string_view method);
std::string_view method_name(std::uint8_t id);
// Traefik's protocol label: http, websocket, sse, grpc, grpc-web.
enum class Protocol : std::uint8_t { Http, Websocket, Sse, Grpc, GrpcWeb };
std::string_view protocol_name(Protocol p);

// One finished request, as the session reports it.
struct Observation {
  std::uint32_t entrypoint = 0;    // the entrypoint's index
  std::uint32_t router = 0;        // interned ids; 0: none
  std::uint32_t service = 0;       // the router's service
  std::uint32_t leaf_service = 0;  // the load balancer that answered, when it is another one
  int code = 0;
  std::uint8_t method = 0;
  Protocol protocol = Protocol::Http;
  std::chrono::nanoseconds duration{0};
  std::uint64_t request_bytes = 0;
  std::uint64_t response_bytes = 0;
  int retries = 0;  // tries of a server beyond the first
};

inline constexpr std::size_t kMaxBuckets = 15;
inline constexpr std::size_t kMaxEntrypoints = 64;

class Shard {
 public:
  explicit Shard(const std::vector<double>& bounds);  // ascending seconds, < kMaxBuckets
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  // Worker thread only.
  void observe(const Observation& o);
  void connection_opened(std::uint32_t entrypoint) { bump_i(open_[ep(entrypoint)], 1); }
  void connection_closed(std::uint32_t entrypoint) { bump_i(open_[ep(entrypoint)], -1); }

  // Any thread.
  struct Sums {
    std::uint64_t count = 0, request_bytes = 0, response_bytes = 0, duration_ns = 0;
    std::array<std::uint64_t, kMaxBuckets> buckets{};  // not cumulative
  };
  enum Kind : std::uint8_t { kEntrypoint = 1, kRouter = 2, kService = 3, kRetries = 4 };
  struct Key {
    std::uint8_t kind = 0, method = 0, protocol = 0;
    std::uint16_t code = 0;
    std::uint32_t object = 0, object2 = 0;  // object2: a router's service
    auto operator<=>(const Key&) const = default;
  };
  // Adds this shard's series into `out`.
  void collect(std::map<Key, Sums>& out) const;
  std::int64_t open_connections(std::uint32_t entrypoint) const {
    return open_[ep(entrypoint)].load(std::memory_order_relaxed);
  }
  std::uint64_t dropped_series() const { return dropped_.load(std::memory_order_relaxed); }

  static constexpr std::size_t kSlots = 2048;  // a power of two

 private:
  struct Slot {
    std::atomic<std::uint64_t> lo{0};  // kind, method, protocol, code; bit 63: in use
    std::atomic<std::uint64_t> hi{0};  // object, object2
    std::atomic<std::uint64_t> count{0}, request_bytes{0}, response_bytes{0}, duration_ns{0};
    std::array<std::atomic<std::uint64_t>, kMaxBuckets> buckets{};
  };
  static void bump(std::atomic<std::uint64_t>& a, std::uint64_t v) {
    a.store(a.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
  }
  static void bump_i(std::atomic<std::int64_t>& a, std::int64_t v) {
    a.store(a.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
  }
  static std::size_t ep(std::uint32_t e) { return e < kMaxEntrypoints ? e : kMaxEntrypoints - 1; }
  Slot* slot(const Key& k);
  void add(const Key& k, const Observation& o, std::size_t bucket);

  std::size_t buckets_used_;
  std::array<std::uint64_t, kMaxBuckets> bounds_ns_{};
  std::unique_ptr<Slot[]> slots_;
  std::array<std::atomic<std::int64_t>, kMaxEntrypoints> open_{};
  std::atomic<std::uint64_t> dropped_{0};
};

// A server of a service, for traefik_service_server_up.
struct ServerUp {
  std::string service;
  std::string url;
  std::shared_ptr<const ServerHealth> health;  // null: not health-checked (up)
  bool down = false;  // the provider says so (a container's failing healthcheck)
};
// A served certificate, for traefik_tls_certs_not_after.
struct CertInfo {
  std::string cn;
  std::string serial;
  std::string sans;  // comma-separated
  std::int64_t not_after = 0;  // Unix seconds
};

class Metrics {
 public:
  Metrics(MetricsOptions options, std::vector<std::string> entrypoints, std::size_t workers);

  // The worker's shard (worker thread only).
  Shard& shard(std::size_t worker) { return *shards_[worker]; }
  const MetricsOptions& options() const { return options_; }

  // Control plane: the id of a router or service name (stable for the process's life), and the
  // names the current configuration has (only those are exposed; a removed router's series go).
  std::uint32_t intern(std::string_view name);
  void set_live(std::vector<std::uint32_t> ids);
  void set_servers(std::vector<ServerUp> servers);
  void set_certificates(std::vector<CertInfo> certs);
  // A configuration apply: Traefik's traefik_config_reloads_total and last_reload_success.
  void config_reloaded(bool success);
  // Extra counters under portier_ (name without prefix, help, value read on scrape).
  void add_counter(std::string name, std::string help, std::function<std::uint64_t()> read);

  // Any thread.
  std::string prometheus_text() const;
  // {"uptimeSeconds", "entryPoints": {name: {requests, status: {"1xx".."5xx"}, openConnections}},
  //  "routers": {...}, "services": {...}}: cumulative since start; every entrypoint, and the
  // routers and services of the current configuration that have had a request.
  nlohmann::json traffic_json() const;

 private:
  std::map<Shard::Key, Shard::Sums> collect() const;

  MetricsOptions options_;
  std::vector<std::string> entrypoints_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::atomic<std::uint64_t> reloads_{0};
  std::atomic<std::int64_t> last_success_{0};  // Unix seconds; 0: none yet

  mutable std::mutex mu_;  // the rest: control plane writes, scrapes read
  std::unordered_map<std::string, std::uint32_t> ids_;
  std::vector<std::string> names_{""};  // by id; 0 is "none"
  std::vector<bool> live_;
  std::vector<ServerUp> servers_;
  std::vector<CertInfo> certs_;
  struct Extra {
    std::string name, help;
    std::function<std::uint64_t()> read;
  };
  std::vector<Extra> extra_;
};

}  // namespace portier::observability
