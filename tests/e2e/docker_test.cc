// The Docker provider against a real Docker Engine (started by DockerEnv): containers with
// labels become routes and stop being routes, Traefik's defaults, health and pause, label
// typos, middlewares from labels and from files, a daemon restart, and HTTPS from a
// certificate resolver (against a real Pebble).
//
// Containers run with --network host, each whoami on its own loopback port: traffic stays on
// 127.0.0.1, and such containers are routed to 127.0.0.1 and the port from their label.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "e2e/docker_env.h"
#include "support/metrics.h"
#include "support/net.h"
#include "support/pebble.h"
#include "support/process.h"

namespace portier::test {
namespace {

using namespace std::chrono_literals;
using Labels = std::vector<std::pair<std::string, std::string>>;

class DockerTest : public ::testing::Test {
 protected:
  void SetUp() override { require_docker(); }
  void TearDown() override {
    for (const auto& name : started_) DockerEnv::get().docker("rm -f " + name);
  }

  Portier start_portier_docker(const std::string& docker_options = "",
                               const std::string& dynamic = "") {
    // The API (when docker_options ask for it) on a port of its own: the default
    // 127.0.0.1:8080 is shared by every test binary that runs at the same time.
    return start_portier(
        dir_, dynamic, "  traefik:\n    address: \"127.0.0.1:0\"\n",
        "  docker:\n    endpoint: \"" + DockerEnv::get().endpoint() + "\"\n" + docker_options, 1);
  }

  // Runs whoami `name` on a free loopback port (or `fixed_port`) with these labels; returns
  // the port.
  int run(const std::string& name, Labels labels, const std::string& extra = "",
          bool with_port_label = true, int fixed_port = 0) {
    int port = fixed_port != 0 ? fixed_port : free_port();
    std::string cmd = "run -d --name " + name + " --network host --stop-timeout 2 " + extra;
    if (with_port_label) {
      labels.emplace_back("traefik.http.services." + name + ".loadbalancer.server.port",
                          std::to_string(port));
    }
    for (const auto& [k, v] : labels) cmd += " -l '" + k + "=" + v + "'";
    cmd += std::string(" ") + DockerEnv::kImage + " --addr 127.0.0.1:" + std::to_string(port) +
           " --name " + name;
    std::string out;
    EXPECT_EQ(DockerEnv::get().docker(cmd, &out), 0) << out;
    started_.push_back(name);
    return port;
  }

  static bool served_by(int port, const std::string& host, const std::string& name,
                        std::chrono::milliseconds timeout = 10s) {
    return poll_until(
        [&] {
          auto r = http_get(port, host, "/");
          return r && r->status == 200 && r->body.find("Name: " + name) != std::string::npos;
        },
        timeout);
  }
  static bool not_found(int port, const std::string& host) {
    return poll_until(
        [&] {
          auto r = http_get(port, host, "/");
          return r && r->status == 404;
        },
        10s);
  }

  TempDir dir_;
  std::vector<std::string> started_;
};

TEST_F(DockerTest, LabelledContainerIsRoutedWhileItRuns) {
  Portier p = start_portier_docker();
  run("e2e-web", {{"traefik.http.routers.web.rule", "Host(`web.localhost`)"}});
  ASSERT_TRUE(served_by(p.port, "web.localhost", "e2e-web")) << p.proc->log();
  DockerEnv::get().docker("stop e2e-web");
  EXPECT_TRUE(not_found(p.port, "web.localhost")) << "stopped containers get no traffic";
  DockerEnv::get().docker("start e2e-web");
  EXPECT_TRUE(served_by(p.port, "web.localhost", "e2e-web"));
  DockerEnv::get().docker("kill e2e-web");
  EXPECT_TRUE(not_found(p.port, "web.localhost")) << "a dead container gets no traffic";
}

// traefik.docker.allownonrunning: a stopped container keeps its route and answers 503 instead of
// 404, including a container that was never started; Traefik v1 labels are only a warning.
TEST_F(DockerTest, AllowNonRunningAnswers503WhileStopped) {
  Portier p = start_portier_docker();
  run("e2e-nonrun", {{"traefik.http.routers.nonrun.rule", "Host(`nonrun.localhost`)"},
                     {"traefik.docker.allownonrunning", "true"},
                     {"traefik.port", "8080"}});
  ASSERT_TRUE(served_by(p.port, "nonrun.localhost", "e2e-nonrun")) << p.proc->log();
  EXPECT_TRUE(p.proc->wait_for_log("Traefik v1 label, ignored: port", 5s)) << p.proc->log();
  auto status_is = [&](int status) {
    return poll_until(
        [&] {
          auto r = http_get(p.port, "nonrun.localhost", "/");
          return r && r->status == status;
        },
        10s);
  };
  DockerEnv::get().docker("stop e2e-nonrun");
  EXPECT_TRUE(status_is(503)) << "a stopped container that allows it keeps its route";
  DockerEnv::get().docker("start e2e-nonrun");
  EXPECT_TRUE(served_by(p.port, "nonrun.localhost", "e2e-nonrun"));
}

// `portier check --containers` reads the Engine's containers and reports their label problems.
TEST_F(DockerTest, CheckReportsContainerLabelProblems) {
  run("e2e-chk", {{"traefik.http.routers.chk.rulle", "Host(`chk.localhost`)"}});
  auto check = run_check(dir_, "  docker:\n    endpoint: \"" + DockerEnv::get().endpoint() + "\"\n");
  ASSERT_TRUE(check);
  EXPECT_EQ(check->code, 1) << check->log;
  EXPECT_NE(check->log.find("error: container e2e-chk (router chk): "), std::string::npos)
      << check->log;
  EXPECT_NE(check->log.find("did you mean `http.routers.chk.rule`?"), std::string::npos)
      << check->log;
}

// The label corpus (tests/corpus-labels/*): compose-style label sets as Traefik's docs write
// them, each container routed as its labels say.
TEST_F(DockerTest, LabelCorpus) {
  namespace fs = std::filesystem;
  Portier p = start_portier_docker();
  struct Request {
    std::string corpus, line;
  };
  std::vector<Request> requests;
  std::vector<fs::path> cases;
  for (const auto& e : fs::directory_iterator(CORPUS_LABELS_DIR)) {
    if (e.is_directory()) cases.push_back(e.path());
  }
  std::sort(cases.begin(), cases.end());
  ASSERT_FALSE(cases.empty());
  auto lines_of = [](const fs::path& f) {
    std::vector<std::string> out;
    std::ifstream in(f);
    for (std::string l; std::getline(in, l);) {
      if (!l.empty() && l[0] != '#') out.push_back(l);
    }
    return out;
  };
  for (const auto& c : cases) {
    for (const auto& f : fs::directory_iterator(c)) {
      if (f.path().extension() != ".labels") continue;
      const int port = free_port();
      Labels labels;
      for (std::string l : lines_of(f.path())) {
        for (auto at = l.find("{{PORT}}"); at != std::string::npos; at = l.find("{{PORT}}")) {
          l.replace(at, 8, std::to_string(port));
        }
        const auto eq = l.find('=');
        labels.emplace_back(l.substr(0, eq), l.substr(eq + 1));
      }
      run("corpus-" + f.path().stem().string(), labels, "", false, port);
    }
    for (const auto& l : lines_of(c / "requests")) requests.push_back({c.filename(), l});
  }
  for (const auto& r : requests) {
    SCOPED_TRACE(r.corpus + ": " + r.line);
    std::istringstream in(r.line);
    std::string host, path;
    int status = 0;
    in >> host >> path >> status;
    const std::vector<std::string> checks = read_checks(in);
    // Containers come up one by one: wait for each answer (with a deadline), then check it.
    std::optional<Response> got;
    poll_until(
        [&] {
          got = http_get(p.port, host, path);
          return got && got->status == status;
        },
        15s);
    ASSERT_TRUE(got) << p.proc->log();
    EXPECT_EQ(got->status, status) << got->body << p.proc->log();
    expect_checks(*got, checks);
  }
}

TEST_F(DockerTest, DefaultRuleAndExposedByDefault) {
  Portier p = start_portier_docker();
  run("e2e-dflt", {});  // no router label: Host(`e2e-dflt`) by defaultRule
  EXPECT_TRUE(served_by(p.port, "e2e-dflt", "e2e-dflt")) << p.proc->log();

  Portier opt_in = start_portier_docker("    exposedByDefault: false\n");
  run("e2e-hidden", {{"traefik.http.routers.hidden.rule", "Host(`hidden.localhost`)"}});
  run("e2e-shown",
      {{"traefik.enable", "true"}, {"traefik.http.routers.shown.rule", "Host(`shown.localhost`)"}});
  EXPECT_TRUE(served_by(opt_in.port, "shown.localhost", "e2e-shown"));
  auto hidden = http_get(opt_in.port, "hidden.localhost", "/");
  ASSERT_TRUE(hidden);
  EXPECT_EQ(hidden->status, 404);
}

TEST_F(DockerTest, ReplicasShareOneService) {
  Portier p = start_portier_docker();
  Labels compose = {{"com.docker.compose.project", "demo"},
                    {"com.docker.compose.service", "api"},
                    {"traefik.http.routers.api.rule", "Host(`api.localhost`)"}};
  // Two replicas of one compose service. With host networking each listens on its own port,
  // so each names its server with the per-container url label; everything else is identical,
  // which is what lets them merge into one service with two servers.
  for (const std::string name : {"e2e-api-1", "e2e-api-2"}) {
    int port = free_port();
    Labels l = compose;
    l.emplace_back("traefik.http.services.api-demo.loadbalancer.server.url",
                   "http://127.0.0.1:" + std::to_string(port));
    std::string cmd = "run -d --name " + name + " --network host";
    for (const auto& [k, v] : l) cmd += " -l '" + k + "=" + v + "'";
    cmd += std::string(" ") + DockerEnv::kImage + " --addr 127.0.0.1:" + std::to_string(port) +
           " --name " + name;
    ASSERT_EQ(DockerEnv::get().docker(cmd), 0);
    started_.push_back(name);
  }
  std::set<std::string> seen;
  ASSERT_TRUE(poll_until(
      [&] {
        auto r = http_get(p.port, "api.localhost", "/");
        if (r && r->status == 200) {
          for (const char* n : {"e2e-api-1", "e2e-api-2"}) {
            if (r->body.find(std::string("Name: ") + n) != std::string::npos) seen.insert(n);
          }
        }
        return seen.size() == 2;
      },
      10s))
      << p.proc->log();
}

TEST_F(DockerTest, UnhealthyAndPausedGetNoTraffic) {
  Portier p = start_portier_docker("api:\n  insecure: true\nmetrics:\n  prometheus: {}\n");
  auto api = p.proc->wait_for_log(
      "api listening\" entrypoint=traefik address=127\\.0\\.0\\.1:([0-9]+)", 5s);
  ASSERT_TRUE(api) << p.proc->log();
  // What the API says of the container's server (Traefik's serverStatus).
  auto server_status = [&]() -> std::string {
    auto r = http_get(std::stoi(*api), "x", "/api/http/services/h@docker");
    if (!r || r->status != 200) return "";
    auto j = nlohmann::json::parse(r->body, nullptr, false);
    if (!j.contains("serverStatus") || !j["serverStatus"].is_object() ||
        j["serverStatus"].empty()) {
      return "";
    }
    return j["serverStatus"].begin()->get<std::string>();
  };
  int port = free_port();
  // Healthy while whoami's /health says 200; busybox wget runs the check inside the container.
  std::string health =
      "--health-cmd '/bin/busybox wget -q -O /dev/null http://127.0.0.1:" + std::to_string(port) +
      "/health' --health-interval 1s --health-retries 1 --health-timeout 1s";
  std::string cmd =
      "run -d --name e2e-health --network host " + health +
      " -l 'traefik.http.routers.h.rule=Host(`health.localhost`)'" +
      " -l 'traefik.http.services.h.loadbalancer.server.port=" + std::to_string(port) + "' " +
      DockerEnv::kImage + " --addr 127.0.0.1:" + std::to_string(port) + " --name e2e-health";
  ASSERT_EQ(DockerEnv::get().docker(cmd), 0);
  started_.push_back("e2e-health");
  ASSERT_TRUE(served_by(p.port, "health.localhost", "e2e-health", 15s)) << p.proc->log();
  Conn set(port);
  set.send("POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n500");
  ASSERT_TRUE(set.read_response());
  // Unhealthy: the server stays, DOWN, out of the rotation; its only server down gives 503.
  EXPECT_TRUE(poll_until(
      [&] {
        auto r = http_get(p.port, "health.localhost", "/");
        return r && r->status == 503;
      },
      10s))
      << "unhealthy: no traffic";
  EXPECT_EQ(server_status(), "DOWN");
  // The metrics say so too, and count the Docker events that told portier.

  auto m = scrape_metrics(std::stoi(*api));
  EXPECT_EQ(metric_value(m, "traefik_service_server_up", {{"service", "h@docker"}}), 0);
  EXPECT_GE(metric_value(m, "portier_docker_events_total"), 2);  // start, health_status at least
  Conn back(port);
  back.send("POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n200");
  ASSERT_TRUE(back.read_response());
  EXPECT_TRUE(served_by(p.port, "health.localhost", "e2e-health", 15s)) << "healthy again";
  EXPECT_EQ(server_status(), "UP");

  run("e2e-pause", {{"traefik.http.routers.pz.rule", "Host(`pause.localhost`)"}});
  ASSERT_TRUE(served_by(p.port, "pause.localhost", "e2e-pause"));
  DockerEnv::get().docker("pause e2e-pause");
  EXPECT_TRUE(not_found(p.port, "pause.localhost")) << "paused: no traffic";
  DockerEnv::get().docker("unpause e2e-pause");
  EXPECT_TRUE(served_by(p.port, "pause.localhost", "e2e-pause"));
}

TEST_F(DockerTest, LabelTypoIsReportedAndOnlyItsRouterDisabled) {
  Portier p = start_portier_docker();
  run("e2e-typo", {{"traefik.http.routers.bad.rulle", "Host(`bad.localhost`)"},
                   {"traefik.http.routers.good.rule", "Host(`good.localhost`)"}});
  EXPECT_TRUE(served_by(p.port, "good.localhost", "e2e-typo")) << p.proc->log();
  EXPECT_TRUE(
      p.proc->wait_for_log("container=e2e-typo object=\"router bad\".*did you mean "
                           "`http.routers.bad.rule`\\?",
                           5s))
      << p.proc->log();
  // ...and the router is in the configuration as disabled, with the reason, for the API.
  EXPECT_TRUE(p.proc->wait_for_log(
      "configuration object disabled\" object=\"router bad@docker\" error=\"container e2e-typo:",
      5s))
      << p.proc->log();
}

TEST_F(DockerTest, MiddlewaresFromLabelsAndFromFiles) {
  std::string dynamic =
      "http:\n  middlewares:\n    stamp:\n      headers:\n        customResponseHeaders:\n"
      "          X-From-File: \"yes\"\n";
  Portier p = start_portier_docker("", dynamic);
  run("e2e-mw", {{"traefik.http.routers.mw.rule", "Host(`mw.localhost`)"},
                 {"traefik.http.routers.mw.middlewares", "strip,stamp@file"},
                 {"traefik.http.middlewares.strip.stripprefix.prefixes", "/api"}});
  ASSERT_TRUE(served_by(p.port, "mw.localhost", "e2e-mw")) << p.proc->log();
  auto r = http_get(p.port, "mw.localhost", "/api/users");
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("GET /users HTTP/1.1"), std::string::npos) << r->body;
  EXPECT_EQ(r->header("x-from-file"), "yes");
}

TEST_F(DockerTest, TcpEndpointWithTlsClientCertificates) {
  auto& env = DockerEnv::get();
  Portier p = start_portier(dir_, "", "",
                            "  docker:\n    endpoint: \"" + env.tls_endpoint() +
                                "\"\n    tls:\n      ca: \"" + env.tls_file("ca.pem") +
                                "\"\n      cert: \"" + env.tls_file("client.pem") +
                                "\"\n      key: \"" + env.tls_file("client-key.pem") + "\"\n",
                            1);
  run("e2e-tls", {{"traefik.http.routers.t.rule", "Host(`tls.localhost`)"}});
  EXPECT_TRUE(served_by(p.port, "tls.localhost", "e2e-tls")) << p.proc->log();
  // Without a client certificate the Engine refuses, and portier says so (and keeps trying).
  TempDir other;
  Portier refused =
      start_portier(other, "", "",
                    "  docker:\n    endpoint: \"" + env.tls_endpoint() +
                        "\"\n    tls:\n      ca: \"" + env.tls_file("ca.pem") + "\"\n",
                    1);
  EXPECT_TRUE(refused.proc->wait_for_log("docker: cannot reach the Engine", 10s))
      << refused.proc->log();
  auto r = http_get(refused.port, "tls.localhost", "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
}

TEST_F(DockerTest, RoutesRecoverWhenTheDaemonRestarts) {
  Portier p = start_portier_docker();
  run("e2e-survivor", {{"traefik.http.routers.s.rule", "Host(`survivor.localhost`)"}});
  ASSERT_TRUE(served_by(p.port, "survivor.localhost", "e2e-survivor"));
  ASSERT_TRUE(DockerEnv::get().restart_dockerd());
  // The last snapshot stayed live, and the provider resynchronised after the restart.
  EXPECT_TRUE(served_by(p.port, "survivor.localhost", "e2e-survivor"));
  EXPECT_TRUE(p.proc->wait_for_log("docker: (event stream|cannot reach)", 10s)) << p.proc->log();
  run("e2e-newcomer", {{"traefik.http.routers.n.rule", "Host(`newcomer.localhost`)"}});
  EXPECT_TRUE(served_by(p.port, "newcomer.localhost", "e2e-newcomer", 40s)) << p.proc->log();
}

// The whole promise: a container labelled with a certificate resolver answers on HTTPS with a
// certificate from the CA (Pebble here), and plain HTTP redirects to it.
TEST_F(DockerTest, LabelledContainerGetsACertificateAndHttps) {
  const int web = free_port();
  PebbleOptions po;
  po.http_port = web;
  Pebble pebble(po);
  Portier p = start_portier_static(
      dir_,
      "entryPoints:\n  web:\n    address: \"127.0.0.1:" + std::to_string(web) +
          "\"\n    http:\n      redirections:\n        entryPoint:\n          to: websecure\n"
          "  websecure:\n    address: \"127.0.0.1:0\"\n"
          "certificatesResolvers:\n  le:\n    acme:\n      email: ops@example.com\n"
          "      storage: " +
          (dir_.path() / "acme.json").string() + "\n      caServer: " + pebble.directory_url() +
          "\n      caCertificates: [" + pebble.ca_bundle() +
          "]\n      httpChallenge:\n        entryPoint: web\n"
          "providers:\n  file:\n    filename: dynamic.yml\n"
          "  docker:\n    endpoint: \"" +
          DockerEnv::get().endpoint() + "\"\n",
      "", {"web", "websecure"}, 1);
  const int https = p.ports.at("websecure");
  const std::string root = dir_.write("root.pem", pebble.root_pem()).string();
  auto started = std::chrono::steady_clock::now();
  run("e2e-https", {{"traefik.http.routers.sec.rule", "Host(`secure.test`)"},
                    {"traefik.http.routers.sec.entrypoints", "websecure"},
                    {"traefik.http.routers.sec.tls.certresolver", "le"}});
  std::optional<Response> r;
  ASSERT_TRUE(poll_until(
      [&] {
        Conn c(https);
        TlsInfo info = c.start_tls({"secure.test", root});
        if (!info.ok || !info.verified) return false;
        r = c.send("GET / HTTP/1.1\r\nHost: secure.test\r\n\r\n") ? c.read_response()
                                                                  : std::nullopt;
        return r && r->status == 200;
      },
      60s))
      << p.proc->log();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  started)
                .count();
  std::printf("docker run to first verified HTTPS response: %lld ms\n", static_cast<long long>(ms));
  RecordProperty("docker_run_to_https_ms", static_cast<int>(ms));
  EXPECT_NE(r->body.find("Name: e2e-https"), std::string::npos);
  auto plain = http_get(web, "secure.test", "/x");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->status, 301);
  EXPECT_EQ(plain->header("location"), "https://secure.test:" + std::to_string(https) + "/x");
}

}  // namespace
}  // namespace portier::test
