// Faults a hostile or unlucky backend or client can cause (issue 11): responses nobody asked for
// on pooled connections, endless 1xx, silent connections, descriptor exhaustion, and passive
// health marks that outlive a server's recovery. Real portier processes, real sockets.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <thread>

#include "support/h2_client.h"
#include "support/net.h"
#include "support/process.h"

namespace portier::test {
namespace {

using namespace std::chrono_literals;

// A backend that misbehaves on purpose. Each connection gets a thread that reads bodiless
// requests and answers each with its path as the body, then, depending on the mode:
//   Late:    50 ms later writes a second, unrequested response ("stale:<path>");
//   Glued:   every second response carries an unrequested one in the same write;
//   Interim: sends `interim` 103 responses before the real one.
// Everything is bounded: 5 s receive timeouts, threads joined at destruction.
class Rogue {
 public:
  enum class Mode { Late, Glued, Interim };
  explicit Rogue(Mode mode, int interim = 0) : mode_(mode), interim_(interim) {
    fd_ = listen_loopback(64, port_);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~Rogue() {
    stop_ = true;
    acceptor_.join();
    {
      std::lock_guard l(mu_);
      for (int c : conns_) ::shutdown(c, SHUT_RDWR);
    }
    for (auto& t : workers_) t.join();
    for (int c : conns_) ::close(c);
    ::close(fd_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int connections() const { return accepted_.load(); }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      ++accepted_;
      timeval tv{5, 0};
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      std::lock_guard l(mu_);
      conns_.push_back(c);
      workers_.emplace_back([this, c] { serve(c); });
    }
  }
  static std::string response(const std::string& body) {
    return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  }
  void serve(int c) {
    std::string in;
    char buf[4096];
    int answered = 0;
    while (!stop_) {
      std::size_t end = in.find("\r\n\r\n");
      if (end == std::string::npos) {
        ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) return;
        in.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      const std::size_t sp = in.find(' ');
      const std::string path = in.substr(sp + 1, in.find(' ', sp + 1) - sp - 1);
      in.erase(0, end + 4);
      std::string out;
      if (mode_ == Mode::Interim) {
        for (int i = 0; i < interim_; ++i)
          out += "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n";
      }
      out += response(path);
      if (mode_ == Mode::Glued && answered % 2 == 1) out += response("stale:" + path);
      ++answered;
      if (::send(c, out.data(), out.size(), MSG_NOSIGNAL) < 0) return;
      if (mode_ == Mode::Late) {
        std::this_thread::sleep_for(50ms);
        std::string stale = response("stale:" + path);
        if (::send(c, stale.data(), stale.size(), MSG_NOSIGNAL) < 0) return;
      }
    }
  }

  Mode mode_;
  int interim_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<int> conns_;
  std::vector<std::thread> workers_;
};

// Before the fix, a pooled connection idle for less than 200 ms was reused unchecked: the late
// answer to request i was read as the answer to request i+1, which went to another client.
TEST(UpstreamReuse, LateBytesOnAnIdleConnectionNeverReachTheNextClient) {
  TempDir dir;
  Rogue backend(Rogue::Mode::Late);
  Portier p = start_portier(dir, route_to(backend.url()), "", "", 1);
  for (int i = 0; i < 8; ++i) {
    const std::string path = "/echo/" + std::to_string(i);
    auto r = http_get(p.port, "x", path);  // a new client connection each time
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, path) << "request " << i << " got another request's response";
    std::this_thread::sleep_for(150ms);  // the stale answer arrives while the connection idles
  }
  // Every connection that received bytes nobody asked for was closed, not reused.
  EXPECT_GE(backend.connections(), 8);
}

// Under load, with every second backend response followed by an unrequested one in the same
// write: every client gets exactly the answer to its own request.
TEST(UpstreamReuse, EveryResponseMatchesItsRequestUnderLoad) {
  TempDir dir;
  Rogue backend(Rogue::Mode::Glued);
  Portier p = start_portier(dir, route_to(backend.url()), "", "", 1);
  constexpr int kClients = 4, kRequests = 250;
  std::atomic<int> ok{0}, wrong{0}, failed{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < kClients; ++t) {
    clients.emplace_back([&, t] {
      Conn c(p.port, 10s);
      for (int i = 0; i < kRequests; ++i) {
        const std::string path = "/c" + std::to_string(t) + "/" + std::to_string(i);
        if (!c.send("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n")) {
          ++failed;
          return;
        }
        auto r = c.read_response();
        if (!r) {
          ++failed;
          return;
        }
        (r->body == path ? ok : wrong)++;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(ok.load(), kClients * kRequests);
}

// A backend that sends 1xx responses without end holds the client forever: after five, portier
// gives up (as Go's transport does), and the client never sees more than five.
TEST(UpstreamReuse, InterimResponsesAreCapped) {
  TempDir dir;
  Rogue endless(Rogue::Mode::Interim, 20), polite(Rogue::Mode::Interim, 2);
  std::string cfg =
      "http:\n  routers:\n    a:\n      rule: \"Host(`endless`)\"\n      service: a\n"
      "    b:\n      rule: \"Host(`polite`)\"\n      service: b\n  services:\n"
      "    a:\n      loadBalancer:\n        servers:\n          - url: \"" +
      endless.url() + "\"\n    b:\n      loadBalancer:\n        servers:\n          - url: \"" +
      polite.url() + "\"\n";
  Portier p = start_portier(dir, cfg, "", "", 1);
  auto count = [](const std::string& s, const std::string& what) {
    int n = 0;
    for (std::size_t i = s.find(what); i != std::string::npos; i = s.find(what, i + 1)) ++n;
    return n;
  };
  {
    Conn c(p.port);
    c.send("GET /x HTTP/1.1\r\nHost: endless\r\n\r\n");
    std::string all = c.read_all();  // portier closes once it gives up
    EXPECT_EQ(count(all, "HTTP/1.1 103"), 5) << all;
    EXPECT_EQ(count(all, "HTTP/1.1 200"), 0) << all;
    EXPECT_TRUE(p.proc->wait_for_log("too many 1xx responses from upstream", 2s));
  }
  Conn c(p.port);
  c.send("GET /y HTTP/1.1\r\nHost: polite\r\nConnection: close\r\n\r\n");
  std::string all = c.read_all();
  EXPECT_EQ(count(all, "HTTP/1.1 103"), 2) << all;
  EXPECT_NE(all.find("HTTP/1.1 200 OK"), std::string::npos) << all;
  EXPECT_NE(all.find("\r\n\r\n/y"), std::string::npos) << all;
}

// A connection that never sends a byte is closed after readHeaderTimeout, not idleTimeout;
// between keep-alive requests the idle timeout still applies.
TEST(ClientTimeouts, SilentConnectionsGetTheHeaderTimeoutNotTheIdleOne) {
  TempDir dir;
  Whoami w = start_whoami(dir, "w");
  Portier p = start_portier(dir, route_to(w.url()),
                            "    transport:\n      respondingTimeouts:\n"
                            "        readHeaderTimeout: 1s\n        idleTimeout: 30s\n",
                            "", 1);
  Conn silent(p.port, 10s);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(silent.wait_closed(6s)) << "a silent connection outlived readHeaderTimeout";
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 800ms);
  EXPECT_LT(took, 4s);

  Conn keep(p.port, 10s);
  keep.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  auto first = keep.read_response();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200);
  std::this_thread::sleep_for(1500ms);  // longer than readHeaderTimeout, shorter than idle
  ASSERT_TRUE(keep.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto second = keep.read_response();
  ASSERT_TRUE(second) << "the idle timeout, not the header timeout, applies between requests";
  EXPECT_EQ(second->status, 200);
}

std::optional<std::pair<long, long>> open_files_limit(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
  std::string line;
  std::regex re(R"(^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited))");
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_search(line, m, re)) {
      auto v = [](const std::string& s) { return s == "unlimited" ? -1L : std::stol(s); };
      return std::make_pair(v(m[1].str()), v(m[2].str()));
    }
  }
  return std::nullopt;
}

// portier starts with the soft descriptor limit raised to the hard one, whatever it was given.
TEST(Descriptors, SoftLimitIsRaisedToTheHardLimit) {
  struct rlimit mine {};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &mine), 0);
  if (mine.rlim_max != RLIM_INFINITY && mine.rlim_max <= 256) {
    GTEST_SKIP() << "hard limit too low to lower the soft one";
  }
  struct rlimit low = mine;
  low.rlim_cur = 256;  // what the child inherits
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  TempDir dir;
  Whoami w = start_whoami(dir, "w");
  std::optional<Portier> p;
  try {
    p.emplace(start_portier(dir, route_to(w.url()), "", "", 1));
  } catch (...) {
    setrlimit(RLIMIT_NOFILE, &mine);
    throw;
  }
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &mine), 0);
  auto limits = open_files_limit(p->proc->pid());
  ASSERT_TRUE(limits);
  EXPECT_EQ(limits->first, limits->second);
  EXPECT_GT(limits->first, 256);
  EXPECT_TRUE(
      p->proc->wait_for_log("file descriptor limit.*soft=" + (mine.rlim_max == RLIM_INFINITY
                                                                  ? std::string("unlimited")
                                                                  : std::to_string(mine.rlim_max)),
                            1s));
}

long count_lines(const std::string& log, const std::string& what) {
  long n = 0;
  for (std::size_t i = log.find(what); i != std::string::npos; i = log.find(what, i + 1)) ++n;
  return n;
}

// Out of descriptors, portier backs off (one warning, not a flood) and accepts again once
// descriptors are free.
TEST(Descriptors, AcceptBacksOffWhenOutOfDescriptorsAndRecovers) {
  TempDir dir;
  Whoami w = start_whoami(dir, "w");
  Portier p = start_portier(dir, route_to(w.url()), "", "", 1);
  const pid_t pid = p.proc->pid();
  long open_now = 0;
  for ([[maybe_unused]] auto& e :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    ++open_now;
  }
  // Only the soft limit: lowering the hard one could not be undone without privileges.
  struct rlimit given {};
  ASSERT_EQ(prlimit(pid, RLIMIT_NOFILE, nullptr, &given), 0);
  struct rlimit tight = given;
  tight.rlim_cur = static_cast<rlim_t>(open_now + 6);
  ASSERT_EQ(prlimit(pid, RLIMIT_NOFILE, &tight, nullptr), 0);

  std::vector<std::unique_ptr<Conn>> hogs;
  for (int i = 0; i < 20; ++i) hogs.push_back(std::make_unique<Conn>(p.port, 10s));
  ASSERT_TRUE(p.proc->wait_for_log("accept failed; backing off", 5s)) << p.proc->log();
  // Let failures pile up for a while: the old loop logged ten warnings a second per worker.
  std::this_thread::sleep_for(1500ms);
  EXPECT_LE(count_lines(p.proc->log(), "accept failed"), 2) << p.proc->log();

  hogs.clear();  // portier sees them close and frees their descriptors
  ASSERT_EQ(prlimit(pid, RLIMIT_NOFILE, &given, nullptr), 0);
  EXPECT_TRUE(p.proc->wait_for_log("accepting again", 5s)) << p.proc->log();
  auto r = http_get(p.port, "x", "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

std::string two_servers_checked(const std::string& a, const std::string& b) {
  return "http:\n  routers:\n    r:\n      rule: \"PathPrefix(`/`)\"\n      service: s\n"
         "  services:\n    s:\n      loadBalancer:\n        healthCheck:\n"
         "          path: /health\n          interval: 200ms\n          timeout: 500ms\n"
         "        servers:\n          - url: \"" +
         a + "\"\n          - url: \"" + b + "\"\n";
}

// A server that was passively marked down (it refused a connection) is back in rotation as
// soon as its active health check passes again, not only when the 10 s mark runs out.
TEST(PassiveHealth, APassingActiveCheckClearsThePassiveMark) {
  TempDir dir;
  const int a_port = free_port();
  auto start_a = [&] {
    return start_whoami(dir, "a", {"--addr", "127.0.0.1:" + std::to_string(a_port)});
  };
  std::optional<Whoami> a(start_a());
  Whoami b = start_whoami(dir, "b");
  Portier p = start_portier(dir, two_servers_checked(a->url(), b.url()), "", "", 1);
  auto names = [&](int n) {
    std::map<std::string, int> seen;
    for (int i = 0; i < n; ++i) {
      auto r = http_get(p.port, "x", "/");
      if (r) seen[r->header("x-whoami-name")]++;
    }
    return seen;
  };
  ASSERT_TRUE(poll_until([&] { return names(4)["a"] > 0; }, 5s));
  a.reset();  // killed: its port refuses connections
  // Requests until one hits the dead server before the health check notices: passive mark.
  ASSERT_TRUE(poll_until(
      [&] {
        names(2);
        return p.proc->log().find("server failed; out of this worker's rotation") !=
               std::string::npos;
      },
      5s))
      << p.proc->log();
  const auto marked = std::chrono::steady_clock::now();
  a.emplace(start_a());
  EXPECT_TRUE(poll_until([&] { return names(4)["a"] > 0; }, 6s))
      << "the restarted server got no traffic while its health check passed";
  EXPECT_LT(std::chrono::steady_clock::now() - marked, 8s);
}

// Server names are resolved in the background: the service comes up without a blocking lookup
// on the control thread ("localhost" is answered from /etc/hosts; no DNS server is asked).
TEST(ServerNames, AServiceWithAHostNameComesUpOnceItResolves) {
  TempDir dir;
  Whoami w = start_whoami(dir, "named");
  Portier p = start_portier(dir, route_to("http://localhost:" + std::to_string(w.port)), "", "", 1);
  EXPECT_TRUE(poll_until(
      [&] {
        auto r = http_get(p.port, "x", "/");
        return r && r->status == 200 && r->header("x-whoami-name") == "named";
      },
      5s))
      << p.proc->log();
}

// Mirror copies are capped per worker, and a request over the cap keeps no body for them:
// with 64 copies held by a mirror that never answers, more requests go to the main service
// only.
TEST(MirrorCap, AtMostSixtyFourCopiesPerWorkerAndNoneBeyond) {
  TempDir dir;
  Whoami main = start_whoami(dir, "main");
  int hole_port = 0;
  const int hole = listen_loopback(256, hole_port);  // accepts (in the kernel), never answers
  std::string cfg =
      "http:\n  routers:\n    r:\n      rule: \"PathPrefix(`/`)\"\n      service: m\n"
      "  services:\n    m:\n      mirroring:\n        service: main\n        mirrors:\n"
      "          - name: hole\n            percent: 100\n"
      "    main:\n      loadBalancer:\n        servers:\n          - url: \"" +
      main.url() +
      "\"\n    hole:\n      loadBalancer:\n        servers:\n"
      "          - url: \"http://127.0.0.1:" +
      std::to_string(hole_port) + "\"\n";
  Portier p = start_portier(dir, cfg, "", "", 1);
  Conn c(p.port);
  for (int i = 0; i < 80; ++i) {
    c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
    auto r = c.read_response();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "abc");
  }
  // Sixteen requests found every slot taken: said so, and nothing kept for them.
  EXPECT_TRUE(poll_until(
      [&] {
        return count_lines(p.proc->log(), "request not mirrored: too many mirror requests") == 16;
      },
      5s))
      << p.proc->log();
  ::close(hole);
}

long vm_size_kib(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmSize:", 0) == 0) return std::stol(line.substr(7));
  }
  return -1;
}

// A proxy whose one route buffers request bodies of up to 1 GiB, and a way to cap its address
// space at 96 MiB above what it maps now: a body of 192 MiB then cannot fit.
struct Buffering {
  TempDir dir;
  Whoami w = start_whoami(dir, "w");
  Portier p;
  struct rlimit given {};
  Buffering() {
    std::string cfg = route_to(w.url()) +
                      "  middlewares:\n    buffer:\n      buffering:\n"
                      "        maxRequestBodyBytes: 1073741824\n";
    cfg.replace(cfg.find("      service: s\n"), 0, "      middlewares: [buffer]\n");
    p = start_portier(dir, cfg, "", "", 1);
  }
  void cap() {
    const pid_t pid = p.proc->pid();
    const long vm = vm_size_kib(pid);
    ASSERT_GT(vm, 0);
    ASSERT_EQ(prlimit(pid, RLIMIT_AS, nullptr, &given), 0);
    struct rlimit tight = given;
    tight.rlim_cur = static_cast<rlim_t>(vm + 96 * 1024) * 1024;
    ASSERT_EQ(prlimit(pid, RLIMIT_AS, &tight, nullptr), 0);
  }
  void uncap() { ASSERT_EQ(prlimit(p.proc->pid(), RLIMIT_AS, &given, nullptr), 0); }
  bool logged(const std::string& answered) {
    return p.proc
        ->wait_for_log(
            "level=error msg=\"request failed: internal error\" entrypoint=web "
            "client=127\\.0\\.0\\.1 error=std::bad_alloc answered=" +
                answered,
            2s)
        .has_value();
  }
  static constexpr std::size_t kBody = std::size_t{192} << 20;
};

// Sends `method` with a body the buffering middleware cannot hold, until the answer comes (the
// body's string cannot grow past 64 MiB). Returns the body bytes sent.
std::size_t send_too_large(Conn& c, std::string_view method) {
  if (!c.send(std::string(method) + " / HTTP/1.1\r\nHost: x\r\nContent-Length: " +
              std::to_string(Buffering::kBody) + "\r\n\r\n")) {
    return 0;
  }
  const std::string chunk(256 * 1024, 'a');
  std::size_t sent = 0;
  const auto until = std::chrono::steady_clock::now() + 20s;
  while (sent < Buffering::kBody && std::chrono::steady_clock::now() < until) {
    pollfd pf{c.fd(), POLLIN | POLLOUT, 0};
    if (::poll(&pf, 1, 1000) < 0) break;
    if (pf.revents & (POLLIN | POLLHUP | POLLERR)) break;  // the answer (or the end) is here
    if (!(pf.revents & POLLOUT)) continue;
    const ssize_t n = ::send(c.fd(), chunk.data(), std::min(chunk.size(), Buffering::kBody - sent),
                             MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN) break;
    if (n > 0) sent += static_cast<std::size_t>(n);
  }
  return sent;
}

// An exception in a request (here std::bad_alloc: the buffering middleware's body outgrows the
// address-space cap set on the running proxy) is an answer and a log line, not a connection
// closed in silence: the client gets a 500, the error log names the exception, and the next
// request is served.
TEST(InternalErrors, ARequestThatRunsOutOfMemoryGetsA500AndTheProxyGoesOn) {
  Buffering b;
  ASSERT_EQ(http_get(b.p.port, "x", "/")->status, 200);
  b.cap();
  Conn c(b.p.port, 10s);
  const std::size_t sent = send_too_large(c, "POST");
  auto r = c.read_response();
  ASSERT_TRUE(r) << "no answer after " << sent << " body bytes\n" << b.p.proc->log();
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_LT(sent, Buffering::kBody);
  EXPECT_TRUE(b.logged("500")) << b.p.proc->log();

  b.uncap();
  auto again = http_get(b.p.port, "x", "/");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
  EXPECT_TRUE(b.p.proc->running());
}

// The 500 to a HEAD request is a head alone: what follows it on the connection is nothing.
TEST(InternalErrors, TheAnswerToAHeadRequestHasNoBody) {
  Buffering b;
  b.cap();
  Conn c(b.p.port, 10s);
  const std::size_t sent = send_too_large(c, "HEAD");
  const std::string all = c.read_all();  // the proxy closes after the answer
  const auto end = all.find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos) << "after " << sent << " body bytes: " << all << "\n"
                                    << b.p.proc->log();
  EXPECT_EQ(all.substr(0, 13), "HTTP/1.1 500 ");
  EXPECT_NE(all.find("\r\nContent-Length: "), std::string::npos) << all;
  EXPECT_EQ(all.substr(end + 4), "") << all;
  EXPECT_TRUE(b.logged("500")) << b.p.proc->log();
}

// The same over HTTP/2 (h2c): the stream gets the 500, and the connection serves the next one.
TEST(InternalErrors, AnHttp2StreamThatRunsOutOfMemoryGetsA500) {
  Buffering b;
  Conn c(b.p.port, 10s);
  H2Client h2(c);
  const auto first = h2.request("GET", "x", "/", {}, "", false, "http");
  ASSERT_TRUE(h2.wait_all());
  ASSERT_EQ(h2.responses[first].status, 200);
  b.cap();
  const auto big =
      h2.request("POST", "x", "/", {}, std::string(Buffering::kBody, 'a'), true, "http");
  ASSERT_TRUE(h2.pump([&] { return h2.responses[big].done || h2.responses[big].reset; }, 20s))
      << b.p.proc->log();
  EXPECT_EQ(h2.responses[big].status, 500);
  EXPECT_TRUE(b.logged("500")) << b.p.proc->log();
  b.uncap();
  const auto next = h2.request("GET", "x", "/", {}, "", false, "http");
  ASSERT_TRUE(h2.pump([&] { return h2.responses[next].done; }, 5s)) << b.p.proc->log();
  EXPECT_EQ(h2.responses[next].status, 200);
}

// Memory running out inside nghttp2's callbacks, where an exception must not unwind through
// its C code: here an HTTP/2 request's header fields (120 KB) outgrow what malloc gives, by
// fault injection (tests/support/failalloc.cc: no real limit fails at this one place). The
// connection ends with GOAWAY INTERNAL_ERROR, the error log says why, the proxy goes on.
TEST(InternalErrors, MemoryRunningOutInsideNghttp2EndsTheConnectionNotTheProxy) {
  TempDir dir;
  Whoami w = start_whoami(dir, "w");
  const std::string armed = (dir.path() / "armed").string();
  ::setenv("LD_PRELOAD", FAILALLOC_LIB, 1);
  ::setenv("FAILALLOC_MIN", "100000", 1);  // the fields' string growing past 64 KiB
  ::setenv("FAILALLOC_MAX", "400000", 1);
  ::setenv("FAILALLOC_ARMED", armed.c_str(), 1);
  Portier p = start_portier(dir, route_to(w.url()), "    maxHeaderBytes: 1048576\n", "", 1);
  for (const char* v : {"LD_PRELOAD", "FAILALLOC_MIN", "FAILALLOC_MAX", "FAILALLOC_ARMED"}) {
    ::unsetenv(v);
  }
  std::vector<std::pair<std::string, std::string>> fields;
  // One field 120 times: HPACK sends it once and then as an index (the server takes at most
  // nine frames of 16 KiB for a header block), the proxy stores it 120 times.
  for (int i = 0; i < 120; ++i) fields.emplace_back("x-f", std::string(1000, 'a'));

  {  // Not armed: the same request is answered.
    Conn c(p.port, 10s);
    H2Client h2(c);
    const auto id = h2.request("GET", "x", "/", fields, "", false, "http");
    ASSERT_TRUE(h2.wait_all()) << p.proc->log();
    EXPECT_GT(h2.responses[id].status, 0)
        << "reset " << h2.responses[id].reset << " code " << h2.responses[id].reset_code
        << " closed " << h2.closed << "\n"
        << p.proc->log();
    EXPECT_FALSE(h2.goaway);
  }
  dir.write("armed", "");
  {
    Conn c(p.port, 10s);
    H2Client h2(c);
    h2.request("GET", "x", "/", fields, "", false, "http");
    ASSERT_TRUE(h2.pump([&] { return h2.goaway || h2.closed; }, 10s)) << p.proc->log();
    EXPECT_TRUE(h2.goaway);
    EXPECT_EQ(h2.goaway_code, 2u);  // INTERNAL_ERROR
  }
  EXPECT_TRUE(p.proc
                  ->wait_for_log("level=error msg=\"HTTP/2 connection failed: internal error\" "
                                 "entrypoint=web client=127\\.0\\.0\\.1 error=std::bad_alloc",
                                 2s)
                  .has_value())
      << p.proc->log();
  std::filesystem::remove(armed);
  auto again = http_get(p.port, "x", "/");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
  EXPECT_TRUE(p.proc->running());
}

}  // namespace
}  // namespace portier::test
