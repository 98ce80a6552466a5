// Mirroring services and the retry middleware against real processes on loopback: the share of
// copies, bodies, dead and black-holed mirrors that must not delay the client; retries across
// refused servers, with bodies and with backoff.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "support/net.h"
#include "support/process.h"

namespace portier::test {
namespace {

using namespace std::chrono_literals;

// A backend that records every request it gets (head and Content-Length body), answers 200 and
// closes. One thread, bounded reads (2 s per connection).
class Recorder {
 public:
  Recorder() {
    fd_ = listen_loopback(128, port_);
    thread_ = std::thread([this] { run(); });
  }
  ~Recorder() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<std::string> requests() const {
    std::lock_guard l(mu_);
    return requests_;
  }
  std::size_t count() const {
    std::lock_guard l(mu_);
    return requests_.size();
  }

 private:
  void run() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      timeval tv{2, 0};
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      std::string req;
      char buf[8192];
      std::size_t want = std::string::npos;
      while (want == std::string::npos || req.size() < want) {
        ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        req.append(buf, static_cast<std::size_t>(n));
        std::size_t end = req.find("\r\n\r\n");
        if (want == std::string::npos && end != std::string::npos) {
          std::string lower = req.substr(0, end);
          for (char& ch : lower) ch = static_cast<char>(std::tolower(ch));
          std::size_t cl = lower.find("\r\ncontent-length: ");
          want = end + 4 + (cl == std::string::npos ? 0 : std::stoul(lower.substr(cl + 18)));
        }
      }
      static constexpr std::string_view kAnswer =
          "HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nmirror";
      ::send(c, kAnswer.data(), kAnswer.size(), MSG_NOSIGNAL);
      ::close(c);
      std::lock_guard l(mu_);
      requests_.push_back(std::move(req));
    }
  }
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<std::string> requests_;
};

std::string mirrored(const std::string& main_url, const std::string& mirror_url, int percent,
                     const std::string& mirroring_extra = "") {
  return "http:\n  routers:\n    r:\n      rule: \"PathPrefix(`/`)\"\n      service: top\n"
         "  services:\n"
         "    top:\n      mirroring:\n        service: main\n" +
         mirroring_extra +
         "        mirrors:\n          - name: shadow\n            percent: " +
         std::to_string(percent) +
         "\n"
         "    main:\n      loadBalancer:\n        servers:\n          - url: \"" +
         main_url +
         "\"\n"
         "    shadow:\n      loadBalancer:\n        servers:\n          - url: \"" +
         mirror_url + "\"\n";
}

TEST(MirroringService, HalfTheRequestsAreCopiedAndTheClientSeesOnlyMain) {
  TempDir dir;
  Whoami main = start_whoami(dir, "main");
  Recorder shadow;
  Portier p = start_portier(dir, mirrored(main.url(), shadow.url(), 50), "", "", 2);
  const int kRequests = 400;
  int ok = 0;
  Conn c(p.port);  // one connection: one worker, whose accumulator gives exactly every second
  for (int i = 0; i < kRequests; ++i) {
    c.send("GET /n" + std::to_string(i) + " HTTP/1.1\r\nHost: app\r\n\r\n");
    auto r = c.read_response();
    ASSERT_TRUE(r);
    ok += r->status == 200 && r->header("x-whoami-name") == "main";
  }
  EXPECT_EQ(ok, kRequests) << "every answer is main's";
  // Two more requests: the second is copied (the accumulator gives every second one). Once its
  // copy is in, the copies of all earlier requests (sent before it, one per exchange) are too.
  for (const char* marker : {"/marker0", "/marker1"}) {
    c.send("GET " + std::string(marker) + " HTTP/1.1\r\nHost: app\r\n\r\n");
    ASSERT_TRUE(c.read_response());
  }
  auto has = [&](const std::string& what) {
    for (const auto& r : shadow.requests()) {
      if (r.find(what) != std::string::npos) return true;
    }
    return false;
  };
  ASSERT_TRUE(poll_until([&] { return has("GET /marker1 "); }, 5s)) << shadow.count();
  EXPECT_FALSE(has("GET /marker0 "));
  EXPECT_NEAR(static_cast<double>(shadow.count()), kRequests / 2 + 1, kRequests * 0.02);
  auto reqs = shadow.requests();
  ASSERT_FALSE(reqs.empty());
  EXPECT_EQ(reqs[0].rfind("GET /n", 0), 0u) << reqs[0];
  EXPECT_NE(reqs[0].find("Host: app\r\n"), std::string::npos) << reqs[0];
  EXPECT_NE(reqs[0].find("X-Forwarded-For: 127.0.0.1\r\n"), std::string::npos) << reqs[0];
}

TEST(MirroringService, BodiesAreCopiedWithinTheLimit) {
  TempDir dir;
  Whoami main = start_whoami(dir, "main");
  Recorder shadow;
  Portier p = start_portier(dir, mirrored(main.url(), shadow.url(), 100, "        maxBodySize: 64\n"),
                            "", "", 1);
  auto post = [&](const std::string& framing_and_body) {
    Conn c(p.port);
    c.send("POST /echo HTTP/1.1\r\nHost: app\r\n" + framing_and_body);
    auto r = c.read_response();
    return r ? r->status : 0;
  };
  // Small body with Content-Length: copied as is.
  EXPECT_EQ(post("Content-Length: 5\r\n\r\nhello"), 200);
  ASSERT_TRUE(poll_until([&] { return shadow.count() == 1; }, 5s));
  EXPECT_NE(shadow.requests()[0].find("Content-Length: 5\r\n\r\nhello"), std::string::npos)
      << shadow.requests()[0];
  // Chunked with Expect: 100-continue: the copy has the decoded body, a length, no Expect.
  {
    Conn c(p.port);
    c.send("POST /echo HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\n"
           "Expect: 100-continue\r\n\r\n");
    auto cont = c.read_response(true);
    ASSERT_TRUE(cont);
    EXPECT_EQ(cont->status, 100);
    c.send("3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "abcde");
  }
  ASSERT_TRUE(poll_until([&] { return shadow.count() == 2; }, 5s));
  const std::string copy = shadow.requests()[1];
  EXPECT_NE(copy.find("Content-Length: 5\r\n\r\nabcde"), std::string::npos) << copy;
  EXPECT_EQ(copy.find("Expect"), std::string::npos) << copy;
  EXPECT_EQ(copy.find("Transfer-Encoding"), std::string::npos) << copy;
  // Above maxBodySize (64): main gets it, the mirror does not (neither Content-Length nor a
  // chunked body that grows past the limit).
  EXPECT_EQ(post("Content-Length: 100\r\n\r\n" + std::string(100, 'x')), 200);
  EXPECT_EQ(post("Transfer-Encoding: chunked\r\n\r\n50\r\n" + std::string(80, 'y') + "\r\n0\r\n\r\n"),
            200);
  // A bodiless request after them is copied: the two big ones were skipped, not queued. Once
  // its copy is in, anything the big ones had caused would be too.
  EXPECT_EQ(post("Content-Length: 0\r\n\r\n"), 200);
  ASSERT_TRUE(poll_until([&] { return shadow.count() >= 3; }, 5s));
  for (const auto& r : shadow.requests()) {
    EXPECT_EQ(r.find(std::string(64, 'x')), std::string::npos) << "an oversized body was copied";
    EXPECT_EQ(r.find(std::string(64, 'y')), std::string::npos) << "an oversized body was copied";
  }
  EXPECT_EQ(shadow.count(), 3u);
}

TEST(MirroringService, MirrorBodyFalseSendsTheCopyWithoutBody) {
  TempDir dir;
  Whoami main = start_whoami(dir, "main");
  Recorder shadow;
  Portier p = start_portier(
      dir, mirrored(main.url(), shadow.url(), 100, "        mirrorBody: false\n"), "", "", 1);
  Conn c(p.port);
  c.send("POST /echo HTTP/1.1\r\nHost: app\r\nContent-Length: 5\r\n\r\nhello");
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello");
  ASSERT_TRUE(poll_until([&] { return shadow.count() == 1; }, 5s));
  const std::string copy = shadow.requests()[0];
  EXPECT_EQ(copy.rfind("POST /echo HTTP/1.1\r\n", 0), 0u);
  EXPECT_EQ(copy.find("hello"), std::string::npos) << copy;
  EXPECT_EQ(copy.find("Content-Length"), std::string::npos) << copy;
}

// A dead mirror (refused) and a black-holed one (accepts nothing, answers nothing) must not
// delay or fail the client.
TEST(MirroringService, DeadOrBlackHoledMirrorDoesNotDelayTheClient) {
  TempDir dir;
  Whoami main = start_whoami(dir, "main");
  int hole_port = 0;
  const int hole = listen_loopback(1, hole_port);  // never accepted: SYNs queue, then drop
  for (const int port : {free_port(), hole_port}) {
    SCOPED_TRACE(port == hole_port ? "black hole" : "refused");
    TempDir d;
    Portier p = start_portier(
        d, mirrored(main.url(), "http://127.0.0.1:" + std::to_string(port), 100), "", "", 1);
    Conn c(p.port);
    auto slowest = std::chrono::steady_clock::duration::zero();
    for (int i = 0; i < 100; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      c.send(i % 2 ? "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
                   : "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
      auto r = c.read_response();
      ASSERT_TRUE(r) << i;
      EXPECT_EQ(r->status, 200);
      slowest = std::max(slowest, std::chrono::steady_clock::now() - t0);
    }
    EXPECT_LT(slowest, 1s) << "a request waited for the mirror";
    // Copies still in flight (the black hole holds them for 10 s) do not hold up shutdown.
    c.shutdown_write();
    ASSERT_TRUE(c.wait_closed(2s));
    const bool hole_case = port == hole_port;
    if (hole_case) {
      EXPECT_EQ(p.proc->log().find("mirror request failed"), std::string::npos)
          << "copies to the black hole should still be waiting";
    }
    ASSERT_TRUE(p.proc->signal(SIGTERM));
    EXPECT_EQ(p.proc->wait_exit(5s), 0) << p.proc->log();
    EXPECT_NE(p.proc->log().find("mirror request failed"), std::string::npos)
        << "the copies were sent (and failed or were closed at shutdown)";
  }
  ::close(hole);
}

// Retry middleware.
std::string retried(const std::vector<std::string>& urls, const std::string& retry_lines) {
  std::string y =
      "http:\n  routers:\n    r:\n      rule: \"PathPrefix(`/`)\"\n      service: s\n" +
      std::string(retry_lines.empty() ? "" : "      middlewares: [retry]\n") +
      "  middlewares:\n    retry:\n      retry:\n" +
      (retry_lines.empty() ? "        attempts: 1\n" : retry_lines) +
      "  services:\n    s:\n      loadBalancer:\n        servers:\n";
  for (const auto& u : urls) y += "          - url: \"" + u + "\"\n";
  return y;
}

std::string dead_url() { return "http://127.0.0.1:" + std::to_string(free_port()); }

TEST(RetryMiddleware, ThreeAttemptsGetPastTwoRefusingServers) {
  TempDir dir;
  Whoami a = start_whoami(dir, "a");
  const std::vector<std::string> urls = {dead_url(), dead_url(), a.url()};
  // Without the middleware, one retry: round robin tries both dead servers first, so 502.
  {
    TempDir d;
    Portier p = start_portier(d, retried(urls, ""), "", "", 1);
    auto r = http_get(p.port, "x", "/");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 502);
  }
  TempDir d;
  Portier p = start_portier(
      d, retried(urls, "        attempts: 3\n        initialInterval: 50ms\n"), "", "", 1);
  auto r = http_get(p.port, "x", "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("x-whoami-name"), "a");
  EXPECT_TRUE(p.proc->wait_for_log("retrying request.*in=50ms try=2/3", 1s)) << p.proc->log();
  EXPECT_TRUE(p.proc->wait_for_log("retrying request.*in=75ms try=3/3", 1s)) << p.proc->log();
}

TEST(RetryMiddleware, PostWithBodyIsRetriedWhenNothingWasSent) {
  TempDir dir;
  Whoami a = start_whoami(dir, "a");
  Portier p = start_portier(dir,
                            retried({dead_url(), dead_url(), a.url()},
                                    "        attempts: 3\n        initialInterval: 10ms\n"),
                            "", "", 1);
  Conn c(p.port);
  c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello there");
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello there") << "the body reached the third server whole";
}

TEST(RetryMiddleware, BacksOffAndGivesUpWith502) {
  TempDir dir;
  Portier p = start_portier(
      dir, retried({dead_url()}, "        attempts: 3\n        initialInterval: 200ms\n"), "",
      "", 1);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = http_get(p.port, "x", "/");
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
  // Waits of 200 ms and 300 ms (Traefik's back-off: x1.5, at most 2x) before the second and
  // third tries of the only server.
  EXPECT_GE(took, 500ms);
  EXPECT_LT(took, 3s);
}

TEST(RetryMiddleware, ServerBackDuringBackoffAnswers) {
  TempDir dir;
  const int port = free_port();
  Portier p = start_portier(
      dir,
      retried({"http://127.0.0.1:" + std::to_string(port)},
              "        attempts: 5\n        initialInterval: 300ms\n"),
      "", "", 1);
  std::optional<Response> r;
  std::thread client([&] { r = http_get(p.port, "x", "/"); });
  // The first try is refused; the server comes up while portier waits to retry.
  ASSERT_TRUE(p.proc->wait_for_log("retrying request", 2s));
  auto w = Process::start({WHOAMI_BIN, "--addr", "127.0.0.1:" + std::to_string(port), "--name",
                           "late"},
                          dir.path() / "whoami-late.log");
  client.join();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("x-whoami-name"), "late");
}

}  // namespace
}  // namespace portier::test
