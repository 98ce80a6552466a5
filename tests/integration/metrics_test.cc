// Prometheus metrics: Traefik's names and labels counted from real requests, /metrics on the
// `traefik` entrypoint (or through a router with manualRouting, or on api.insecure's listener),
// and a real Prometheus (Debian's) scraping portier and answering queries about it.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "support/metrics.h"
#include "support/net.h"
#include "support/process.h"

namespace portier::test {
namespace {

using namespace std::chrono_literals;

std::string dynamic_for(const Whoami& w, bool with_second_router = true) {
  std::string d =
      "http:\n  routers:\n    app:\n      rule: \"Host(`app.localhost`)\"\n      service: s\n";
  if (with_second_router) {
    d += "    other:\n      rule: \"Host(`other.localhost`)\"\n      service: s\n";
  }
  d += "  services:\n    s:\n      loadBalancer:\n        servers:\n          - url: \"" + w.url() +
       "\"\n";
  return d;
}

// Scrapes until `settled` holds (5 s at most) and returns the last scrape. A request is counted
// once its response has been written, so a client can hold its answer a moment before the
// counters move; reading them once right after would race.
std::vector<MetricSample> scrape_settled(
    int port, const std::function<bool(const std::vector<MetricSample>&)>& settled,
    const std::string& host = "x") {
  std::vector<MetricSample> m;
  poll_until(
      [&] {
        m = scrape_metrics(port, host);
        return settled(m);
      },
      5s);
  return m;
}

const char* kStatic =
    "entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\n"
    "  traefik:\n    address: \"127.0.0.1:0\"\n"
    "providers:\n  file:\n    filename: dynamic.yml\n";

TEST(Metrics, CountsRequestsByEntrypointRouterAndService) {
  TempDir dir;
  Whoami w = start_whoami(dir, "metrics");
  const std::string static_yaml = std::string(kStatic) +
                                  "metrics:\n  prometheus:\n    addRoutersLabels: true\n"
                                  "    buckets: [0.05, 2]\n";
  Portier p = start_portier_static(dir, static_yaml, dynamic_for(w), {"web", "traefik"});
  const int web = p.port, traefik = p.ports.at("traefik");

  for (int i = 0; i < 5; ++i) {
    auto r = http_get(web, "app.localhost", "/");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200);
  }
  for (int i = 0; i < 2; ++i) {
    Conn c(web);
    ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: other.localhost\r\nContent-Length: 10\r\n"
                       "Connection: close\r\n\r\n0123456789"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200);
  }
  for (int i = 0; i < 3; ++i) {
    auto r = http_get(web, "nobody.localhost", "/");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 404);
  }
  Conn held(web);  // an open keep-alive connection
  ASSERT_TRUE(held.send("GET / HTTP/1.1\r\nHost: app.localhost\r\n\r\n"));
  ASSERT_TRUE(held.read_response());

  const std::map<std::string, std::string> web_get200{
      {"entrypoint", "web"}, {"code", "200"}, {"method", "GET"}, {"protocol", "http"}};
  auto m = scrape_settled(traefik, [](const auto& m) {
    return metric_value(m, "traefik_entrypoint_requests_total", {{"entrypoint", "web"}}) >= 11;
  });
  EXPECT_EQ(metric_value(m, "traefik_entrypoint_requests_total", web_get200), 6);
  EXPECT_EQ(metric_value(m, "traefik_entrypoint_requests_total",
                  {{"entrypoint", "web"}, {"code", "200"}, {"method", "POST"}}),
            2);
  EXPECT_EQ(metric_value(m, "traefik_entrypoint_requests_total",
                  {{"entrypoint", "web"}, {"code", "404"}}),
            3);
  EXPECT_EQ(metric_value(m, "traefik_entrypoint_requests_bytes_total",
                  {{"entrypoint", "web"}, {"method", "POST"}}),
            20);
  EXPECT_EQ(metric_value(m, "traefik_entrypoint_responses_bytes_total",
                  {{"entrypoint", "web"}, {"code", "404"}}),
            3 * 19);  // "404 page not found\n"
  EXPECT_GT(metric_value(m, "traefik_entrypoint_responses_bytes_total", web_get200), 0);
  // The histogram: the configured buckets, cumulative, +Inf equal to the count.
  auto bucket = [&](const std::string& le) {
    auto l = web_get200;
    l["le"] = le;
    return metric_value(m, "traefik_entrypoint_request_duration_seconds_bucket", l);
  };
  EXPECT_EQ(bucket("+Inf"), 6);
  EXPECT_LE(bucket("0.05"), bucket("2"));
  EXPECT_EQ(bucket("0.3"), -1);  // not a configured bucket
  EXPECT_EQ(metric_value(m, "traefik_entrypoint_request_duration_seconds_count", web_get200), 6);
  EXPECT_GT(metric_value(m, "traefik_entrypoint_request_duration_seconds_sum", web_get200), 0);

  EXPECT_EQ(metric_value(m, "traefik_router_requests_total",
                  {{"router", "app@file"}, {"service", "s@file"}, {"code", "200"}}),
            6);
  EXPECT_EQ(metric_value(m, "traefik_router_requests_total", {{"router", "other@file"}}), 2);
  EXPECT_EQ(metric_value(m, "traefik_router_requests_total", {{"code", "404"}}), -1);  // no router
  EXPECT_EQ(metric_value(m, "traefik_service_requests_total", {{"service", "s@file"}}), 8);
  EXPECT_EQ(metric_value(m, "traefik_service_requests_bytes_total", {{"service", "s@file"}}), 20);
  EXPECT_EQ(metric_value(m, "traefik_service_server_up", {{"service", "s@file"}, {"url", w.url()}}), 1);
  EXPECT_GE(metric_value(m, "traefik_open_connections", {{"entrypoint", "web"}, {"protocol", "TCP"}}),
            1);
  EXPECT_GE(metric_value(m, "traefik_config_reloads_total"), 1);
  EXPECT_GT(metric_value(m, "traefik_config_last_reload_success"), 1.7e9);
  // Scrapes are not counted (metrics.addInternals is off).
  EXPECT_EQ(metric_value(m, "traefik_entrypoint_requests_total", {{"entrypoint", "traefik"}}), -1);
  auto again = scrape_metrics(traefik);
  EXPECT_EQ(metric_value(again, "traefik_entrypoint_requests_total", {{"entrypoint", "traefik"}}), -1);
}

TEST(Metrics, RoutersLabelsOffByDefaultAndRemovedObjectsLeave) {
  TempDir dir;
  Whoami w = start_whoami(dir, "metrics-reload");
  const std::string static_yaml = std::string(kStatic) + "metrics:\n  prometheus: {}\n";
  Portier p = start_portier_static(dir, static_yaml, dynamic_for(w), {"web", "traefik"});
  const int web = p.port, traefik = p.ports.at("traefik");
  ASSERT_TRUE(http_get(web, "app.localhost", "/"));
  auto m = scrape_settled(traefik, [](const auto& m) {
    return metric_value(m, "traefik_service_requests_total", {{"service", "s@file"}}) >= 1;
  });
  EXPECT_EQ(metric_value(m, "traefik_router_requests_total"), -1);  // addRoutersLabels: false
  EXPECT_EQ(metric_value(m, "traefik_service_requests_total", {{"service", "s@file"}}), 1);
  const double reloads = metric_value(m, "traefik_config_reloads_total");

  // The service is renamed: its old series go, the reload is counted.
  std::string renamed = dynamic_for(w, false);
  renamed.replace(renamed.find("service: s\n"), 11, "service: t\n");
  renamed.replace(renamed.find("    s:\n"), 7, "    t:\n");
  dir.write("dynamic.yml", renamed);
  ASSERT_TRUE(poll_until(
      [&] { return metric_value(scrape_metrics(traefik), "traefik_config_reloads_total") > reloads; }, 5s));
  ASSERT_TRUE(poll_until(
      [&] {
        auto r = http_get(web, "app.localhost", "/");
        return r && r->status == 200 &&
               metric_value(scrape_metrics(traefik), "traefik_service_requests_total", {{"service", "t@file"}}) >=
                   1;
      },
      5s));
  m = scrape_metrics(traefik);
  EXPECT_EQ(metric_value(m, "traefik_service_requests_total", {{"service", "s@file"}}), -1);
  EXPECT_EQ(metric_value(m, "traefik_service_server_up", {{"service", "s@file"}}), -1);
  EXPECT_EQ(metric_value(m, "traefik_service_server_up", {{"service", "t@file"}}), 1);
}

TEST(Metrics, ServerDownByHealthCheckIsZeroAndRetriesAreCounted) {
  TempDir dir;
  Whoami w = start_whoami(dir, "metrics-health");
  const int dead = free_port();
  const std::string dyn =
      "http:\n  routers:\n    app:\n      rule: \"Host(`app.localhost`)\"\n      service: s\n"
      "      middlewares: [again]\n"
      "  middlewares:\n    again:\n      retry:\n        attempts: 3\n"
      "  services:\n    s:\n      loadBalancer:\n        servers:\n"
      "          - url: \"" + w.url() + "\"\n"
      "          - url: \"http://127.0.0.1:" + std::to_string(dead) + "\"\n"
      "    checked:\n      loadBalancer:\n        healthCheck:\n          path: /health\n"
      "          interval: 100ms\n          timeout: 50ms\n        servers:\n"
      "          - url: \"http://127.0.0.1:" + std::to_string(dead) + "\"\n";
  const std::string static_yaml = std::string(kStatic) + "metrics:\n  prometheus: {}\n";
  Portier p = start_portier_static(dir, static_yaml, dyn, {"web", "traefik"});
  const int traefik = p.ports.at("traefik");
  ASSERT_TRUE(poll_until(
      [&] {
        return metric_value(scrape_metrics(traefik), "traefik_service_server_up", {{"service", "checked@file"}}) ==
               0;
      },
      5s));
  // Round robin sends some of these to the dead server first; the retry takes them elsewhere.
  for (int i = 0; i < 6; ++i) {
    auto r = http_get(p.port, "app.localhost", "/");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  auto m = scrape_settled(traefik, [](const auto& m) {
    return metric_value(m, "traefik_service_requests_total", {{"service", "s@file"}}) >= 6;
  });
  EXPECT_GE(metric_value(m, "traefik_service_retries_total", {{"service", "s@file"}}), 1);
  EXPECT_EQ(metric_value(m, "traefik_service_requests_total", {{"service", "s@file"}, {"code", "200"}}),
            6);
}

TEST(Metrics, ManualRoutingServesOnlyThroughARouter) {
  TempDir dir;
  Whoami w = start_whoami(dir, "metrics-manual");
  std::string dyn = dynamic_for(w, false);
  dyn.replace(dyn.find("  services:"), 0,
              "    metrics:\n      rule: \"Host(`metrics.localhost`)\"\n"
              "      service: prometheus@internal\n");
  const std::string static_yaml =
      std::string(kStatic) + "metrics:\n  addInternals: true\n  prometheus:\n    manualRouting: true\n";
  Portier p = start_portier_static(dir, static_yaml, dyn, {"web", "traefik"});
  auto none = http_get(p.ports.at("traefik"), "x", "/metrics");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 404);
  ASSERT_TRUE(http_get(p.port, "app.localhost", "/"));
  auto m = scrape_settled(
      p.port,
      [](const auto& m) {
        return metric_value(m, "traefik_service_requests_total", {{"service", "s@file"}}) >= 1;
      },
      "metrics.localhost");
  EXPECT_EQ(metric_value(m, "traefik_service_requests_total", {{"service", "s@file"}}), 1);
  // addInternals: the scrapes through the router are counted too (by a later scrape).
  m = scrape_settled(
      p.port,
      [](const auto& m) {
        return metric_value(m, "traefik_service_requests_total", {{"service", "prometheus@internal"}}) >= 1;
      },
      "metrics.localhost");
  EXPECT_GE(metric_value(m, "traefik_service_requests_total", {{"service", "prometheus@internal"}}), 1);
}

TEST(Metrics, OnTheApiListenerWithApiInsecure) {
  TempDir dir;
  Whoami w = start_whoami(dir, "metrics-api");
  const std::string static_yaml =
      "entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\n"
      "  traefik:\n    address: \"127.0.0.1:0\"\n"
      "providers:\n  file:\n    filename: dynamic.yml\n"
      "api:\n  insecure: true\nmetrics:\n  prometheus: {}\n";
  dir.write("dynamic.yml", dynamic_for(w));
  dir.write("portier.yml", static_yaml);
  auto proc = Process::start({PORTIER_BIN, "--configFile=" + (dir.path() / "portier.yml").string()},
                             dir.path() / "portier.log");
  auto api = proc->wait_for_log("api listening\" entrypoint=traefik address=127\\.0\\.0\\.1:([0-9]+)",
                                5s);
  ASSERT_TRUE(api) << proc->log();
  auto web = proc->wait_for_log("entrypoint=web address=127\\.0\\.0\\.1:([0-9]+)", 5s);
  ASSERT_TRUE(web);
  ASSERT_TRUE(proc->wait_for_log("(configuration applied)", 5s));
  ASSERT_TRUE(http_get(std::stoi(*web), "app.localhost", "/"));
  auto m = scrape_settled(std::stoi(*api), [](const auto& m) {
    return metric_value(m, "traefik_entrypoint_requests_total", {{"entrypoint", "web"}}) >= 1;
  });
  EXPECT_EQ(metric_value(m, "traefik_entrypoint_requests_total", {{"entrypoint", "web"}}), 1);
}

// A real Prometheus scrapes portier every 200 ms; its query API must see what was sent.
TEST(Prometheus, ScrapesPortierAndAnswersQueries) {
  const char* bin = "/usr/bin/prometheus";
  ASSERT_TRUE(std::filesystem::exists(bin)) << "prometheus is installed by tools/deps.sh test";
  TempDir dir;
  Whoami w = start_whoami(dir, "prom");
  const std::string static_yaml =
      std::string(kStatic) + "metrics:\n  prometheus:\n    addRoutersLabels: true\n";
  Portier p = start_portier_static(dir, static_yaml, dynamic_for(w), {"web", "traefik"});
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(http_get(p.port, "app.localhost", "/"));
  ASSERT_TRUE(http_get(p.port, "nobody.localhost", "/"));

  const int prom_port = free_port();
  dir.write("prometheus.yml",
            "global:\n  scrape_interval: 200ms\n  evaluation_interval: 1s\n"
            "scrape_configs:\n  - job_name: portier\n    static_configs:\n"
            "      - targets: [\"127.0.0.1:" +
                std::to_string(p.ports.at("traefik")) + "\"]\n");
  auto prom = Process::start(
      {bin, "--config.file=" + (dir.path() / "prometheus.yml").string(),
       "--storage.tsdb.path=" + (dir.path() / "tsdb").string(),
       "--web.listen-address=127.0.0.1:" + std::to_string(prom_port), "--log.level=warn"},
      dir.path() / "prometheus.log");
  auto query = [&](const std::string& q) -> std::optional<double> {
    std::string escaped;
    for (unsigned char c : q) {
      if (std::isalnum(c) || c == '_') {
        escaped.push_back(static_cast<char>(c));
      } else {
        char buf[4];
        std::snprintf(buf, sizeof buf, "%%%02X", c);
        escaped += buf;
      }
    }
    std::optional<Response> r;
    try {
      r = http_get(prom_port, "127.0.0.1", "/api/v1/query?query=" + escaped);
    } catch (const std::exception&) {
      return std::nullopt;  // not listening yet
    }
    if (!r || r->status != 200) return std::nullopt;
    auto j = nlohmann::json::parse(r->body, nullptr, false);
    if (j.is_discarded() || j["status"] != "success" || j["data"]["result"].empty()) {
      return std::nullopt;
    }
    return std::stod(j["data"]["result"][0]["value"][1].get<std::string>());
  };
  std::optional<double> got;
  ASSERT_TRUE(poll_until(
      [&] {
        got = query("sum(traefik_entrypoint_requests_total{entrypoint=\"web\",code=\"200\"})");
        return got && *got == 7;
      },
      20s))
      << (got ? std::to_string(*got) : "no answer") << "\n"
      << prom->log();
  EXPECT_EQ(query("traefik_router_requests_total{router=\"app@file\",service=\"s@file\"}"), 7);
  EXPECT_EQ(query("sum(traefik_entrypoint_requests_total{code=\"404\"})"), 1);
  EXPECT_EQ(query("up{job=\"portier\"}"), 1);  // the scrape itself succeeded
  EXPECT_EQ(query("traefik_service_server_up{service=\"s@file\"}"), 1);
  // A histogram quantile over the duration buckets: Prometheus understood the histogram.
  auto q = query(
      "histogram_quantile(0.5, sum by (le) "
      "(traefik_entrypoint_request_duration_seconds_bucket{entrypoint=\"web\"}))");
  ASSERT_TRUE(q);
  EXPECT_GT(*q, 0);
  EXPECT_LE(*q, 0.1);
}

}  // namespace
}  // namespace portier::test
