#include "observability/metrics.h"

#include <algorithm>
#include <charconv>
#include <ctime>

namespace portier::observability {
namespace {

constexpr std::string_view kMethods[] = {"EXTENSION_METHOD", "GET",     "HEAD",    "POST",
                                         "PUT",              "DELETE",  "CONNECT", "OPTIONS",
                                         "TRACE",            "PATCH",   "PRI"};
constexpr std::string_view kProtocols[] = {"http", "websocket", "sse", "grpc", "grpc-web"};
constexpr std::uint64_t kInUse = std::uint64_t{1} << 63;

std::uint64_t pack_lo(const Shard::Key& k) {
  return kInUse | std::uint64_t{k.kind} << 48 | std::uint64_t{k.method} << 40 |
         std::uint64_t{k.protocol} << 32 | k.code;
}
std::uint64_t pack_hi(const Shard::Key& k) { return std::uint64_t{k.object} << 32 | k.object2; }
Shard::Key unpack(std::uint64_t lo, std::uint64_t hi) {
  Shard::Key k;
  k.kind = static_cast<std::uint8_t>(lo >> 48);
  k.method = static_cast<std::uint8_t>(lo >> 40);
  k.protocol = static_cast<std::uint8_t>(lo >> 32);
  k.code = static_cast<std::uint16_t>(lo);
  k.object = static_cast<std::uint32_t>(hi >> 32);
  k.object2 = static_cast<std::uint32_t>(hi);
  return k;
}

std::string number(double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, end);
}

// A label value in the text format: backslash, quote and newline escaped.
void append_label(std::string& out, std::string_view name, std::string_view value, bool& first) {
  out.append(first ? "{" : ",").append(name).append("=\"");
  first = false;
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

void append_header(std::string& out, std::string_view name, std::string_view type,
                   std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

using Labels = std::vector<std::pair<std::string_view, std::string_view>>;

void append_sample(std::string& out, std::string_view name, const Labels& labels,
                   std::string_view value, std::string_view le = {}) {
  out.append(name);
  bool first = true;
  for (const auto& [n, v] : labels) append_label(out, n, v, first);
  if (!le.empty()) append_label(out, "le", le, first);
  if (!first) out.push_back('}');
  out.append(" ").append(value).append("\n");
}

}  // namespace

std::uint8_t method_id(std::string_view method) {
  for (std::uint8_t i = 1; i < std::size(kMethods); ++i) {
    if (kMethods[i] == method) return i;
  }
  return 0;
}
std::string_view method_name(std::uint8_t id) {
  return id < std::size(kMethods) ? kMethods[id] : kMethods[0];
}
std::string_view protocol_name(Protocol p) {
  const auto i = static_cast<std::size_t>(p);
  return i < std::size(kProtocols) ? kProtocols[i] : kProtocols[0];
}

// --- Shard ---

Shard::Shard(const std::vector<double>& bounds)
    : buckets_used_(std::min(bounds.size(), kMaxBuckets - 1)), slots_(new Slot[kSlots]) {
  for (std::size_t i = 0; i < buckets_used_; ++i) {
    bounds_ns_[i] = static_cast<std::uint64_t>(std::max(0.0, bounds[i]) * 1e9);
  }
}

Shard::Slot* Shard::slot(const Key& k) {
  const std::uint64_t lo = pack_lo(k), hi = pack_hi(k);
  std::uint64_t h = (lo ^ (hi * 0x9E3779B97F4A7C15ull)) * 0xBF58476D1CE4E5B9ull;
  h ^= h >> 31;
  for (std::size_t n = 0; n < kSlots; ++n) {
    Slot& s = slots_[(h + n) & (kSlots - 1)];
    const std::uint64_t cur = s.lo.load(std::memory_order_relaxed);
    if (cur == 0) {
      // Claim it: `hi` first, then `lo` with release, so a reader that sees `lo` sees `hi`.
      s.hi.store(hi, std::memory_order_relaxed);
      s.lo.store(lo, std::memory_order_release);
      return &s;
    }
    if (cur == lo && s.hi.load(std::memory_order_relaxed) == hi) return &s;
  }
  dropped_.store(dropped_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  return nullptr;
}

void Shard::add(const Key& k, const Observation& o, std::size_t bucket) {
  Slot* s = slot(k);
  if (s == nullptr) return;
  bump(s->count, 1);
  bump(s->request_bytes, o.request_bytes);
  bump(s->response_bytes, o.response_bytes);
  bump(s->duration_ns, static_cast<std::uint64_t>(std::max<std::int64_t>(0, o.duration.count())));
  bump(s->buckets[bucket], 1);
}

void Shard::observe(const Observation& o) {
  const auto ns = static_cast<std::uint64_t>(std::max<std::int64_t>(0, o.duration.count()));
  std::size_t bucket = 0;
  while (bucket < buckets_used_ && ns > bounds_ns_[bucket]) ++bucket;
  Key k;
  k.method = o.method;
  k.protocol = static_cast<std::uint8_t>(o.protocol);
  k.code = static_cast<std::uint16_t>(std::clamp(o.code, 0, 999));
  k.kind = kEntrypoint;
  k.object = o.entrypoint;
  add(k, o, bucket);
  if (o.router != 0) {
    k.kind = kRouter;
    k.object = o.router;
    k.object2 = o.service;
    add(k, o, bucket);
    k.object2 = 0;
  }
  if (o.service != 0) {
    k.kind = kService;
    k.object = o.service;
    add(k, o, bucket);
  }
  if (o.leaf_service != 0 && o.leaf_service != o.service) {
    k.kind = kService;
    k.object = o.leaf_service;
    add(k, o, bucket);
  }
  if (o.retries > 0 && (o.leaf_service != 0 || o.service != 0)) {
    Key r;
    r.kind = kRetries;
    r.object = o.leaf_service != 0 ? o.leaf_service : o.service;
    if (Slot* s = slot(r)) bump(s->count, static_cast<std::uint64_t>(o.retries));
  }
}

void Shard::collect(std::map<Key, Sums>& out) const {
  for (std::size_t i = 0; i < kSlots; ++i) {
    const Slot& s = slots_[i];
    const std::uint64_t lo = s.lo.load(std::memory_order_acquire);
    if (lo == 0) continue;
    Sums& sum = out[unpack(lo, s.hi.load(std::memory_order_relaxed))];
    sum.count += s.count.load(std::memory_order_relaxed);
    sum.request_bytes += s.request_bytes.load(std::memory_order_relaxed);
    sum.response_bytes += s.response_bytes.load(std::memory_order_relaxed);
    sum.duration_ns += s.duration_ns.load(std::memory_order_relaxed);
    for (std::size_t b = 0; b <= buckets_used_; ++b) {
      sum.buckets[b] += s.buckets[b].load(std::memory_order_relaxed);
    }
  }
}

// --- Metrics ---

Metrics::Metrics(MetricsOptions options, std::vector<std::string> entrypoints,
                 std::size_t workers)
    : options_(std::move(options)), entrypoints_(std::move(entrypoints)) {
  std::sort(options_.buckets.begin(), options_.buckets.end());
  if (options_.buckets.size() > kMaxBuckets - 1) options_.buckets.resize(kMaxBuckets - 1);
  for (std::size_t i = 0; i < std::max<std::size_t>(1, workers); ++i) {
    shards_.push_back(std::make_unique<Shard>(options_.buckets));
  }
}

std::uint32_t Metrics::intern(std::string_view name) {
  std::lock_guard lock(mu_);
  auto [it, added] = ids_.try_emplace(std::string(name), static_cast<std::uint32_t>(names_.size()));
  if (added) names_.emplace_back(name);
  return it->second;
}

void Metrics::set_live(std::vector<std::uint32_t> ids) {
  std::lock_guard lock(mu_);
  live_.assign(names_.size(), false);
  for (auto id : ids) {
    if (id < live_.size()) live_[id] = true;
  }
}

void Metrics::set_servers(std::vector<ServerUp> servers) {
  std::lock_guard lock(mu_);
  servers_ = std::move(servers);
}

void Metrics::set_certificates(std::vector<CertInfo> certs) {
  std::lock_guard lock(mu_);
  certs_ = std::move(certs);
}

void Metrics::config_reloaded(bool success) {
  reloads_.fetch_add(1, std::memory_order_relaxed);
  if (success) last_success_.store(std::time(nullptr), std::memory_order_relaxed);
}

void Metrics::add_counter(std::string name, std::string help,
                          std::function<std::uint64_t()> read) {
  std::lock_guard lock(mu_);
  extra_.push_back({"portier_" + name, std::move(help), std::move(read)});
}

std::map<Shard::Key, Shard::Sums> Metrics::collect() const {
  std::map<Shard::Key, Shard::Sums> all;
  for (const auto& s : shards_) s->collect(all);
  return all;
}

std::string Metrics::prometheus_text() const {
  const auto all = collect();
  std::lock_guard lock(mu_);
  auto name_of = [&](std::uint32_t id) -> std::string_view {
    return id < names_.size() ? std::string_view(names_[id]) : std::string_view();
  };
  auto live = [&](std::uint32_t id) { return id < live_.size() && live_[id]; };
  std::string out;
  out.reserve(4096 + all.size() * 256);

  std::vector<std::string> code_text;  // the code labels, kept alive while `labels` points at them
  // One family group (requests_total, the duration histogram, the byte counters) over the
  // series of `kind`; `object_labels` adds the object's labels, or refuses a series (false).
  auto family = [&](std::string_view prefix, std::string_view what, Shard::Kind kind,
                    auto&& object_labels) {
    struct Row {
      Labels labels;
      const Shard::Sums* sums;
    };
    std::vector<Row> rows;
    code_text.clear();
    code_text.reserve(all.size());
    for (const auto& [k, sums] : all) {
      if (k.kind != kind) continue;
      Labels labels;
      code_text.push_back(std::to_string(k.code));
      labels.emplace_back("code", code_text.back());
      if (!object_labels(k, labels)) {
        code_text.pop_back();
        continue;
      }
      labels.emplace_back("method", method_name(k.method));
      labels.emplace_back("protocol", protocol_name(static_cast<Protocol>(k.protocol)));
      std::sort(labels.begin(), labels.end());
      rows.push_back({std::move(labels), &sums});
    }
    const std::string base = std::string("traefik_") + std::string(prefix);
    std::string n = base + "requests_total";
    append_header(out, n, "counter",
                  "How many HTTP requests processed on " + std::string(what) +
                      ", partitioned by status code, protocol, and method.");
    for (const auto& r : rows) append_sample(out, n, r.labels, std::to_string(r.sums->count));
    n = base + "request_duration_seconds";
    append_header(out, n, "histogram",
                  "How long it took to process the request on " + std::string(what) +
                      ", partitioned by status code, protocol, and method.");
    for (const auto& r : rows) {
      std::uint64_t cumulative = 0;
      for (std::size_t b = 0; b < options_.buckets.size(); ++b) {
        cumulative += r.sums->buckets[b];
        append_sample(out, n + "_bucket", r.labels, std::to_string(cumulative),
                      number(options_.buckets[b]));
      }
      cumulative += r.sums->buckets[options_.buckets.size()];
      append_sample(out, n + "_bucket", r.labels, std::to_string(cumulative), "+Inf");
      append_sample(out, n + "_sum", r.labels, number(r.sums->duration_ns / 1e9));
      append_sample(out, n + "_count", r.labels, std::to_string(r.sums->count));
    }
    n = base + "requests_bytes_total";
    append_header(out, n, "counter",
                  "The total size of requests in bytes handled by " + std::string(what) +
                      ", partitioned by status code, protocol, and method.");
    for (const auto& r : rows) {
      append_sample(out, n, r.labels, std::to_string(r.sums->request_bytes));
    }
    n = base + "responses_bytes_total";
    append_header(out, n, "counter",
                  "The total size of responses in bytes handled by " + std::string(what) +
                      ", partitioned by status code, protocol, and method.");
    for (const auto& r : rows) {
      append_sample(out, n, r.labels, std::to_string(r.sums->response_bytes));
    }
  };

  append_header(out, "traefik_config_reloads_total", "counter", "Config reloads");
  append_sample(out, "traefik_config_reloads_total", {},
                std::to_string(reloads_.load(std::memory_order_relaxed)));
  append_header(out, "traefik_config_last_reload_success", "gauge", "Last config reload success");
  append_sample(out, "traefik_config_last_reload_success", {},
                std::to_string(last_success_.load(std::memory_order_relaxed)));
  append_header(out, "traefik_open_connections", "gauge",
                "How many open connections exist, by entryPoint and protocol");
  for (std::size_t e = 0; e < entrypoints_.size() && e < kMaxEntrypoints; ++e) {
    std::int64_t open = 0;
    for (const auto& s : shards_) open += s->open_connections(static_cast<std::uint32_t>(e));
    append_sample(out, "traefik_open_connections",
                  {{"entrypoint", entrypoints_[e]}, {"protocol", "TCP"}},
                  std::to_string(std::max<std::int64_t>(0, open)));
  }
  append_header(out, "traefik_tls_certs_not_after", "gauge", "Certificate expiration timestamp");
  for (const auto& c : certs_) {
    append_sample(out, "traefik_tls_certs_not_after",
                  {{"cn", c.cn}, {"sans", c.sans}, {"serial", c.serial}},
                  std::to_string(c.not_after));
  }
  if (options_.add_entrypoints_labels) {
    family("entrypoint_", "an entrypoint", Shard::kEntrypoint,
           [&](const Shard::Key& k, Labels& l) {
             if (k.object >= entrypoints_.size()) return false;
             l.emplace_back("entrypoint", entrypoints_[k.object]);
             return true;
           });
  }
  if (options_.add_routers_labels) {
    family("router_", "a router", Shard::kRouter, [&](const Shard::Key& k, Labels& l) {
      if (!live(k.object)) return false;
      l.emplace_back("router", name_of(k.object));
      l.emplace_back("service", name_of(k.object2));
      return true;
    });
  }
  if (options_.add_services_labels) {
    family("service_", "a service", Shard::kService, [&](const Shard::Key& k, Labels& l) {
      if (!live(k.object)) return false;
      l.emplace_back("service", name_of(k.object));
      return true;
    });
    append_header(out, "traefik_service_retries_total", "counter",
                  "How many request retries happened on a service.");
    for (const auto& [k, sums] : all) {
      if (k.kind != Shard::kRetries || !live(k.object)) continue;
      append_sample(out, "traefik_service_retries_total", {{"service", name_of(k.object)}},
                    std::to_string(sums.count));
    }
    append_header(out, "traefik_service_server_up", "gauge",
                  "service server is up, described by gauge value of 0 or 1.");
    for (const auto& s : servers_) {
      const bool up = !s.down && (!s.health || s.health->up.load(std::memory_order_relaxed));
      append_sample(out, "traefik_service_server_up", {{"service", s.service}, {"url", s.url}},
                    up ? "1" : "0");
    }
  }
  std::uint64_t dropped = 0;
  for (const auto& s : shards_) dropped += s->dropped_series();
  append_header(out, "portier_metrics_series_dropped_total", "counter",
                "Request observations not counted because a worker's series table was full.");
  append_sample(out, "portier_metrics_series_dropped_total", {}, std::to_string(dropped));
  for (const auto& e : extra_) {
    append_header(out, e.name, "counter", e.help);
    append_sample(out, e.name, {}, std::to_string(e.read()));
  }
  return out;
}

nlohmann::json Metrics::traffic_json() const {
  const auto all = collect();
  std::lock_guard lock(mu_);
  auto empty = [] {
    return nlohmann::json{{"requests", 0},
                          {"status", {{"1xx", 0}, {"2xx", 0}, {"3xx", 0}, {"4xx", 0}, {"5xx", 0}}}};
  };
  nlohmann::json eps = nlohmann::json::object(), routers = nlohmann::json::object(),
                 services = nlohmann::json::object();
  for (std::size_t e = 0; e < entrypoints_.size() && e < kMaxEntrypoints; ++e) {
    auto& j = eps[entrypoints_[e]] = empty();
    std::int64_t open = 0;
    for (const auto& s : shards_) open += s->open_connections(static_cast<std::uint32_t>(e));
    j["openConnections"] = std::max<std::int64_t>(0, open);
  }
  for (const auto& [k, sums] : all) {
    nlohmann::json* j = nullptr;
    if (k.kind == Shard::kEntrypoint && k.object < entrypoints_.size()) {
      j = &eps[entrypoints_[k.object]];
    } else if ((k.kind == Shard::kRouter || k.kind == Shard::kService) && k.object < live_.size() &&
               live_[k.object]) {
      auto& group = k.kind == Shard::kRouter ? routers : services;
      const std::string& name = names_[k.object];
      if (!group.contains(name)) group[name] = empty();
      j = &group[name];
    }
    if (j == nullptr) continue;
    (*j)["requests"] = (*j)["requests"].get<std::uint64_t>() + sums.count;
    if (k.code >= 100 && k.code < 600) {
      const std::string cls = std::to_string(k.code / 100) + "xx";
      auto& c = (*j)["status"][cls];
      c = c.get<std::uint64_t>() + sums.count;
    }
  }
  const double uptime =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  return {{"uptimeSeconds", uptime}, {"entryPoints", eps}, {"routers", routers},
          {"services", services}};
}

}  // namespace portier::observability
