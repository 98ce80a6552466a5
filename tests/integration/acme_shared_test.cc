// Shared ACME storage on Redis, end to end: two real portier processes, one real redis-server and
// Pebble, all on loopback. A third portier stands in for the load balancer in front of them: it
// listens on Pebble's HTTP-01 port and sends every request to instance B. Instance A starts
// first and orders; B, which waits for A's lock, must answer A's HTTP-01 validations from the
// tokens A shared through Redis.
// One order per name set, both serve the certificate, a renewal by one reaches the other, and a
// Redis restart (empty) is survived: certificates keep being served, the instances reconnect and
// write their data back, and new orders are coordinated again.
#include <gtest/gtest.h>

#include <random>

#include "support/net.h"
#include "support/pebble.h"
#include "support/process.h"
#include "support/text.h"
#include "support/redis.h"

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
  std::string static_yaml(int web) const {
    return "entryPoints:\n"
           "  web:\n    address: \"127.0.0.1:" +
           std::to_string(web) +
           "\"\n"
           "  websecure:\n    address: \"127.0.0.1:0\"\n"
           "certificatesResolvers:\n  le:\n    acme:\n      email: ops@example.com\n"
           "      storage: \"" +
           redis_.url(prefix_) + "\"\n      caServer: " + pebble_->directory_url() +
           "\n      caCertificates: [" + pebble_->ca_bundle() +
           "]\n"
           "      httpChallenge:\n        entryPoint: web\n"
           "providers:\n  file:\n    filename: dynamic.yml\n";
  }
  std::string dynamic(const std::vector<std::string>& hosts) const {
    std::string out = "http:\n  routers:\n";
    for (const auto& h : hosts) {
      out += "    r-" + h + ":\n      rule: \"Host(`" + h +
             "`)\"\n      service: s\n      entryPoints: [websecure]\n"
             "      tls:\n        certResolver: le\n";
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

}  // namespace
}  // namespace portier::test
