// How configuration is read, end to end: a Traefik-style traefik.yml holding both static and
// dynamic sections, and a dynamic file whose one bad router does not take the others down.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/net.h"
#include "support/process.h"

namespace portier::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

json get_json(int port, const std::string& path) {
  auto r = http_get(port, "127.0.0.1", path);
  EXPECT_TRUE(r) << path;
  if (!r) return {};
  EXPECT_EQ(r->status, 200) << path << "\n" << r->body;
  return json::parse(r->body, nullptr, false);
}

std::map<std::string, json> routers_by_name(int api_port) {
  std::map<std::string, json> out;
  for (const auto& r : get_json(api_port, "/api/http/routers")) out[r["name"]] = r;
  return out;
}

// The file Traefik's docs show: entrypoints, api and log next to the routers, and the file
// provider pointed at the file itself.
TEST(ConfigRead, CombinedStaticAndDynamicFile) {
  TempDir dir;
  Whoami w = start_whoami(dir, "combined");
  const std::string file =
      "global:\n  checkNewVersion: false\n  sendAnonymousUsage: false\n"
      "entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\n"
      "  traefik:\n    address: \"127.0.0.1:0\"\n"
      "api:\n  insecure: true\n  dashboard: true\n"
      "log:\n  level: DEBUG\n"
      "tracing: {}\n"
      "providers:\n  file:\n    filename: portier.yml\n"
      "http:\n  routers:\n    whoami:\n      rule: \"Host(`whoami.localhost`)\"\n"
      "      service: whoami\n"
      "  services:\n    whoami:\n      loadBalancer:\n        servers:\n          - url: \"" +
      w.url() + "\"\n";
  Portier p = start_portier_static(dir, file, "", {"web"});
  auto api_port = p.proc->wait_for_log(
      "api listening\" entrypoint=traefik address=127\\.0\\.0\\.1:([0-9]+)", 5s);
  ASSERT_TRUE(api_port) << p.proc->log();

  auto r = http_get(p.port, "whoami.localhost", "/");
  ASSERT_TRUE(r) << p.proc->log();
  EXPECT_EQ(r->status, 200) << r->body;

  // tracing is accepted, logged once with its place, and listed by the API.
  EXPECT_TRUE(
      p.proc->wait_for_log("static option not supported yet.*portier\\.yml:14:10: "
                           "`tracing` is not supported yet",
                           5s))
      << p.proc->log();
  json overview = get_json(std::stoi(*api_port), "/api/overview");
  ASSERT_EQ(overview["static"]["warnings"].size(), 1u) << overview.dump();
  EXPECT_NE(overview["static"]["warnings"][0].get<std::string>().find("portier.yml:14:10"),
            std::string::npos);
  EXPECT_EQ(routers_by_name(std::stoi(*api_port))["whoami@file"]["status"], "enabled");
}

TEST(ConfigRead, OneBadRouterDisablesOnlyItself) {
  TempDir dir;
  Whoami w = start_whoami(dir, "bad-key");
  const std::string dynamic =
      "http:\n  routers:\n"
      "    good:\n      rule: \"Host(`good.localhost`)\"\n      service: s\n"
      "    typo:\n      rule: \"Host(`typo.localhost`)\"\n      servise: s\n"
      "    guarded:\n      rule: \"Host(`guarded.localhost`)\"\n      service: s\n"
      "      middlewares: [hosts]\n"
      "  middlewares:\n    hosts:\n      rateLimit:\n        redis: {endpoints: [\"127.0.0.1:6379\"]}\n"
      "  services:\n    s:\n      loadBalancer:\n        servers:\n          - url: \"" +
      w.url() + "\"\n";
  const std::string static_yaml =
      "entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\n"
      "  traefik:\n    address: \"127.0.0.1:0\"\n"
      "api:\n  insecure: true\n"
      "providers:\n  file:\n    filename: dynamic.yml\n";
  Portier p = start_portier_static(dir, static_yaml, dynamic, {"web"});
  auto api = p.proc->wait_for_log(
      "api listening\" entrypoint=traefik address=127\\.0\\.0\\.1:([0-9]+)", 5s);
  ASSERT_TRUE(api) << p.proc->log();

  auto good = http_get(p.port, "good.localhost", "/");
  ASSERT_TRUE(good);
  EXPECT_EQ(good->status, 200);
  for (const char* host : {"typo.localhost", "guarded.localhost"}) {
    auto r = http_get(p.port, host, "/");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404) << host;
  }

  auto routers = routers_by_name(std::stoi(*api));
  EXPECT_EQ(routers["good@file"]["status"], "enabled");
  EXPECT_EQ(routers["typo@file"]["status"], "disabled");
  ASSERT_FALSE(routers["typo@file"]["error"].empty());
  EXPECT_NE(routers["typo@file"]["error"][0].get<std::string>().find(
                "dynamic.yml:8:7: unknown key `http.routers.typo.servise`; did you mean "
                "`http.routers.typo.service`?"),
            std::string::npos)
      << routers["typo@file"].dump();
  EXPECT_EQ(routers["guarded@file"]["status"], "disabled");
  json mw = get_json(std::stoi(*api), "/api/http/middlewares/hosts@file");
  EXPECT_EQ(mw["status"], "disabled");
  EXPECT_NE(mw["error"][0].get<std::string>().find(
                "dynamic.yml:16:16: `http.middlewares.hosts.rateLimit.redis` is not supported "
                "(portier keeps rate limits in memory); the middleware is disabled"),
            std::string::npos)
      << mw.dump();
}

// entryPoints.<ep>.http.middlewares run in front of the routers on that entrypoint.
TEST(ConfigRead, EntryPointMiddlewares) {
  TempDir dir;
  Whoami w = start_whoami(dir, "ep-mw");
  const std::string dynamic =
      "http:\n  routers:\n    r:\n      rule: \"PathPrefix(`/`)\"\n      service: s\n"
      "  middlewares:\n    tag:\n      headers:\n        customResponseHeaders: {X-Ep: web}\n"
      "  services:\n    s:\n      loadBalancer:\n        servers:\n          - url: \"" +
      w.url() + "\"\n";
  const std::string static_yaml =
      "entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\n    http:\n"
      "      middlewares: [tag@file]\n"
      "providers:\n  file:\n    filename: dynamic.yml\n";
  Portier p = start_portier_static(dir, static_yaml, dynamic, {"web"});
  auto r = http_get(p.port, "a.localhost", "/");
  ASSERT_TRUE(r) << p.proc->log();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("X-Ep"), "web");
}

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// log.filePath with format json: every line is a JSON object; SIGUSR1 reopens the file after
// it was moved away (logrotate's way).
TEST(ConfigRead, LogFileInJsonReopenedOnSigusr1) {
  TempDir dir;
  const auto log_path = dir.path() / "portier.json.log";
  dir.write("dynamic.yml", route_to("http://127.0.0.1:1"));
  auto cfg = dir.write("portier.yml",
                       "entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\n"
                       "providers:\n  file:\n    filename: dynamic.yml\n"
                       "log:\n  format: json\n  filePath: " +
                           log_path.string() + "\n");
  auto proc = Process::start({PORTIER_BIN, "--configFile=" + cfg.string(), "--workers=1"},
                             dir.path() / "stderr.log");
  ASSERT_TRUE(poll_until(
      [&] { return read_text(log_path).find("configuration applied") != std::string::npos; }, 5s))
      << read_text(log_path) << proc->log();
  std::istringstream lines(read_text(log_path));
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    json j = json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    EXPECT_TRUE(j.contains("level") && j.contains("time") && j.contains("message")) << line;
    ++n;
  }
  EXPECT_GT(n, 2);

  const auto rotated = dir.path() / "portier.json.log.1";
  std::filesystem::rename(log_path, rotated);
  ASSERT_TRUE(proc->signal(SIGUSR1));
  ASSERT_TRUE(poll_until([&] { return std::filesystem::exists(log_path); }, 5s));
  dir.write("dynamic.yml", route_to("http://127.0.0.1:2"));  // logs a reload
  EXPECT_TRUE(poll_until(
      [&] { return read_text(log_path).find("configuration file reloaded") != std::string::npos; },
      5s))
      << read_text(log_path);
  EXPECT_EQ(read_text(rotated).find("configuration file reloaded"), std::string::npos);
}

}  // namespace
}  // namespace portier::test
