// The admin API's tcp and udp objects through a real portier (Traefik's /api/tcp/* and
// /api/udp/*): what the file provider defined, qualified with @file, with the TCP and UDP
// builds' errors on the objects they disabled, and the overview's counts.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "support/net.h"
#include "support/process.h"

namespace portier::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

json get_json(int port, const std::string& path, int want_status = 200) {
  auto r = http_get(port, "127.0.0.1", path);
  EXPECT_TRUE(r) << path;
  if (!r) return {};
  EXPECT_EQ(r->status, want_status) << path << "\n" << r->body;
  return json::parse(r->body, nullptr, false);
}

TEST(TcpUdpApi, ListsObjectsWithStatusErrorsAndCounts) {
  TempDir dir;
  const std::string static_yaml =
      "entryPoints:\n  pg:\n    address: \"127.0.0.1:0\"\n"
      "  dns:\n    address: \"127.0.0.1:0/udp\"\n"
      "  traefik:\n    address: \"127.0.0.1:0\"\n"
      "api:\n  insecure: true\n"
      "providers:\n  file:\n    filename: dynamic.yml\n";
  const std::string dynamic =
      "tcp:\n  routers:\n"
      "    db:\n      entryPoints: [pg]\n      rule: \"HostSNI(`*`)\"\n      service: pg\n"
      "      middlewares: [lan]\n"
      "    secure:\n      entryPoints: [pg]\n      rule: \"HostSNI(`s.test`)\"\n"
      "      service: pg\n      tls:\n        options: nope\n"
      "  services:\n    pg:\n      loadBalancer:\n        servers:\n"
      "          - address: \"127.0.0.1:5432\"\n"
      "  middlewares:\n    lan:\n      ipAllowList:\n        sourceRange: [\"127.0.0.1\"]\n"
      "udp:\n  routers:\n    dns:\n      service: resolvers\n"
      "    lost:\n      entryPoints: [pg]\n      service: resolvers\n"
      "  services:\n    resolvers:\n      loadBalancer:\n        servers:\n"
      "          - address: \"127.0.0.1:53\"\n";
  Portier p = start_portier_static(dir, static_yaml, dynamic, {"pg"});
  auto api_port = p.proc->wait_for_log(
      "api listening\" entrypoint=traefik address=127\\.0\\.0\\.1:([0-9]+)", 5s);
  ASSERT_TRUE(api_port) << p.proc->log();
  const int port = std::stoi(*api_port);

  json routers = get_json(port, "/api/tcp/routers");
  ASSERT_TRUE(routers.is_array());
  ASSERT_EQ(routers.size(), 2u);
  std::map<std::string, json> by_name;
  for (const auto& r : routers) by_name[r["name"]] = r;
  EXPECT_EQ(by_name["db@file"]["status"], "enabled");
  EXPECT_EQ(by_name["db@file"]["service"], "pg@file");
  EXPECT_EQ(by_name["db@file"]["middlewares"], json({"lan@file"}));
  EXPECT_EQ(by_name["secure@file"]["status"], "disabled");
  EXPECT_NE(by_name["secure@file"]["error"][0].get<std::string>().find("tls.options `nope`"),
            std::string::npos)
      << by_name["secure@file"];
  EXPECT_EQ(get_json(port, "/api/tcp/routers/secure%40file")["tls"]["options"], "nope");
  get_json(port, "/api/tcp/routers/secure", 404);

  json pg = get_json(port, "/api/tcp/services/pg@file");
  EXPECT_EQ(pg["type"], "loadbalancer");
  EXPECT_EQ(pg["loadBalancer"]["servers"][0]["address"], "127.0.0.1:5432");
  EXPECT_EQ(pg["usedBy"], json({"db@file", "secure@file"}));
  json lan = get_json(port, "/api/tcp/middlewares/lan@file");
  EXPECT_EQ(lan["ipAllowList"]["sourceRange"], json({"127.0.0.1"}));
  EXPECT_EQ(lan["status"], "enabled");

  json dns = get_json(port, "/api/udp/routers/dns@file");
  EXPECT_EQ(dns["status"], "enabled");
  EXPECT_EQ(dns["entryPoints"], json({"dns"}));  // the one UDP entrypoint
  json lost = get_json(port, "/api/udp/routers/lost@file");
  EXPECT_EQ(lost["status"], "disabled");  // pg is not a UDP entrypoint
  EXPECT_NE(lost["error"][0].get<std::string>().find("not a UDP entrypoint"), std::string::npos);
  EXPECT_EQ(get_json(port, "/api/udp/services")[0]["name"], "resolvers@file");

  json o = get_json(port, "/api/overview");
  EXPECT_EQ(o["tcp"]["routers"], json({{"total", 2}, {"warnings", 0}, {"errors", 1}}));
  EXPECT_EQ(o["tcp"]["services"]["total"], 1);
  EXPECT_EQ(o["tcp"]["middlewares"]["total"], 1);
  EXPECT_EQ(o["udp"]["routers"], json({{"total", 2}, {"warnings", 0}, {"errors", 1}}));
  EXPECT_EQ(o["udp"]["services"]["total"], 1);
}

}  // namespace
}  // namespace portier::test
