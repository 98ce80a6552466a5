// Metrics shards and the exposition: sums over workers, buckets, label escaping, a full series
// table, live names, and a reader running while a worker writes.
#include "observability/metrics.h"

#include <gtest/gtest.h>

#include <thread>

namespace portier::observability {
namespace {

using namespace std::chrono_literals;

Observation obs(int code, std::chrono::nanoseconds d, std::uint32_t router = 0,
                std::uint32_t service = 0) {
  Observation o;
  o.entrypoint = 0;
  o.router = router;
  o.service = service;
  o.code = code;
  o.method = method_id("GET");
  o.duration = d;
  o.request_bytes = 3;
  o.response_bytes = 5;
  return o;
}

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

TEST(MetricsShard, SumsShardsIntoTraefikFamilies) {
  MetricsOptions mo;
  mo.add_routers_labels = true;
  Metrics m(mo, {"web"}, 2);
  const auto r = m.intern("app@file"), s = m.intern("s@file");
  EXPECT_EQ(m.intern("app@file"), r);  // stable
  m.set_live({r, s});
  m.shard(0).observe(obs(200, 50ms, r, s));
  m.shard(1).observe(obs(200, 2s, r, s));
  m.shard(1).observe(obs(404, 1ms));
  const std::string t = m.prometheus_text();
  EXPECT_TRUE(has_line(
      t, "traefik_entrypoint_requests_total{code=\"200\",entrypoint=\"web\",method=\"GET\","
         "protocol=\"http\"} 2"))
      << t;
  EXPECT_TRUE(has_line(t, "traefik_entrypoint_request_duration_seconds_bucket{code=\"200\","
                          "entrypoint=\"web\",method=\"GET\",protocol=\"http\",le=\"0.1\"} 1"));
  EXPECT_TRUE(has_line(t, "traefik_entrypoint_request_duration_seconds_bucket{code=\"200\","
                          "entrypoint=\"web\",method=\"GET\",protocol=\"http\",le=\"1.2\"} 1"));
  EXPECT_TRUE(has_line(t, "traefik_entrypoint_request_duration_seconds_bucket{code=\"200\","
                          "entrypoint=\"web\",method=\"GET\",protocol=\"http\",le=\"5\"} 2"));
  EXPECT_TRUE(has_line(t, "traefik_entrypoint_request_duration_seconds_sum{code=\"200\","
                          "entrypoint=\"web\",method=\"GET\",protocol=\"http\"} 2.05"));
  EXPECT_TRUE(has_line(t, "traefik_entrypoint_requests_bytes_total{code=\"404\","
                          "entrypoint=\"web\",method=\"GET\",protocol=\"http\"} 3"));
  EXPECT_TRUE(has_line(t, "traefik_router_requests_total{code=\"200\",method=\"GET\","
                          "protocol=\"http\",router=\"app@file\",service=\"s@file\"} 2"));
  EXPECT_TRUE(has_line(t, "traefik_service_responses_bytes_total{code=\"200\",method=\"GET\","
                          "protocol=\"http\",service=\"s@file\"} 10"));
  EXPECT_TRUE(has_line(t, "# TYPE traefik_entrypoint_request_duration_seconds histogram"));

  // No longer in the configuration: its series are not exposed.
  m.set_live({});
  const std::string after = m.prometheus_text();
  EXPECT_EQ(after.find("app@file"), std::string::npos);
  EXPECT_NE(after.find("traefik_entrypoint_requests_total{"), std::string::npos);
}

TEST(MetricsShard, MethodsAndLabelValuesAreBounded) {
  EXPECT_EQ(method_name(method_id("PATCH")), "PATCH");
  EXPECT_EQ(method_name(method_id("BREW")), "EXTENSION_METHOD");
  EXPECT_EQ(method_name(method_id("get")), "EXTENSION_METHOD");  // methods are case-sensitive
  Metrics m({}, {"web"}, 1);
  const auto s = m.intern("we\"ird\\name\n");
  m.set_live({s});
  m.shard(0).observe(obs(200, 1ms, 0, s));
  EXPECT_NE(m.prometheus_text().find("service=\"we\\\"ird\\\\name\\n\""), std::string::npos);
}

TEST(MetricsShard, AFullSeriesTableDropsAndCounts) {
  Metrics m({}, {"web"}, 1);
  std::vector<std::uint32_t> live;
  // Each service is a new series (plus the one entrypoint series per code).
  for (std::size_t i = 0; i < Shard::kSlots + 10; ++i) {
    live.push_back(m.intern("s" + std::to_string(i)));
    m.shard(0).observe(obs(200, 1ms, 0, live.back()));
  }
  EXPECT_GE(m.shard(0).dropped_series(), 10u);
  m.set_live(live);
  EXPECT_NE(m.prometheus_text().find("portier_metrics_series_dropped_total "),
            std::string::npos);
}

TEST(MetricsShard, TrafficJsonByStatusClass) {
  Metrics m({}, {"web", "websecure"}, 1);
  const auto r = m.intern("app@file"), s = m.intern("s@file");
  m.set_live({r, s});
  m.shard(0).observe(obs(200, 1ms, r, s));
  m.shard(0).observe(obs(503, 1ms, r, s));
  m.shard(0).connection_opened(1);
  const auto j = m.traffic_json();
  EXPECT_EQ(j["entryPoints"]["web"]["requests"], 2);
  EXPECT_EQ(j["entryPoints"]["web"]["status"]["5xx"], 1);
  EXPECT_EQ(j["entryPoints"]["websecure"]["requests"], 0);
  EXPECT_EQ(j["entryPoints"]["websecure"]["openConnections"], 1);
  EXPECT_EQ(j["routers"]["app@file"]["status"]["2xx"], 1);
  EXPECT_EQ(j["services"]["s@file"]["requests"], 2);
  EXPECT_TRUE(j["uptimeSeconds"].is_number());
}

TEST(MetricsShard, ScrapesWhileAWorkerWrites) {
  Metrics m({}, {"web"}, 1);
  const auto s = m.intern("s@file");
  m.set_live({s});
  constexpr int kRequests = 200000;
  std::thread worker([&] {
    for (int i = 0; i < kRequests; ++i) m.shard(0).observe(obs(200 + i % 3, 1ms, 0, s));
  });
  std::uint64_t last = 0;
  for (int i = 0; i < 50; ++i) {
    const auto j = m.traffic_json();
    const auto n = j["services"].contains("s@file")
                       ? j["services"]["s@file"]["requests"].get<std::uint64_t>()
                       : 0;
    EXPECT_GE(n, last);  // counts only grow
    last = n;
  }
  worker.join();
  EXPECT_EQ(m.traffic_json()["services"]["s@file"]["requests"], kRequests);
}

}  // namespace
}  // namespace portier::observability
