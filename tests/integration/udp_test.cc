// UDP routers through a real portier (two workers, so SO_REUSEPORT spreads clients): datagrams
// both ways, a session per client address (two clients never see each other's replies), round
// robin and weighted round robin by new sessions, the session idle timeout, large datagrams, a
// UDP entrypoint that takes no TCP connection, and the errors of misplaced routers.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <thread>

#include "support/net.h"
#include "support/process.h"
#include "support/udp_backend.h"

namespace portier::test {
namespace {

using namespace std::chrono_literals;

class UdpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    a_ = new UdpBackend("a");
    b_ = new UdpBackend("b");
    c_ = new UdpBackend("c");
    d_ = new UdpBackend("d");
    e_ = new UdpBackend("e");
    f_ = new UdpBackend("f");
    portier_ = new Portier(
        start_portier_static(*dir_, static_yaml(), dynamic(), {"echo", "rr", "wrr", "idle", "web"}));
  }
  static void TearDownTestSuite() {
    delete portier_;
    for (auto* b : {a_, b_, c_, d_, e_, f_}) delete b;
    delete dir_;
  }
  static std::string static_yaml() {
    return "entryPoints:\n"
           "  echo:\n    address: \"127.0.0.1:0/udp\"\n"
           "  rr:\n    address: \"127.0.0.1:0/udp\"\n"
           "  wrr:\n    address: \"127.0.0.1:0/udp\"\n"
           "  idle:\n    address: \"127.0.0.1:0/udp\"\n    udp:\n      timeout: 400ms\n"
           "  spare:\n    address: \"127.0.0.1:0/udp\"\n"
           "  spare2:\n    address: \"127.0.0.1:0/udp\"\n"
           "  web:\n    address: \"127.0.0.1:0\"\n"
           "providers:\n  file:\n    filename: dynamic.yml\n";
  }
  static std::string lb(const std::vector<const UdpBackend*>& servers) {
    std::string s = "      loadBalancer:\n        servers:\n";
    for (const auto* b : servers) s += "          - address: \"" + b->address() + "\"\n";
    return s;
  }
  static std::string dynamic() {
    return "udp:\n  routers:\n"
           "    echo:\n      entryPoints: [echo]\n      service: a\n"
           "    rr:\n      entryPoints: [rr]\n      service: cd\n"
           "    wrr:\n      entryPoints: [wrr]\n      service: weighted\n"
           "    idle:\n      entryPoints: [idle]\n      service: ef\n"
           "    ontcp:\n      entryPoints: [web]\n      service: a\n"
           "    zdup:\n      entryPoints: [spare]\n      service: a\n"
           "    adup:\n      entryPoints: [spare]\n      service: a\n"
           "    nosvc:\n      entryPoints: [spare2]\n      service: missing\n"
           "  services:\n"
           "    a:\n" + lb({a_}) +
           "    b:\n" + lb({b_}) +
           "    cd:\n" + lb({c_, d_}) +
           "    ef:\n" + lb({e_, f_}) +
           "    weighted:\n      weighted:\n        services:\n"
           "          - name: a\n            weight: 3\n"
           "          - name: b\n            weight: 1\n";
  }
  static int port(const std::string& ep) { return portier_->ports.at(ep); }
  static std::string who(const std::optional<std::string>& reply) {
    if (!reply) return "(no reply)";
    return reply->substr(0, reply->find('|'));
  }

  static TempDir* dir_;
  static UdpBackend *a_, *b_, *c_, *d_, *e_, *f_;
  static Portier* portier_;
};

TempDir* UdpTest::dir_ = nullptr;
UdpBackend *UdpTest::a_, *UdpTest::b_, *UdpTest::c_, *UdpTest::d_, *UdpTest::e_, *UdpTest::f_;
Portier* UdpTest::portier_ = nullptr;

TEST_F(UdpTest, DatagramsFlowBothWays) {
  UdpClient client;
  EXPECT_EQ(client.ask(port("echo"), "hello"), "a|hello");
  EXPECT_EQ(client.ask(port("echo"), "again"), "a|again");
  // The largest payload IPv4 carries fits the listener's buffer, both ways.
  const std::string big(65000, 'x');
  auto reply = client.ask(port("echo"), big);
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->size(), big.size() + 2);
}

TEST_F(UdpTest, EachClientGetsItsOwnReplies) {
  UdpClient one, two;
  for (int i = 0; i < 20; ++i) {
    const std::string p1 = "one-" + std::to_string(i), p2 = "two-" + std::to_string(i);
    one.send(port("echo"), p1);
    two.send(port("echo"), p2);
    EXPECT_EQ(one.receive(2s), "a|" + p1);
    EXPECT_EQ(two.receive(2s), "a|" + p2);
  }
  EXPECT_FALSE(one.receive(100ms).has_value());
  EXPECT_FALSE(two.receive(100ms).has_value());
}

TEST_F(UdpTest, RoundRobinByNewSessionsAndStickyWithin) {
  std::map<std::string, int> by;
  for (int i = 0; i < 6; ++i) {
    UdpClient client;
    const std::string first = who(client.ask(port("rr"), "x"));
    ++by[first];
    // Later datagrams of the session go to the same server.
    for (int j = 0; j < 3; ++j) EXPECT_EQ(who(client.ask(port("rr"), "y")), first);
  }
  EXPECT_EQ(by["c"], 3);
  EXPECT_EQ(by["d"], 3);
}

TEST_F(UdpTest, WeightedRoundRobin) {
  std::map<std::string, int> by;
  for (int i = 0; i < 8; ++i) {
    UdpClient client;
    ++by[who(client.ask(port("wrr"), "w"))];
  }
  EXPECT_EQ(by["a"], 6);
  EXPECT_EQ(by["b"], 2);
}

TEST_F(UdpTest, IdleSessionEndsAfterTheTimeout) {
  UdpClient client;
  const std::string first = who(client.ask(port("idle"), "1"));
  ASSERT_TRUE(first == "e" || first == "f") << first;
  UdpBackend* server = first == "e" ? e_ : f_;
  // Traffic within the timeout keeps the session (and its socket: one source port).
  for (int i = 0; i < 4; ++i) {
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(who(client.ask(port("idle"), "keep")), first);
  }
  EXPECT_EQ(server->peers().size(), 1u);
  // After 400 ms of silence the session is gone: the next datagram opens a new one, which the
  // round robin gives to the other server.
  std::this_thread::sleep_for(900ms);
  const std::string second = who(client.ask(port("idle"), "2"));
  EXPECT_NE(second, first);
  EXPECT_TRUE(second == "e" || second == "f") << second;
}

TEST_F(UdpTest, UdpEntrypointTakesNoTcpConnection) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port("echo")));
  EXPECT_NE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ::close(fd);
  // And a TCP entrypoint reads no datagram.
  UdpClient client;
  EXPECT_FALSE(client.ask(port("web"), "x").has_value());
}

TEST_F(UdpTest, MisplacedRoutersAreReported) {
  auto& p = *portier_->proc;
  EXPECT_TRUE(p.wait_for_log("udp router ontcp@file.*is not a UDP entrypoint", 5s).has_value())
      << p.log();
  // Two routers on one entrypoint: Traefik keeps the last by name (zdup); adup is reported.
  EXPECT_TRUE(p.wait_for_log("udp router adup@file.*already served by udp router `zdup@file`", 5s)
                  .has_value())
      << p.log();
  EXPECT_TRUE(p.wait_for_log("udp router nosvc@file.*missing@file. does not exist", 5s).has_value()) << p.log();
  EXPECT_EQ(p.log().find("udp router zdup@file"), std::string::npos);
}

// The real-world check: Debian's BIND (named) serves a zone on 127.0.0.1:<port>, and dig asks
// for it through portier's UDP entrypoint (tools/deps.sh: bind9, bind9-dnsutils).
std::string run(const std::string& cmd) {
  std::string out;
  FILE* f = ::popen(cmd.c_str(), "r");
  if (f == nullptr) return out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, f) != nullptr) out += buf;
  ::pclose(f);
  return out;
}

TEST(UdpDnsTest, DigThroughPortierToBind) {
  TempDir dir;
  const std::string d = dir.path().string();
  std::ofstream(dir.path() / "example.test.zone")
      << "$TTL 60\n"
         "@ IN SOA ns.example.test. admin.example.test. 1 60 60 60 60\n"
         "@ IN NS ns.example.test.\n"
         "ns IN A 127.0.0.1\n"
         "www IN A 192.0.2.7\n"
         "txt IN TXT \"served by bind through portier\"\n";
  // Ready is the log's last "running" line ("running on Linux..." comes first, before the zone
  // is loaded and the port bound). named binds with SO_REUSEPORT, so a second named that picked
  // the same free port (another test's, started at the same moment) would share it without an
  // error: this one is asked directly first, and started again on another port unless every
  // answer is its own.
  int dns_port = 0;
  std::unique_ptr<Process> named;
  for (int attempt = 0; attempt < 3 && !named; ++attempt) {
    dns_port = free_port();
    std::ofstream(dir.path() / "named.conf")
        << "options {\n  directory \"" << d << "\";\n  listen-on port " << dns_port
        << " { 127.0.0.1; };\n  listen-on-v6 { none; };\n  pid-file \"" << d
        << "/named.pid\";\n  session-keyfile \"" << d << "/session.key\";\n"
        << "  recursion no;\n  dnssec-validation no;\n  allow-query { any; };\n};\n"
        << "controls { };\n"
        << "zone \"example.test\" { type primary; file \"" << d << "/example.test.zone\"; };\n";
    named = Process::start({"/usr/sbin/named", "-g", "-c", d + "/named.conf"},
                           dir.path() / ("named-" + std::to_string(attempt) + ".log"));
    ASSERT_TRUE(named->wait_for_log("[0-9] (running)\n", 20s)) << named->log();
    const std::string direct =
        "dig +short +tries=1 +time=2 -p " + std::to_string(dns_port) + " @127.0.0.1 www.example.test A";
    for (int i = 0; i < 5 && named; ++i) {
      if (run(direct) != "192.0.2.7\n") named.reset();
    }
  }
  ASSERT_TRUE(named) << "no port of its own for named";
  const std::string static_yaml =
      "entryPoints:\n  dns:\n    address: \"127.0.0.1:0/udp\"\n"
      "providers:\n  file:\n    filename: dynamic.yml\n";
  const std::string dynamic =
      "udp:\n  routers:\n    dns:\n      service: bind\n  services:\n    bind:\n"
      "      loadBalancer:\n        servers:\n          - address: \"127.0.0.1:" +
      std::to_string(dns_port) + "\"\n";
  Portier p = start_portier_static(dir, static_yaml, dynamic, {"dns"});
  const std::string dig = "dig +short +tries=1 +time=2 -p " + std::to_string(p.ports.at("dns")) +
                          " @127.0.0.1 ";
  EXPECT_EQ(run(dig + "www.example.test A"), "192.0.2.7\n");
  EXPECT_EQ(run(dig + "txt.example.test TXT"), "\"served by bind through portier\"\n");
  // An answer BIND gives as NXDOMAIN comes back as such.
  EXPECT_NE(run("dig +tries=1 +time=2 -p " + std::to_string(p.ports.at("dns")) +
                " @127.0.0.1 nope.example.test A")
                .find("status: NXDOMAIN"),
            std::string::npos);
}

}  // namespace
}  // namespace portier::test
