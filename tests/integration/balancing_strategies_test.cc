// Load-balancing strategies, sticky cookies, passive health with one retry, and per-server
// state in the API, against real whoami processes on loopback.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/net.h"
#include "support/process.h"

namespace portier::test {
namespace {

using namespace std::chrono_literals;

// One router for everything to service `s` with these servers and loadBalancer lines.
std::string balanced(const std::vector<std::string>& urls, const std::string& lb_lines = "") {
  std::string y =
      "http:\n  routers:\n    r:\n      rule: \"PathPrefix(`/`)\"\n      service: s\n"
      "  services:\n    s:\n      loadBalancer:\n" +
      lb_lines + "        servers:\n";
  for (const auto& u : urls) y += "          - url: \"" + u + "\"\n";
  return y;
}

// Which server answers a client from `ip` (a fresh connection). A failure reads "!" and what
// went wrong, so an assertion on the name shows it.
std::string served_from(int port, const std::string& ip, const std::string& extra = "") {
  Conn c(port, 5s, ip);
  c.send("GET / HTTP/1.1\r\nHost: x\r\n" + extra + "Connection: close\r\n\r\n");
  auto r = c.read_response();
  if (!r) return "!no response";
  if (r->status != 200) return "!status " + std::to_string(r->status) + ": " + r->body;
  return r->header("x-whoami-name");
}

TEST(LoadBalancingStrategies, P2cFavoursTheFastBackend) {
  TempDir dir;
  Whoami fast = start_whoami(dir, "fast"), slow = start_whoami(dir, "slow", {"--delay", "150"});
  Portier p =
      start_portier(dir, balanced({fast.url(), slow.url()}, "        strategy: p2c\n"), "", "", 1);
  // Six clients at once: least outstanding requests sends most of them to the fast server,
  // where round robin would split them evenly.
  std::atomic<int> fast_n{0}, slow_n{0}, failed{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 6; ++t) {
    clients.emplace_back([&] {
      Conn c(p.port);
      for (int i = 0; i < 30; ++i) {
        c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        auto r = c.read_response();
        if (!r || r->status != 200) {
          ++failed;
          return;
        }
        (r->header("x-whoami-name") == "fast" ? fast_n : slow_n)++;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(fast_n + slow_n, 180);
  EXPECT_GT(fast_n, 180 * 0.8) << "fast " << fast_n << ", slow " << slow_n;
  EXPECT_GT(slow_n, 0) << "the slow server still gets requests when it is idle";
}

TEST(LoadBalancingStrategies, HrwKeepsClientsAndMovesAboutOneNth) {
  TempDir dir;
  std::vector<Whoami> w;
  for (const char* n : {"a", "b", "c", "d"}) w.push_back(start_whoami(dir, n));
  const std::string lb = "        strategy: hrw\n";
  Portier p = start_portier(dir, balanced({w[0].url(), w[1].url(), w[2].url()}, lb), "", "", 2);
  const int kClients = 100;
  auto ip = [](int i) { return "127.0.0." + std::to_string(10 + i); };
  std::map<int, std::string> before;
  std::map<std::string, int> load;
  for (int i = 0; i < kClients; ++i) {
    before[i] = served_from(p.port, ip(i));
    ASSERT_NE(before[i].rfind('!', 0), 0u) << ip(i) << ": " << before[i];
    ++load[before[i]];
    // The same client lands on the same server, connection after connection, whichever
    // worker accepts it.
    for (int k = 0; k < 3; ++k) ASSERT_EQ(served_from(p.port, ip(i)), before[i]) << ip(i);
  }
  EXPECT_EQ(load.size(), 3u) << "every server has clients";

  dir.write("dynamic.yml", balanced({w[0].url(), w[1].url(), w[2].url(), w[3].url()}, lb));
  std::map<int, std::string> after;
  ASSERT_TRUE(poll_until(
      [&] {
        for (int i = 0; i < kClients; ++i) after[i] = served_from(p.port, ip(i));
        int on_d = 0;
        for (const auto& [i, s] : after) on_d += s == "d";
        return on_d > 0;
      },
      5s))
      << "the added server never got a client";
  int moved = 0;
  for (int i = 0; i < kClients; ++i) {
    const std::string now = served_from(p.port, ip(i));
    if (now == before[i]) continue;
    ++moved;
    EXPECT_EQ(now, "d") << ip(i) << " moved from " << before[i] << " to another old server";
  }
  // About 1/4 of the clients move, all to the new server.
  EXPECT_GE(moved, kClients / 4 - 13);
  EXPECT_LE(moved, kClients / 4 + 13);
}

TEST(LoadBalancingSticky, CookieKeepsTheClientAndFailsOver) {
  TempDir dir;
  auto a = std::make_unique<Whoami>(start_whoami(dir, "a"));
  auto b = std::make_unique<Whoami>(start_whoami(dir, "b"));
  Portier p = start_portier(dir,
                            balanced({a->url(), b->url()},
                                     "        sticky:\n          cookie:\n            name: lb\n"
                                     "            httpOnly: true\n"),
                            "", "", 2);
  auto first = http_get(p.port, "x", "/");
  ASSERT_TRUE(first);
  const std::string set = first->header("set-cookie");
  ASSERT_EQ(set.rfind("lb=", 0), 0u) << set;
  EXPECT_NE(set.find("; Path=/; HttpOnly"), std::string::npos) << set;
  const std::string value = set.substr(3, set.find(';') - 3);
  EXPECT_EQ(value.size(), 16u);
  // A hash, not the address: hex digits only (no dotted address can hide in them; a search
  // for "127" failed now and then, as 16 hex digits hold "127" about once in 300 runs).
  EXPECT_EQ(value.find_first_not_of("0123456789abcdef"), std::string::npos)
      << "the cookie must not show the address: " << value;
  const std::string home = first->header("x-whoami-name");

  for (int i = 0; i < 20; ++i) {
    auto r = http_get(p.port, "x", "/", "Cookie: other=1; lb=" + value + "\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("x-whoami-name"), home);
    EXPECT_FALSE(r->has_header("set-cookie")) << "a valid cookie is not set again";
  }
  // A cookie naming no server: balanced, and a fresh cookie.
  auto junk = http_get(p.port, "x", "/", "Cookie: lb=0123456789abcdef\r\n");
  ASSERT_TRUE(junk);
  EXPECT_EQ(junk->status, 200);
  EXPECT_TRUE(junk->has_header("set-cookie"));

  // The pinned server dies: the client goes to the other one, with no error, and a new cookie.
  (home == "a" ? a : b).reset();  // SIGKILL, reaped
  const std::string other = home == "a" ? "b" : "a";
  auto moved = http_get(p.port, "x", "/", "Cookie: lb=" + value + "\r\n");
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->status, 200);
  EXPECT_EQ(moved->header("x-whoami-name"), other);
  const std::string reset = moved->header("set-cookie");
  ASSERT_EQ(reset.rfind("lb=", 0), 0u) << reset;
  const std::string value2 = reset.substr(3, reset.find(';') - 3);
  EXPECT_NE(value2, value);
  for (int i = 0; i < 5; ++i) {
    auto r = http_get(p.port, "x", "/", "Cookie: lb=" + value2 + "\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("x-whoami-name"), other);
  }
}

TEST(LoadBalancingPassive, DeadServerCostsNoClientError) {
  TempDir dir;
  Whoami a = start_whoami(dir, "a");
  const std::string dead = "http://127.0.0.1:" + std::to_string(free_port());
  // The dead server is first: round robin's first pick.
  Portier p = start_portier(dir, balanced({dead, a.url()}), "", "", 1);
  // Refused before anything was sent: even a POST with a body goes to the other server.
  {
    Conn c(p.port);
    c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("x-whoami-name"), "a");
  }
  EXPECT_TRUE(p.proc->wait_for_log("server failed; out of this worker's rotation", 2s));
  Conn c(p.port);
  int ok = 0;
  for (int i = 0; i < 200; ++i) {
    c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = c.read_response();
    ASSERT_TRUE(r);
    ok += r->status == 200;
  }
  EXPECT_EQ(ok, 200);

  // With no other server, the failure is the answer: 502, as before.
  TempDir dir2;
  Portier alone = start_portier(dir2, balanced({dead}), "", "", 1);
  auto r = http_get(alone.port, "x", "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
}

TEST(LoadBalancingPassive, BackendKilledUnderLoadCostsNoErrors) {
  TempDir dir;
  auto a = std::make_unique<Whoami>(start_whoami(dir, "a"));
  auto b = std::make_unique<Whoami>(start_whoami(dir, "b"));
  auto c = std::make_unique<Whoami>(start_whoami(dir, "c"));
  Portier p = start_portier(dir, balanced({a->url(), b->url(), c->url()}), "", "", 2);
  constexpr int kClients = 4, kRequests = 500;
  std::atomic<int> done{0}, errors{0};
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  std::vector<std::thread> clients;
  for (int t = 0; t < kClients; ++t) {
    clients.emplace_back([&] {
      auto conn = std::make_unique<Conn>(p.port, 5s);
      for (int i = 0; i < kRequests && std::chrono::steady_clock::now() < deadline; ++i) {
        conn->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        auto r = conn->read_response();
        if (!r || r->status != 200) {
          ++errors;
          conn = std::make_unique<Conn>(p.port, 5s);
        }
        ++done;
      }
    });
  }
  ASSERT_TRUE(poll_until([&] { return done >= 300; }, 10s));
  b.reset();  // SIGKILL mid-run
  for (auto& t : clients) t.join();
  EXPECT_EQ(done, kClients * kRequests) << "the run hit its deadline";
  EXPECT_TRUE(p.proc->wait_for_log("server failed; out of this worker's rotation", 1s))
      << "b was never tried after it died";
  // At most the requests in flight on b when it died (one per client); with the retry, none.
  EXPECT_LE(errors, kClients);
  EXPECT_EQ(errors, 0) << "idempotent requests in flight on the dead server are retried";
}

TEST(LoadBalancingApi, ServerStatusFollowsHealthChecks) {
  TempDir dir;
  Whoami a = start_whoami(dir, "a"), b = start_whoami(dir, "b");
  const std::string check =
      "        strategy: p2c\n"
      "        healthCheck:\n          path: /health\n          interval: 200ms\n"
      "          timeout: 200ms\n";
  Portier p =
      start_portier(dir, balanced({a.url(), b.url()}, check),
                    "  traefik:\n    address: \"127.0.0.1:0\"\n", "api:\n  insecure: true\n", 1);
  auto api_port = p.proc->wait_for_log(
      "api listening\" entrypoint=traefik address=127\\.0\\.0\\.1:([0-9]+)", 5s);
  ASSERT_TRUE(api_port) << p.proc->log();
  const int port = std::stoi(*api_port);
  auto service = [&] {
    auto r = http_get(port, "127.0.0.1", "/api/http/services/s@file");
    return r ? nlohmann::json::parse(r->body, nullptr, false) : nlohmann::json();
  };
  ASSERT_TRUE(poll_until([&] { return service().contains("serverLastCheck"); }, 5s));
  auto j = service();
  EXPECT_EQ(j["loadBalancer"]["strategy"], "p2c");
  EXPECT_EQ(j["serverStatus"][a.url()], "UP");
  EXPECT_EQ(j["serverStatus"][b.url()], "UP");
  EXPECT_EQ(j["serverLastCheck"][a.url()].get<std::string>().back(), 'Z');

  Conn c(b.port);
  c.send("POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n503");
  ASSERT_TRUE(c.read_response());
  EXPECT_TRUE(poll_until([&] { return service()["serverStatus"][b.url()] == "DOWN"; }, 5s))
      << service().dump();
  EXPECT_EQ(service()["serverStatus"][a.url()], "UP");

  // serverInFlight: a request whose body is still coming is in flight on its server.
  EXPECT_EQ(service()["serverInFlight"][a.url()], 0) << service().dump();
  Conn slow(p.port);
  ASSERT_TRUE(slow.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhalf"));
  EXPECT_TRUE(poll_until([&] { return service()["serverInFlight"][a.url()] == 1; }, 5s))
      << service().dump();
  EXPECT_EQ(service()["serverInFlight"][b.url()], 0);  // b is down: p2c sent it to a
  ASSERT_TRUE(slow.send("-the-rest"));
  auto done = slow.read_response();
  ASSERT_TRUE(done);
  EXPECT_EQ(done->status, 200);
  EXPECT_TRUE(poll_until([&] { return service()["serverInFlight"][a.url()] == 0; }, 5s))
      << service().dump();
}

}  // namespace
}  // namespace portier::test
