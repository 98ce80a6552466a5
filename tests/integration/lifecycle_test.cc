// Process lifecycle: graceful shutdown with a request in flight, grace expiry, slow and idle
// clients timed out, a broken static file refused with its location.
#include <elf.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdlib.h>

#include <cstring>
#include <fstream>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "support/certs.h"
#include "support/net.h"
#include "support/process.h"

namespace portier::test {
namespace {

using namespace std::chrono_literals;

// The dynamic configuration of whoami `w` behind `host`: router r2 over TLS with `leaf`'s
// certificate and, with `plain`, router r without TLS.
std::string host_routes(const Whoami& w, const std::string& host, const CertFiles& leaf,
                        bool plain) {
  const std::string rule = "      rule: \"Host(`" + host + "`)\"\n      service: s\n";
  return "http:\n  routers:\n" + (plain ? "    r:\n" + rule : std::string()) + "    r2:\n" + rule +
         "      tls: {}\n  services:\n    s:\n      loadBalancer:\n        servers:\n"
         "          - url: \"" + w.url() + "\"\n"
         "tls:\n  certificates:\n    - certFile: " + leaf.cert.string() +
         "\n      keyFile: " + leaf.key.string() + "\n";
}

bool can_connect(int port) {
  try {
    Conn c(port, 1s);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

TEST(Lifecycle, GracefulShutdownFinishesInFlightRequest) {
  TempDir dir;
  Whoami w = start_whoami(dir, "slow");
  Portier p = start_portier(dir, route_to(w.url()));
  Conn idle(p.port);  // an idle keep-alive connection: closed at once on shutdown
  ASSERT_TRUE(idle.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(idle.read_response());
  auto slow =
      std::async(std::launch::async, [&] { return http_get(p.port, "x", "/slow?ms=1500"); });
  ASSERT_TRUE(backend_got(w, 2)) << "the slow request never reached the backend";
  ASSERT_TRUE(p.proc->signal(SIGTERM));
  EXPECT_TRUE(idle.wait_closed(1s));
  EXPECT_TRUE(poll_until([&] { return !can_connect(p.port); }, 2s)) << "still accepting";
  auto r = slow.get();
  ASSERT_TRUE(r) << p.proc->log();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("connection"), "close");
  auto code = p.proc->wait_exit(5s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0);
}

TEST(Lifecycle, GraceExpiryClosesTheRest) {
  TempDir dir;
  Whoami w = start_whoami(dir, "slower");
  Portier p = start_portier(dir, route_to(w.url()),
                            "    transport:\n      lifeCycle:\n        graceTimeOut: 500ms\n");
  Conn c(p.port, 10s);
  c.send("GET /slow?ms=8000 HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(backend_got(w, 1)) << "the slow request never reached the backend";
  auto start = std::chrono::steady_clock::now();
  p.proc->signal(SIGINT);
  auto code = p.proc->wait_exit(5s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_TRUE(c.wait_closed(1s));
}

TEST(Lifecycle, SlowHeadersAndIdleConnectionsTimeOut) {
  TempDir dir;
  Whoami w = start_whoami(dir, "t");
  Portier p = start_portier(dir, route_to(w.url()),
                            "    transport:\n      respondingTimeouts:\n"
                            "        readHeaderTimeout: 1s\n        idleTimeout: 1s\n");
  // Slowloris: a head that never ends.
  Conn slow(p.port);
  slow.send("GET / HTTP/1.1\r\nHost: x\r\n");
  auto start = std::chrono::steady_clock::now();
  std::string trickle = "X-A: b\r\n";
  bool closed = false;
  for (int i = 0; i < 40 && !closed; ++i) {
    closed = !slow.send(trickle) || slow.wait_closed(100ms);
  }
  EXPECT_TRUE(closed);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  // Idle keep-alive connection.
  Conn idle(p.port);
  idle.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(idle.read_response());
  start = std::chrono::steady_clock::now();
  EXPECT_TRUE(idle.wait_closed(3s));
  EXPECT_GT(std::chrono::steady_clock::now() - start, 700ms);
}

// A worker keeps an ended connection's buffer for its next connection: nothing the first
// client sent may reach the next one. Here the first leaves half a request behind in it.
TEST(Lifecycle, ANewConnectionStartsWithNothingOfThePreviousOne) {
  TempDir dir;
  Whoami w = start_whoami(dir, "app");
  Portier p = start_portier(dir, route_to(w.url()), "", "", /*workers=*/1);
  {
    Conn first(p.port);
    ASSERT_TRUE(first.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /secret HTTP/1.1\r\nHo"));
    auto r = first.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    first.shutdown_write();
    ASSERT_TRUE(first.wait_closed(5s)) << "the half request kept the connection open";
  }
  for (int i = 0; i < 3; ++i) {
    Conn next(p.port);
    ASSERT_TRUE(next.send("GET /b" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = next.read_response();
    ASSERT_TRUE(r) << p.proc->log();
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_NE(r->body.find("GET /b" + std::to_string(i) + " "), std::string::npos) << r->body;
    EXPECT_EQ(r->body.find("secret"), std::string::npos) << r->body;
  }
}

TEST(Lifecycle, BrokenStaticConfigIsRefusedWithLocation) {
  TempDir dir;
  auto cfg = dir.write("portier.yml", "entryPoints:\n  web:\n    adress: \":8000\"\n");
  auto p = Process::start({PORTIER_BIN, "--configFile=" + cfg.string()}, dir.path() / "out.log");
  auto code = p->wait_exit(5s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 2);
  std::string log = p->log();
  EXPECT_NE(log.find("portier.yml:3:5: unknown key `entryPoints.web.adress`; did you mean "
                     "`entryPoints.web.address`?"),
            std::string::npos)
      << log;
}

TEST(Lifecycle, StartsFromFlagsAndEnvironmentAlone) {
  TempDir dir;
  Whoami w = start_whoami(dir, "flags");
  auto dyn = dir.write("routes.yml", route_to(w.url()));
  // The environment says warn, the flag says debug: the flag wins. No configuration file.
  ::setenv("PORTIER_LOG_LEVEL", "warn", 1);
  ::setenv("PORTIER_ENTRYPOINTS_WEB_ADDRESS", "127.0.0.1:1", 1);  // overridden by the flag
  auto p = Process::start(
      {PORTIER_BIN, "--entryPoints.web.address=127.0.0.1:0", "--providers.file.filename",
       dyn.string(), "--log.level=debug", "--workers=1"},
      dir.path() / "flags.log");
  ::unsetenv("PORTIER_LOG_LEVEL");
  ::unsetenv("PORTIER_ENTRYPOINTS_WEB_ADDRESS");
  auto port = p->wait_for_log("entrypoint=web address=127\\.0\\.0\\.1:([0-9]+)", 5s);
  ASSERT_TRUE(port) << p->log();
  ASSERT_TRUE(p->wait_for_log("configuration applied", 5s));
  auto r = http_get(std::stoi(*port), "x", "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  // The flag's level (debug) applies, not the environment's (warn): a bad request is logged at
  // debug, and "entrypoint listening" (info) above would not have appeared at warn.
  Conn c(std::stoi(*port));
  c.send("GET / HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(c.read_response());
  EXPECT_TRUE(p->wait_for_log("level=debug msg=\"bad request\"", 2s)) << p->log();
  // A misspelt flag is refused with a suggestion, like a misspelt key.
  auto bad = Process::start({PORTIER_BIN, "--entryPoints.web.adress=:0"}, dir.path() / "bad.log");
  auto code = bad->wait_exit(5s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 2);
  EXPECT_NE(bad->log().find("did you mean `entryPoints.web.address`?"), std::string::npos)
      << bad->log();
}

TEST(Lifecycle, DisabledRouterIsReportedOthersServe) {
  TempDir dir;
  Whoami w = start_whoami(dir, "ok");
  std::string dyn =
      "http:\n  routers:\n    broken:\n      rule: \"Host(`bad`\"\n      service: s\n"
      "    good:\n      rule: \"Host(`good.localhost`)\"\n      service: s\n"
      "  services:\n    s:\n      loadBalancer:\n        servers:\n          - url: \"" +
      w.url() + "\"\n";
  Portier p = start_portier(dir, dyn);
  EXPECT_TRUE(
      p.proc->wait_for_log("configuration object disabled\" object=\"router broken@file\"", 2s))
      << p.proc->log();
  auto r = http_get(p.port, "good.localhost", "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

// Whether the ELF file's dynamic section asks for every symbol to be bound at start-up
// (DF_BIND_NOW in DT_FLAGS or DF_1_NOW in DT_FLAGS_1: `-z now`).
bool binds_now(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  Elf64_Ehdr eh{};
  if (!in.read(reinterpret_cast<char*>(&eh), sizeof eh) ||
      std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64) {
    return false;
  }
  for (int i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph{};
    in.seekg(static_cast<std::streamoff>(eh.e_phoff + i * sizeof ph));
    if (!in.read(reinterpret_cast<char*>(&ph), sizeof ph)) return false;
    if (ph.p_type != PT_DYNAMIC) continue;
    in.seekg(static_cast<std::streamoff>(ph.p_offset));
    for (Elf64_Dyn d{}; in.read(reinterpret_cast<char*>(&d), sizeof d) && d.d_tag != DT_NULL;) {
      if (d.d_tag == DT_FLAGS && (d.d_un.d_val & DF_BIND_NOW) != 0) return true;
      if (d.d_tag == DT_FLAGS_1 && (d.d_un.d_val & DF_1_NOW) != 0) return true;
    }
  }
  return false;
}

// After loading's pages are released, serving maps back only the code it runs. The linker
// placed the functions serving runs together (src/app/hot_functions.txt, CMakeLists.txt's
// PORTIER_ORDER_FUNCTIONS): plain HTTP's first, then what HTTPS adds, OpenSSL's code among it
// (linked in: PORTIER_STATIC_OPENSSL). So plain requests map a few hundred KiB of portier's code
// and no TLS code, and HTTPS requests, handshakes included, about 2 MB of code in all rather
// than 3 MB (libcrypto.so's 2.5 MB of code nearly all mapped by a handshake: the kernel maps
// 64 KiB around each page it faults in). And every symbol is bound at start-up (-z now): a
// first call while serving would read the libraries' symbol tables back in.
TEST(Lifecycle, ServingMapsLittleOfTheProgramsCode) {
  EXPECT_TRUE(binds_now(PORTIER_BIN)) << PORTIER_BIN << " binds symbols lazily";
#ifndef PORTIER_CODE_ORDERED
  GTEST_SKIP() << "built without lld (CMakeLists.txt, PORTIER_ORDER_FUNCTIONS): default order";
#endif
  TempDir dir;
  const CertFiles ca = make_ca(dir, "ca", "code test CA");
  const CertFiles leaf = make_leaf(dir, ca, "leaf", {"code.test"});
  Whoami w = start_whoami(dir, "app");
  const std::string dyn = host_routes(w, "code.test", leaf, /*plain=*/true);
  const std::string static_yaml =
      "entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\n"
      "  websecure:\n    address: \"127.0.0.1:0\"\n"
      "providers:\n  file:\n    filename: dynamic.yml\n";
  // At the default log level: debug lines come from code serving does not run otherwise.
  Portier p = start_portier_static(dir, static_yaml, dyn, {"web", "websecure"}, 1, "info");
  const pid_t pid = p.proc->pid();
  // portier's code, and with it OpenSSL's when the shared libraries are not linked.
  const auto code = [&] { return mapped_kib(pid, PORTIER_BIN, "r-xp"); };
  const auto all_code = [&] {
    return mapped_kib(
        pid,
        [&](const std::string& path) {
          const std::string name = std::filesystem::path(path).filename().string();
          return path == std::filesystem::canonical(PORTIER_BIN).string() ||
                 name.rfind("libssl.so", 0) == 0 || name.rfind("libcrypto.so", 0) == 0;
        },
        "r-xp");
  };
#ifdef PORTIER_OPENSSL_LINKED_IN
  // And nothing loads the shared OpenSSL (libcurl would, for ACME or Docker; none here).
  {
    std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
    for (std::string line; std::getline(maps, line);) {
      EXPECT_EQ(line.find("/libssl.so"), std::string::npos) << line;
      EXPECT_EQ(line.find("/libcrypto.so"), std::string::npos) << line;
    }
  }
#endif
  // The release comes two seconds after the load and logs at debug level: wait for the drop.
  long loaded = -1;
  ASSERT_TRUE(poll_until(
      [&] {
        loaded = code();
        return loaded >= 0 && loaded < 1024;
      },
      6s))
      << "portier's code mapped: " << loaded << " kB";

  const std::string request = "GET / HTTP/1.1\r\nHost: code.test\r\n\r\n";
  const auto serve = [&](bool secure) {
    TlsClientOptions tls;
    tls.sni = "code.test";
    tls.ca_file = ca.cert.string();
    for (int i = 0; i < 10; ++i) {
      Conn c(p.ports.at(secure ? "websecure" : "web"), 10s);
      if (secure) c.start_tls(tls);
      for (int j = 0; j < 5; ++j) {
        ASSERT_TRUE(c.send(request));
        auto r = c.read_response();
        ASSERT_TRUE(r) << p.proc->log();
        ASSERT_EQ(r->status, 200);
      }
    }
    std::this_thread::sleep_for(2500ms);  // the worker's ticks: parking, the trim after a burst
  };
  serve(false);
  const long plain = code();
  // 2.36 MB in the default order; 556-624 kB ordered, the page cache filled in different ways
  // (docs/performance.md, "code layout").
  EXPECT_LT(plain, 1024) << "after loading's release " << loaded
                         << " kB; if the request path changed, rerun tools/hot_functions.sh";
  serve(true);
  const long secure = all_code();
  // Shared OpenSSL: portier's 0.6 MB and libcrypto.so's 2.4 MB; linked in: 1.9-2.1 MB
  // (docs/performance.md, "OpenSSL linked in").
#ifdef PORTIER_OPENSSL_LINKED_IN
  EXPECT_LT(secure, 2560) << "after plain requests " << plain
                          << " kB; if the TLS path changed, rerun tools/hot_functions.sh";
#else
  GTEST_SKIP() << "OpenSSL's shared libraries (PORTIER_STATIC_OPENSSL): " << secure
               << " kB of code after HTTPS requests";
#endif
}

}  // namespace
}  // namespace portier::test

namespace portier::test {
namespace {

// SO_REUSEPORT spreads one process's connections over its workers; it must not let a second
// process (a second portier, an old one still running) share the port and half the traffic.
TEST(Lifecycle, ASecondProcessCannotListenOnTheSamePort) {
  TempDir dir;
  Whoami w = start_whoami(dir, "first");
  Portier first = start_portier(dir, route_to(w.url()));
  TempDir other;
  auto cfg = other.write("portier.yml", "entryPoints:\n  web:\n    address: \"127.0.0.1:" +
                                            std::to_string(first.port) + "\"\n");
  auto second =
      Process::start({PORTIER_BIN, "--configFile=" + cfg.string()}, other.path() / "second.log");
  auto code = second->wait_exit(std::chrono::seconds(10));
  ASSERT_TRUE(code) << "a second portier is listening on the same port";
  EXPECT_NE(*code, 0);
  EXPECT_NE(second->log().find("in use"), std::string::npos) << second->log();
  auto r = http_get(first.port, "x", "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

// The same for the API's own listener (api.insecure on the traefik entrypoint): it used to
// bind with SO_REUSEPORT (cpp-httplib's default) and silently share another portier's port.
TEST(Lifecycle, TheApiListenerCannotShareAnotherProcesssPort) {
  TempDir dir;
  Whoami w = start_whoami(dir, "first");
  Portier first = start_portier(dir, route_to(w.url()));
  TempDir other;
  auto cfg = other.write(
      "portier.yml", "entryPoints:\n  web:\n    address: \"127.0.0.1:" +
                         std::to_string(free_port()) + "\"\n  traefik:\n    address: \"127.0.0.1:" +
                         std::to_string(first.port) + "\"\napi:\n  insecure: true\n");
  auto second =
      Process::start({PORTIER_BIN, "--configFile=" + cfg.string()}, other.path() / "second.log");
  auto code = second->wait_exit(std::chrono::seconds(10));
  ASSERT_TRUE(code) << "the second portier's API is listening on the first one's port\n"
                    << second->log();
  EXPECT_NE(*code, 0);
  EXPECT_NE(second->log().find("cannot listen"), std::string::npos) << second->log();
  for (int i = 0; i < 20; ++i) {  // every connection still reaches the first
    auto r = http_get(first.port, "x", "/");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
}

// A burst of requests leaves its memory free but resident in the heap; the first quiet second
// after it gives it back (worker.cc's housekeeping): 400 requests in flight at once, then none.
TEST(Lifecycle, MemoryOfABurstIsGivenBackOnceQuiet) {
  TempDir dir;
  Whoami w = start_whoami(dir, "slow");
  Portier p = start_portier(dir, route_to(w.url()), "", "", 1);
  ASSERT_TRUE(p.proc->wait_for_log("loading memory released", 10s)) << p.proc->log();
  std::this_thread::sleep_for(1500ms);  // past the start-up's own trim
  const long idle = anon_kib(p.proc->pid());
  ASSERT_GT(idle, 0);
  {
    std::vector<std::unique_ptr<Conn>> conns;
    for (int i = 0; i < 400; ++i) {
      conns.push_back(std::make_unique<Conn>(p.port));
      ASSERT_TRUE(conns.back()->send("GET /slow?ms=1500 HTTP/1.1\r\nHost: x\r\n\r\n"));
    }
    std::this_thread::sleep_for(700ms);
    const long busy = anon_kib(p.proc->pid());
    // The burst's own memory: sessions, their requests, 400 connections to the server.
    ASSERT_GT(busy, idle + 6 * 1024) << "idle " << idle << " kB, busy " << busy << " kB";
    for (auto& c : conns) {
      auto r = c->read_response();
      ASSERT_TRUE(r);
      EXPECT_EQ(r->status, 200);
    }
    // A third of the burst's growth at least: what stays is the 200 pooled server connections
    // (measured: idle 1.5 MB, busy 9.5, 5.8 after the trim while the worker also kept up to 32
    // ended connections' buffers and request state; since 9037315 the quiet tick drops those).
    const long threshold = busy - (busy - idle) / 3;
    conns.clear();
    // Without the trim it stays near `busy` (11.3 MB of 11.2 with 32 KiB server buffers): the
    // pooled server connections hold the heap's top, so free() returns nothing below them.
    EXPECT_TRUE(poll_until([&] { return anon_kib(p.proc->pid()) < threshold; }, 6s))
        << "idle " << idle << " kB, busy " << busy << " kB, now " << anon_kib(p.proc->pid())
        << " kB";
  }
  auto r = http_get(p.port, "x", "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

// Keep-alive connections idle through a tick of the worker (1-2 s) give their buffers back
// (worker.cc: the read buffer, TLS input and output room, the scratch strings) and serve their
// next request as before. 300 HTTPS connections whose request carried a 14 000-byte cookie, so
// that each touched all of those.
TEST(Lifecycle, IdleKeepAliveConnectionsGiveTheirBuffersBack) {
  TempDir dir;
  const CertFiles ca = make_ca(dir, "ca", "idle test CA");
  const CertFiles leaf = make_leaf(dir, ca, "leaf", {"idle.test"});
  Whoami w = start_whoami(dir, "app");
  const std::string dyn = host_routes(w, "idle.test", leaf, /*plain=*/false);
  const std::string static_yaml =
      "entryPoints:\n  websecure:\n    address: \"127.0.0.1:0\"\n"
      "providers:\n  file:\n    filename: dynamic.yml\n";
  Portier p = start_portier_static(dir, static_yaml, dyn, {"websecure"}, 1);
  ASSERT_TRUE(p.proc->wait_for_log("loading memory released", 10s)) << p.proc->log();
  TlsClientOptions tls;
  tls.sni = "idle.test";
  tls.ca_file = ca.cert.string();
  const std::string request =
      "GET / HTTP/1.1\r\nHost: idle.test\r\nCookie: c=" + std::string(14000, 'c') + "\r\n\r\n";
  const long before = anon_kib(p.proc->pid());
  std::vector<std::unique_ptr<Conn>> conns;
  for (int i = 0; i < 300; ++i) {
    conns.push_back(std::make_unique<Conn>(p.ports.at("websecure")));
    conns.back()->start_tls(tls);
    ASSERT_TRUE(conns.back()->send(request));
    auto r = conns.back()->read_response();
    ASSERT_TRUE(r) << i;
    ASSERT_EQ(r->status, 200);
  }
  const long busy = anon_kib(p.proc->pid());
  // 24 KiB a connection at least (each holds more than 40 while busy); the build before gave
  // nothing back while the connections stayed open.
  const long threshold = busy - 300 * 24;
  EXPECT_TRUE(poll_until([&] { return anon_kib(p.proc->pid()) < threshold; }, 6s))
      << "busy " << busy << " kB, now " << anon_kib(p.proc->pid()) << " kB";
  // Parked, each keeps OpenSSL's state and its record but not OpenSSL's record buffers (kept
  // between requests while busy): 24 KB measured alone (18 in use, 7.6 of them OpenSSL's SSL;
  // the rest heap pages the parked state pins among freed blocks: docs/performance.md); 26-27,
  // and 30 once in a parallel ctest run, before 16-32 KiB blocks had slots of their own
  // (common/big_blocks.h); 63 KB when parking kept OpenSSL's buffers.
  EXPECT_TRUE(poll_until([&] { return anon_kib(p.proc->pid()) < before + 300 * 40; }, 3s))
      << "before " << before << " kB, now " << anon_kib(p.proc->pid()) << " kB";
  for (auto& c : conns) {  // the next request on each makes its buffers again
    ASSERT_TRUE(c->send(request));
    auto r = c->read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_NE(r->body.find(std::string(14000, 'c')), std::string::npos);
  }
}

// An idle keep-alive connection is parked after a tick or two (session.cc: its coroutines end,
// its buffers go back) and must still behave as one waiting in a read: the idle timeout counts
// from its last response, not from the parking; TLS ones get close_notify at the timeout; a
// request on a parked connection is served and restarts the clock; a drain closes parked
// connections at once.
TEST(Lifecycle, ParkedIdleConnectionsKeepTheirTimeoutAndCloseOnDrain) {
  TempDir dir;
  const CertFiles ca = make_ca(dir, "ca", "park test CA");
  const CertFiles leaf = make_leaf(dir, ca, "leaf", {"park.test"});
  Whoami w = start_whoami(dir, "app");
  const std::string dyn = host_routes(w, "park.test", leaf, /*plain=*/true);
  const std::string timeouts =
      "    transport:\n      respondingTimeouts:\n        idleTimeout: 4s\n";
  const std::string static_yaml =
      "entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\n" + timeouts +
      "  websecure:\n    address: \"127.0.0.1:0\"\n" + timeouts +
      "providers:\n  file:\n    filename: dynamic.yml\n";
  Portier p = start_portier_static(dir, static_yaml, dyn, {"web", "websecure"}, 1);
  const std::string request = "GET / HTTP/1.1\r\nHost: park.test\r\n\r\n";
  TlsClientOptions tls;
  tls.sni = "park.test";
  tls.ca_file = ca.cert.string();

  Conn plain(p.ports.at("web"), 10s), again(p.ports.at("web"), 10s);
  Conn secure(p.ports.at("websecure"), 10s);
  secure.start_tls(tls);
  for (Conn* c : {&plain, &again, &secure}) {
    ASSERT_TRUE(c->send(request));
    auto r = c->read_response();
    ASSERT_TRUE(r) << p.proc->log();
    ASSERT_EQ(r->status, 200);
  }
  const auto start = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(2500ms);  // parked after 1-2 s
  ASSERT_TRUE(again.send(request));
  auto r = again.read_response();
  ASSERT_TRUE(r) << "a parked connection's next request: " << p.proc->log();
  EXPECT_EQ(r->status, 200);
  const auto again_at = std::chrono::steady_clock::now();

  // 4 s from the last response (the wheel's tick is 100 ms); parking must not restart it.
  EXPECT_TRUE(plain.wait_closed(5s));
  const auto plain_closed = std::chrono::steady_clock::now() - start;
  EXPECT_GT(plain_closed, 3500ms);
  EXPECT_LT(plain_closed, 4900ms);
  EXPECT_TRUE(secure.wait_close_notify()) << "no close_notify at the idle timeout";
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5500ms);
  // The resumed connection's clock started again at its second response.
  EXPECT_TRUE(again.wait_closed(5s));
  EXPECT_GT(std::chrono::steady_clock::now() - again_at, 3500ms);

  Conn last(p.ports.at("web"), 10s);
  ASSERT_TRUE(last.send(request));
  ASSERT_TRUE(last.read_response());
  std::this_thread::sleep_for(2500ms);  // parked
  ASSERT_TRUE(p.proc->signal(SIGTERM));
  const auto term = std::chrono::steady_clock::now();
  EXPECT_TRUE(last.wait_closed(2s));
  auto code = p.proc->wait_exit(5s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - term, 2s);
}

// What a parked plain connection keeps: its record, a readiness wait and Asio's descriptor state
// (about 1 KB), each packed beside the other connections' (common/record_pool.h, the socket
// states of common/asio_recycling.h), not pinning heap pages. 1 000 connections with one
// request each.
TEST(Lifecycle, ParkedPlainConnectionsKeepLittleMemory) {
  rlimit mine{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &mine), 0);
  if (mine.rlim_cur < 2048 && mine.rlim_max >= 2048) {
    rlimit more = mine;
    more.rlim_cur = 2048;
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &more), 0);
  }
  TempDir dir;
  Whoami w = start_whoami(dir, "app");
  Portier p = start_portier(dir, route_to(w.url()), "", "", /*workers=*/1);
  ASSERT_TRUE(p.proc->wait_for_log("loading memory released", 10s)) << p.proc->log();
  const long before = anon_kib(p.proc->pid());
  constexpr int kConns = 1000;
  std::vector<std::unique_ptr<Conn>> conns;
  for (int i = 0; i < kConns; ++i) {
    conns.push_back(std::make_unique<Conn>(p.port));
    ASSERT_TRUE(conns.back()->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = conns.back()->read_response();
    ASSERT_TRUE(r) << i;
    ASSERT_EQ(r->status, 200);
  }
  const long busy = anon_kib(p.proc->pid());
  // Waiting in a read, each held 25 KB or more (16 KiB buffer, request state, coroutine
  // frames); parked, under 3 KiB (1.8 KB measured; 5.9 when the three blocks came from
  // glibc's heap and pinned the pages of the buffers freed around them; 8.7 when the
  // coroutines stayed parked in a wait).
  const long threshold = before + kConns * 3;
  EXPECT_TRUE(poll_until([&] { return anon_kib(p.proc->pid()) < threshold; }, 6s))
      << "before " << before << " kB, busy " << busy << " kB, now " << anon_kib(p.proc->pid())
      << " kB";
  for (int i = 0; i < kConns; i += 97) {  // and they still serve
    ASSERT_TRUE(conns[i]->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = conns[i]->read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
}

// Two seconds after loading, the pages only loading used go back (common/resident.h): the
// process's resident memory drops by megabytes, and requests and a reload work after it.
TEST(Lifecycle, LoadingMemoryIsReleasedAndRequestsStillWork) {
  TempDir dir;
  Whoami w = start_whoami(dir, "app");
  Portier p = start_portier(dir, route_to(w.url()));
  auto released = p.proc->wait_for_log(
      "msg=\"loading memory released\" segments=[0-9]+ resident_before_kb=([0-9]+)", 10s);
  ASSERT_TRUE(released) << p.proc->log();
  auto after = p.proc->wait_for_log("resident_after_kb=([0-9]+)", 1s);
  ASSERT_TRUE(after);
  const long before_kb = std::stol(*released), after_kb = std::stol(*after);
  // Program and library code and constants: about 12 of 15 MB (docs/performance.md).
  EXPECT_LT(after_kb, before_kb - 4096) << p.proc->log();
  for (int i = 0; i < 20; ++i) {
    auto r = http_get(p.port, "x", "/");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  // A reload runs loading code again, and gives it back again.
  dir.write("dynamic.yml", route_to(w.url(), "y"));
  ASSERT_TRUE(poll_until(
      [&] {
        auto r = http_get(p.port, "y", "/");
        return r && r->status == 200;
      },
      5s));
  EXPECT_TRUE(poll_until(
      [&] {
        const std::string log = p.proc->log();
        std::size_t n = 0;
        for (std::size_t at = log.find("loading memory released"); at != std::string::npos;
             at = log.find("loading memory released", at + 1)) {
          ++n;
        }
        return n >= 2;
      },
      6s));
  auto r = http_get(p.port, "y", "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

}  // namespace
}  // namespace portier::test
