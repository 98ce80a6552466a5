// Shared ACME storage on Redis, end to end: two real portier processes, one real redis-server and
// Pebble, all on loopback. A third portier stands in for the load balancer in front of them: it
// listens on Pebble's HTTP-01 port and sends every request to instance B. Instance A starts
// first and orders; B, which waits for A's lock, must answer A's HTTP-01 validations from the
// tokens A shared through Redis.
// One order per name set, both serve the certificate, a renewal by one reaches the other, and a
// Redis restart (empty) is survived: certificates keep being served, the instances reconnect and
// write their data back, and new orders are coordinated again.
// The multi-instance deployment of docs/swarm.md: a TCP load balancer in front of both instances
// (a third portier: TCP routers, PROXY protocol v2 to each instance's web and websecure) for
// HTTP-01 and HTTPS alike, the clients' addresses kept, and each instance named in its API.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "support/net.h"
#include "support/pebble.h"
#include "support/process.h"
#include "support/redis.h"
#include "support/text.h"

namespace portier::test {
namespace {

using namespace std::chrono_literals;

class SharedStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    web_port_ = free_port();
    PebbleOptions o;
    o.http_port = web_port_;
    o.validity_seconds = 15;  // renewed when 5 s are left
    pebble_ = std::make_unique<Pebble>(o);
    whoami_ = std::make_unique<Whoami>(start_whoami(whoami_dir_, "shared"));
    prefix_ = "t" + std::to_string(std::random_device{}());
  }

  // The load balancer: Pebble's HTTP-01 port, to instance B's `web`.
  void start_front() {
    front_ = start_portier_static(
        dir_front_,
        "entryPoints:\n  web:\n    address: \"127.0.0.1:" + std::to_string(web_port_) +
            "\"\nproviders:\n  file:\n    filename: dynamic.yml\n",
        "http:\n  routers:\n    lb:\n      rule: \"PathPrefix(`/`)\"\n      service: lb\n"
        "  services:\n    lb:\n      loadBalancer:\n        servers:\n"
        "          - url: \"http://127.0.0.1:" +
            std::to_string(web_b_) + "\"\n",
        {"web"});
  }
  // `name`: behind the TCP balancer: PROXY protocol from 127.0.0.1 on web and websecure, and
  // the API on its own port with this api.dashboardName.
  std::string static_yaml(int web, const std::string& name = "") const {
    const std::string pp =
        name.empty() ? "" : "    proxyProtocol:\n      trustedIPs: [\"127.0.0.1\"]\n";
    const std::string api = name.empty() ? ""
                                         : "  traefik:\n    address: \"127.0.0.1:0\"\n"
                                           "api:\n  insecure: true\n  dashboardName: " +
                                               name + "\n";
    return "entryPoints:\n"
           "  web:\n    address: \"127.0.0.1:" +
           std::to_string(web) + "\"\n" + pp + "  websecure:\n    address: \"127.0.0.1:0\"\n" + pp +
           api +
           "certificatesResolvers:\n  le:\n    acme:\n      email: ops@example.com\n"
           "      storage: \"" +
           redis_.url(prefix_) + "\"\n      caServer: " + pebble_->directory_url() +
           "\n      caCertificates: [" + pebble_->ca_bundle() +
           "]\n"
           "      httpChallenge:\n        entryPoint: web\n"
           "providers:\n  file:\n    filename: dynamic.yml\n";
  }
  // `instance`: answers carry X-Instance: <instance>.
  std::string dynamic(const std::vector<std::string>& hosts,
                      const std::string& instance = "") const {
    std::string out = "http:\n  routers:\n";
    for (const auto& h : hosts) {
      out += "    r-" + h + ":\n      rule: \"Host(`" + h +
             "`)\"\n      service: s\n      entryPoints: [websecure]\n"
             "      tls:\n        certResolver: le\n";
      if (!instance.empty()) out += "      middlewares: [who]\n";
    }
    if (!instance.empty()) {
      out +=
          "  middlewares:\n    who:\n      headers:\n        customResponseHeaders:\n"
          "          X-Instance: " +
          instance + "\n";
    }
    return out + "  services:\n    s:\n      loadBalancer:\n        servers:\n          - url: \"" +
           whoami_->url() + "\"\n";
  }
  std::string root_file() {
    auto root = pebble_->root_pem();
    EXPECT_FALSE(root.empty());
    return whoami_dir_.write("pebble-root.pem", root).string();
  }
  // The serial a verified handshake for `sni` on `port` presents, or "" (default certificate,
  // failure).
  std::string serial(int port, const std::string& sni, const std::string& root) {
    Conn c(port, 5s);
    TlsInfo info = c.start_tls({sni, root});
    return info.ok && info.verified ? info.serial : "";
  }
  int orders(const std::string& domains) const {
    const std::string line = "domains=" + domains;
    int n = 0;
    for (const auto* p : {&a_, &b_}) {
      std::string log = p->proc->log();
      std::size_t pos = 0;
      while ((pos = log.find("acme: ordering certificate", pos)) != std::string::npos) {
        auto eol = log.find('\n', pos);
        if (log.substr(pos, eol - pos).find(line) != std::string::npos) ++n;
        pos = eol;
      }
    }
    return n;
  }
  std::string logs() const { return "A:\n" + a_.proc->log() + "\nB:\n" + b_.proc->log(); }

  TempDir whoami_dir_, dir_a_, dir_b_, dir_front_;
  int web_port_ = 0;  // Pebble's HTTP-01 port: the front
  int web_a_ = free_port(), web_b_ = free_port();
  RedisServer redis_;
  std::string prefix_;
  std::unique_ptr<Pebble> pebble_;
  std::unique_ptr<Whoami> whoami_;
  Portier a_, b_, front_;
};

TEST_F(SharedStorageTest, TwoInstancesShareOrdersRenewalsAndSurviveARedisRestart) {
  start_front();
  // Both run before A is given the router, so B is subscribed when A shares its tokens.
  a_ = start_portier_static(dir_a_, static_yaml(web_a_), dynamic({}), {"web", "websecure"});
  b_ = start_portier_static(dir_b_, static_yaml(web_b_), dynamic({}), {"web", "websecure"});
  dir_a_.write("dynamic.yml", dynamic({"a.test"}));
  ASSERT_TRUE(a_.proc->wait_for_log("(acme: ordering certificate)", 10s)) << logs();
  dir_b_.write("dynamic.yml", dynamic({"a.test"}));
  const int pa = a_.ports.at("websecure"), pb = b_.ports.at("websecure");
  const std::string root = root_file();

  // One order, and both instances serve its certificate.
  std::string first;
  ASSERT_TRUE(poll_until(
      [&] {
        first = serial(pa, "a.test", root);
        return !first.empty() && serial(pb, "a.test", root) == first;
      },
      15s))
      << logs();
  EXPECT_EQ(orders("a.test"), 1) << logs();
  // A ordered, and B (the only one the front reaches) answered the validation: the token went
  // through Redis.
  EXPECT_EQ(count_in(b_.proc->log(), "acme: ordering certificate"), 0) << logs();
  EXPECT_EQ(redis_.cli({"HLEN", prefix_ + ":acme:le:certificates"}), "1");
  EXPECT_NE(redis_.cli({"GET", prefix_ + ":acme:le:account"}).find("PrivateKey"),
            std::string::npos);
  {
    Conn c(pb, 5s);
    ASSERT_TRUE(c.start_tls({"a.test", root}).verified);
    ASSERT_TRUE(c.send("GET /x HTTP/1.1\r\nHost: a.test\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }

  // The renewal (a third of 15 s before expiry) is made by one instance; both serve it.
  std::string renewed;
  ASSERT_TRUE(poll_until(
      [&] {
        renewed = serial(pa, "a.test", root);
        return !renewed.empty() && renewed != first && serial(pb, "a.test", root) == renewed;
      },
      20s))
      << logs();
  EXPECT_EQ(count_in(a_.proc->log(), "acme: renewing certificate") +
                count_in(b_.proc->log(), "acme: renewing certificate"),
            1)
      << logs();

  // Redis goes away: certificates are still served from memory.
  redis_.stop();
  EXPECT_FALSE(serial(pa, "a.test", root).empty());
  EXPECT_FALSE(serial(pb, "a.test", root).empty());
  // It comes back empty: both reconnect, and what they hold is written back.
  redis_.start();
  ASSERT_TRUE(poll_until(
      [&] {
        return count_in(a_.proc->log(), "shared storage reachable again") >= 1 &&
               count_in(b_.proc->log(), "shared storage reachable again") >= 1 &&
               redis_.cli({"HLEN", prefix_ + ":acme:le:certificates"}) == "1";
      },
      10s))
      << logs();
  EXPECT_NE(redis_.cli({"GET", prefix_ + ":acme:le:account"}).find("PrivateKey"),
            std::string::npos);

  // New names after the restart are coordinated again: one order, both serve it.
  dir_a_.write("dynamic.yml", dynamic({"a.test", "b.test"}));
  dir_b_.write("dynamic.yml", dynamic({"a.test", "b.test"}));
  std::string b_serial;
  ASSERT_TRUE(poll_until(
      [&] {
        b_serial = serial(pa, "b.test", root);
        return !b_serial.empty() && serial(pb, "b.test", root) == b_serial;
      },
      10s))
      << logs();
  EXPECT_EQ(orders("b.test"), 1) << logs();
}

// Two instances behind one TCP load balancer with PROXY protocol, as docs/swarm.md deploys them:
// the balancer (a third portier) takes Pebble's HTTP-01 connections and the clients' HTTPS
// alike and sends each, with a PROXY v2 header, to either instance in turn. One order; either
// instance answers the validation from the token the other shared; both serve the certificate,
// see the client's own address, and say which one they are.
TEST_F(SharedStorageTest, TwoInstancesBehindATcpBalancerWithProxyProtocol) {
  a_ = start_portier_static(dir_a_, static_yaml(web_a_, "edge-a"), dynamic({}, "a"),
                            {"web", "websecure"});
  b_ = start_portier_static(dir_b_, static_yaml(web_b_, "edge-b"), dynamic({}, "b"),
                            {"web", "websecure"});
  const int pa = a_.ports.at("websecure"), pb = b_.ports.at("websecure");
  auto pair = [](int x, int y) {
    return "        servers:\n          - address: \"127.0.0.1:" + std::to_string(x) +
           "\"\n          - address: \"127.0.0.1:" + std::to_string(y) + "\"\n";
  };
  front_ = start_portier_static(
      dir_front_,
      "entryPoints:\n  web:\n    address: \"127.0.0.1:" + std::to_string(web_port_) +
          "\"\n  websecure:\n    address: \"127.0.0.1:0\"\n"
          "providers:\n  file:\n    filename: dynamic.yml\n",
      "tcp:\n  routers:\n"
      "    http:\n      rule: \"HostSNI(`*`)\"\n      entryPoints: [web]\n      service: http\n"
      "    https:\n      rule: \"HostSNI(`*`)\"\n      entryPoints: [websecure]\n"
      "      service: https\n"
      "  services:\n    http:\n      loadBalancer:\n" +
          pair(web_a_, web_b_) + "        serversTransport: pp\n" +
          "    https:\n      loadBalancer:\n" + pair(pa, pb) +
          "        serversTransport: pp\n"
          "  serversTransports:\n    pp:\n      proxyProtocol:\n        version: 2\n",
      {"web", "websecure"});
  const int front = front_.ports.at("websecure");
  dir_a_.write("dynamic.yml", dynamic({"a.test"}, "a"));
  dir_b_.write("dynamic.yml", dynamic({"a.test"}, "b"));
  const std::string root = root_file();
  for (const auto* p : {&a_, &b_}) {
    ASSERT_TRUE(p->proc->wait_for_log("(configuration applied)\" routers=1", 10s)) << logs();
  }

  // Through the balancer, from a client address of its own (127.0.0.7): a verified certificate,
  // one serial whichever instance answers, both instances in turn, the client's address kept.
  std::set<std::string> serials, instances;
  std::optional<Response> last;
  ASSERT_TRUE(poll_until(
      [&] {
        Conn c(front, 5s, "127.0.0.7");
        TlsInfo info = c.start_tls({"a.test", root});
        if (!info.ok || !info.verified) return false;
        if (!c.send("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")) return false;
        last = c.read_response();
        if (!last || last->status != 200) return false;
        serials.insert(info.serial);
        instances.insert(last->header("x-instance"));
        return instances.size() == 2;
      },
      20s))
      << logs();
  EXPECT_EQ(serials.size(), 1u) << "one certificate, served by both";
  EXPECT_EQ(orders("a.test"), 1) << logs();
  EXPECT_NE(last->body.find("X-Forwarded-For: 127.0.0.7\n"), std::string::npos) << last->body;
  EXPECT_EQ(serial(pa, "a.test", root), *serials.begin());
  EXPECT_EQ(serial(pb, "a.test", root), *serials.begin());

  // Which instance is which: the API of each says its name.
  for (const auto& [proc, name] : {std::pair{&a_, "edge-a"}, std::pair{&b_, "edge-b"}}) {
    auto api = proc->proc->wait_for_log(
        "api listening\" entrypoint=traefik address=127\\.0\\.0\\.1:([0-9]+)", 1s);
    ASSERT_TRUE(api) << logs();
    auto r = http_get(std::stoi(*api), "x", "/api/overview");
    ASSERT_TRUE(r);
    auto overview = nlohmann::json::parse(r->body, nullptr, false);
    ASSERT_TRUE(overview.contains("instance")) << r->body;
    EXPECT_EQ(overview["instance"]["name"], name) << r->body;
    EXPECT_FALSE(overview["instance"]["hostname"].get<std::string>().empty()) << r->body;
  }
}

}  // namespace
}  // namespace portier::test
