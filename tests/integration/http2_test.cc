// HTTP/2 on the client side: ALPN h2 over TLS and h2c with prior knowledge, through a real
// portier to real whoami backends, with curl and with an nghttp2 client (tests/support/
// h2_client.h) that can also break the rules on purpose (rapid reset, CONTINUATION floods,
// oversized header lists, PING floods).
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "support/certs.h"
#include "support/h2_client.h"
#include "support/net.h"
#include "support/process.h"

namespace portier::test {
namespace {

using namespace std::chrono_literals;

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs a command to its end (30 s at most) and returns what it printed (stdout and stderr).
std::string run_capture(const std::vector<std::string>& argv) {
  static int n = 0;
  const auto log = std::filesystem::temp_directory_path() /
                   ("portier-h2-cmd-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
  std::string out;
  {
    auto proc = Process::start(argv, log);
    proc->wait_exit(30s);
    out = proc->log();
  }
  std::filesystem::remove(log);
  return out;
}

class Http2Test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ::signal(SIGPIPE, SIG_IGN);  // the attack tests write to connections the server cuts
    dir_ = new TempDir();
    ca_ = make_ca(*dir_, "ca", "h2 test CA");
    leaf_ = make_leaf(*dir_, ca_, "a", {"a.test"});
    whoami_ = new Whoami(start_whoami(*dir_, "h2"));
    const std::string dyn =
        "http:\n  routers:\n"
        "    secure:\n      rule: \"Host(`a.test`)\"\n      service: s\n      tls: {}\n"
        "    plain:\n      rule: \"Host(`a.test`)\"\n      entryPoints: [web]\n      service: s\n"
        "    locked:\n      rule: \"Host(`locked.test`)\"\n      service: s\n"
        "      middlewares: [auth]\n      tls: {}\n"
        "  middlewares:\n    auth:\n      basicAuth:\n        users:\n"
        "          - \"u:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/\"\n"
        "  services:\n    s:\n      loadBalancer:\n        servers:\n"
        "          - url: \"" + whoami_->url() + "\"\n"
        "tls:\n  certificates:\n    - certFile: " + leaf_.cert.string() +
        "\n      keyFile: " + leaf_.key.string() + "\n";
    const std::string static_yaml =
        "entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\n"
        "  websecure:\n    address: \"127.0.0.1:0\"\n    http2:\n      maxConcurrentStreams: 20\n"
        "providers:\n  file:\n    filename: dynamic.yml\n"
        "accessLog:\n  filePath: " + (dir_->path() / "access.log").string() +
        "\n  format: json\n";
    portier_ = new Portier(start_portier_static(*dir_, static_yaml, dyn, {"web", "websecure"}));
  }
  static void TearDownTestSuite() {
    delete portier_;
    delete whoami_;
    delete dir_;
  }
  static int tls_port() { return portier_->ports.at("websecure"); }
  static TlsClientOptions h2_tls() {
    TlsClientOptions o;
    o.sni = "a.test";
    o.ca_file = ca_.cert.string();
    o.alpn = {"h2", "http/1.1"};
    return o;
  }
  // curl against the TLS entrypoint: the response and the HTTP version it used.
  static std::string curl(const std::vector<std::string>& args) {
    std::vector<std::string> cmd = {"/usr/bin/curl", "-sS", "--cacert", ca_.cert.string(), "--resolve",
                                    "a.test:" + std::to_string(tls_port()) + ":127.0.0.1",
                                    "--resolve",
                                    "locked.test:" + std::to_string(tls_port()) + ":127.0.0.1"};
    cmd.insert(cmd.end(), args.begin(), args.end());
    return run_capture(cmd);
  }
  static inline TempDir* dir_ = nullptr;
  static inline CertFiles ca_, leaf_;
  static inline Whoami* whoami_ = nullptr;
  static inline Portier* portier_ = nullptr;
};

TEST_F(Http2Test, CurlSpeaksH2OverTlsAndTheServerGetsAnHttp11Request) {
  const std::string out = curl({"--http2", "-i", "-H", "Cookie: a=1", "-H", "Cookie: b=2",
                                "-H", "X-Foo: bar",
                                "https://a.test:" + std::to_string(tls_port()) + "/path?q=1"});
  EXPECT_EQ(out.rfind("HTTP/2 200", 0), 0u) << out;
  EXPECT_NE(out.find("x-whoami-name: h2"), std::string::npos) << out;  // lower-cased names
  EXPECT_EQ(out.find("connection:"), std::string::npos) << out;       // none in HTTP/2
  EXPECT_NE(out.find("GET /path?q=1 HTTP/1.1"), std::string::npos) << out;
  EXPECT_NE(out.find("Host: a.test:" + std::to_string(tls_port())), std::string::npos) << out;
  EXPECT_NE(out.find("X-Forwarded-Proto: https"), std::string::npos) << out;
  EXPECT_NE(out.find("X-Foo: bar"), std::string::npos) << out;  // Go's canonical case
  // RFC 9113 8.2.3: cookie fields are joined for HTTP/1.1.
  EXPECT_NE(out.find("Cookie: a=1; b=2"), std::string::npos) << out;
}

TEST_F(Http2Test, H2cWithPriorKnowledgeOnThePlainEntrypoint) {
  const std::string out =
      run_capture({"/usr/bin/curl", "-sS", "-i", "--http2-prior-knowledge", "-H", "Host: a.test",
                   "http://127.0.0.1:" + std::to_string(portier_->port) + "/"});
  EXPECT_EQ(out.rfind("HTTP/2 200", 0), 0u) << out;
  EXPECT_NE(out.find("X-Forwarded-Proto: http\n"), std::string::npos) << out;
  // HTTP/1.1 still works on the same entrypoint.
  auto r = http_get(portier_->port, "a.test", "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(Http2Test, ManyStreamsOnOneConnectionEachGetTheirOwnResponse) {
  Conn conn(tls_port(), 10s);
  ASSERT_EQ(conn.start_tls(h2_tls()).alpn, "h2");
  H2Client h2(conn);
  ASSERT_TRUE(h2.pump([&] { return !h2.server_settings.empty(); }));
  std::map<std::int32_t, std::string> paths;
  for (int i = 0; i < 60; ++i) {  // three times maxConcurrentStreams: the client queues
    const std::string path = "/slow?ms=" + std::to_string(i % 7 * 10) + "&i=" + std::to_string(i);
    paths[h2.request("GET", "a.test", path)] = path;
  }
  ASSERT_TRUE(h2.wait_all());
  EXPECT_EQ(h2.server_settings[0x3], 20u);  // SETTINGS_MAX_CONCURRENT_STREAMS
  for (const auto& [id, path] : paths) {
    const H2Response& r = h2.responses[id];
    ASSERT_TRUE(r.done) << path;
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_NE(r.body.find(" " + path + " HTTP/1.1"), std::string::npos)
        << "stream " << id << " got another request's answer:\n"
        << r.body;
  }
}

TEST_F(Http2Test, StreamsOverTheLimitAreRefusedNotQueued) {
  // Sent before the server's SETTINGS are known: those over maxConcurrentStreams are refused
  // (REFUSED_STREAM: the client may retry them), the others answered.
  Conn conn(tls_port(), 10s);
  ASSERT_EQ(conn.start_tls(h2_tls()).alpn, "h2");
  H2Client h2(conn);
  for (int i = 0; i < 30; ++i) h2.request("GET", "a.test", "/slow?ms=100");
  ASSERT_TRUE(h2.wait_all());
  int ok = 0, refused = 0;
  for (const auto& [id, r] : h2.responses) {
    if (r.done && r.status == 200) ++ok;
    if (r.reset && r.reset_code == 7) ++refused;
  }
  EXPECT_EQ(ok, 20);
  EXPECT_EQ(refused, 10);
}

TEST_F(Http2Test, BodiesBothWaysUnderFlowControl) {
  std::string big(3 * 1024 * 1024 + 7, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 23);
  Conn conn(tls_port(), 20s);
  ASSERT_EQ(conn.start_tls(h2_tls()).alpn, "h2");
  H2Client h2(conn);
  // With a Content-Length, and without one (sent chunked to the server).
  auto with_length = h2.request("POST", "a.test", "/echo",
                                {{"content-length", std::to_string(big.size())}}, big);
  auto without = h2.request("POST", "a.test", "/echo", {}, big);
  auto download = h2.request("GET", "a.test", "/data?size=5000000&chunked=1");
  ASSERT_TRUE(h2.wait_all(30s));
  EXPECT_EQ(h2.responses[with_length].status, 200);
  EXPECT_TRUE(h2.responses[with_length].body == big) << h2.responses[with_length].body.size();
  EXPECT_EQ(h2.responses[without].status, 200);
  EXPECT_TRUE(h2.responses[without].body == big) << h2.responses[without].body.size();
  EXPECT_EQ(h2.responses[download].status, 200);
  EXPECT_EQ(h2.responses[download].body.size(), 5000000u);
}

TEST_F(Http2Test, LocalAnswersAndMiddlewaresAreTheSame) {
  Conn conn(tls_port(), 10s);
  ASSERT_EQ(conn.start_tls(h2_tls()).alpn, "h2");
  H2Client h2(conn);
  auto locked = h2.request("GET", "locked.test", "/");
  auto nobody = h2.request("GET", "nobody.test", "/");
  auto head = h2.request("HEAD", "a.test", "/data?size=1000");
  ASSERT_TRUE(h2.wait_all());
  EXPECT_EQ(h2.responses[locked].status, 401);
  EXPECT_NE(h2.responses[locked].header("www-authenticate").find("Basic"), std::string::npos);
  EXPECT_EQ(h2.responses[nobody].status, 404);
  EXPECT_EQ(h2.responses[nobody].body, "404 page not found\n");
  EXPECT_EQ(h2.responses[head].status, 200);
  EXPECT_EQ(h2.responses[head].header("content-length"), "1000");
  EXPECT_TRUE(h2.responses[head].body.empty());
}

TEST_F(Http2Test, AccessLogSaysHttp2) {
  Conn conn(tls_port(), 10s);
  ASSERT_EQ(conn.start_tls(h2_tls()).alpn, "h2");
  H2Client h2(conn);
  h2.request("GET", "a.test", "/logged-h2");
  ASSERT_TRUE(h2.wait_all());
  ASSERT_TRUE(poll_until(
      [&] {
        const std::string log = read_file(dir_->path() / "access.log");
        const auto at = log.find("/logged-h2");
        if (at == std::string::npos) return false;
        const auto line_end = log.find('\n', at);
        const auto line_start = log.rfind('\n', at);
        const std::string line = log.substr(line_start + 1, line_end - line_start - 1);
        return line.find("\"RequestProtocol\":\"HTTP/2.0\"") != std::string::npos;
      },
      5s))
      << read_file(dir_->path() / "access.log");
}

TEST_F(Http2Test, HeaderListOverTheLimitGets431) {
  Conn conn(tls_port(), 10s);
  ASSERT_EQ(conn.start_tls(h2_tls()).alpn, "h2");
  H2Client h2(conn);
  // nghttp2's client would refuse to send past the server's SETTINGS_MAX_HEADER_LIST_SIZE, so
  // the block is sent before the SETTINGS arrive (a client may do that).
  auto big = h2.request("GET", "a.test", "/", {{"x-big", std::string(20000, 'x')}});
  auto fine = h2.request("GET", "a.test", "/");
  ASSERT_TRUE(h2.wait_all());
  EXPECT_EQ(h2.responses[big].status, 431);
  EXPECT_EQ(h2.responses[fine].status, 200);
}

// A stream's request buffer starts with one page and grows for a larger head (proxy/buffer.h);
// a head of more than 32 fields moves to a larger field array: both reach the server whole.
TEST_F(Http2Test, LargeHeadsAndManyFieldsReachTheServerWhole) {
  Conn conn(tls_port(), 10s);
  ASSERT_EQ(conn.start_tls(h2_tls()).alpn, "h2");
  H2Client h2(conn);
  std::string mid(12000, 'm');
  for (std::size_t i = 0; i < mid.size(); ++i) mid[i] = static_cast<char>('a' + i % 26);
  std::vector<std::pair<std::string, std::string>> many;
  for (int i = 0; i < 45; ++i) many.emplace_back("x-f" + std::to_string(i), "v" + std::to_string(i));
  auto large = h2.request("GET", "a.test", "/", {{"x-mid", mid}});
  auto fields = h2.request("GET", "a.test", "/", many);
  auto small = h2.request("GET", "a.test", "/");
  ASSERT_TRUE(h2.wait_all());
  ASSERT_EQ(h2.responses[large].status, 200);
  EXPECT_NE(h2.responses[large].body.find(mid), std::string::npos);
  ASSERT_EQ(h2.responses[fields].status, 200);
  for (int i = 0; i < 45; ++i) {  // the server sees the names in Go's canonical form
    const std::string line = "X-F" + std::to_string(i) + ": v" + std::to_string(i) + "\n";
    EXPECT_NE(h2.responses[fields].body.find(line), std::string::npos) << line;
  }
  EXPECT_EQ(h2.responses[small].status, 200);
}

TEST_F(Http2Test, RapidResetIsCutOff) {
  // CVE-2023-44487: open streams and reset them at once, as fast as possible.
  Conn conn(tls_port(), 10s);
  ASSERT_EQ(conn.start_tls(h2_tls()).alpn, "h2");
  const long before = whoami_->requests();
  HpackEncoder hpack;
  std::string burst = h2_preface();
  for (std::uint32_t id = 1; id < 2 * 2000; id += 2) {
    burst += h2_frame(0x1, 0x4 | 0x1, id,  // HEADERS, END_HEADERS | END_STREAM
                      hpack.encode({{":method", "GET"},
                                    {":scheme", "https"},
                                    {":authority", "a.test"},
                                    {":path", "/slow?ms=200"}}));
    burst += h2_frame(0x3, 0, id, std::string("\0\0\0\x08", 4));  // RST_STREAM CANCEL
  }
  conn.send(burst);
  EXPECT_TRUE(conn.wait_closed(10s)) << "the connection should be closed";
  // Work reached the server for at most a few streams (the limit on streams in the works).
  std::this_thread::sleep_for(300ms);
  EXPECT_LE(whoami_->requests() - before, 2 * 20 + 1);
  // The proxy still serves others.
  const std::string out =
      curl({"--http2", "-o", "/dev/null", "-w", "%{http_code} %{http_version}",
            "https://a.test:" + std::to_string(tls_port()) + "/"});
  EXPECT_EQ(out, "200 2");
}

TEST_F(Http2Test, ContinuationFloodIsCutOff) {
  // CVE-2024-27316: a header block that never ends.
  Conn conn(tls_port(), 10s);
  ASSERT_EQ(conn.start_tls(h2_tls()).alpn, "h2");
  HpackEncoder hpack;
  std::string flood = h2_preface();
  flood += h2_frame(0x1, 0x1, 1,  // HEADERS, END_STREAM, no END_HEADERS
                    hpack.encode({{":method", "GET"},
                                  {":scheme", "https"},
                                  {":authority", "a.test"},
                                  {":path", "/"}}));
  const std::string piece = hpack.encode({{"x-flood", std::string(1000, 'f')}});
  for (int i = 0; i < 2000; ++i) flood += h2_frame(0x9, 0, 1, piece);  // CONTINUATION
  conn.send(flood);
  EXPECT_TRUE(conn.wait_closed(10s));

  // A block in a few CONTINUATION frames is fine.
  Conn fine(tls_port(), 10s);
  ASSERT_EQ(fine.start_tls(h2_tls()).alpn, "h2");
  HpackEncoder enc;
  const std::string block = enc.encode({{":method", "GET"},
                                        {":scheme", "https"},
                                        {":authority", "a.test"},
                                        {":path", "/continued"},
                                        {"x-a", std::string(500, 'a')},
                                        {"x-b", std::string(500, 'b')}});
  const std::size_t third = block.size() / 3;
  ASSERT_TRUE(fine.send(h2_preface() + h2_frame(0x1, 0x1, 1, block.substr(0, third)) +
                        h2_frame(0x9, 0, 1, block.substr(third, third)) +
                        h2_frame(0x9, 0x4, 1, block.substr(2 * third))));
  // The answer: a HEADERS frame on stream 1 that starts with :status 200 (HPACK static index 8).
  std::string got;
  bool answered = false;
  while (!answered) {
    auto more = fine.read_some();
    ASSERT_TRUE(more) << "no answer to the continued block";
    got += *more;
    for (std::size_t at = 0; at + 9 <= got.size();) {
      const std::size_t len = (std::size_t(std::uint8_t(got[at])) << 16) |
                              (std::size_t(std::uint8_t(got[at + 1])) << 8) |
                              std::uint8_t(got[at + 2]);
      if (at + 9 + len > got.size()) break;
      if (got[at + 3] == 0x1 && got[at + 8] == 1) {
        EXPECT_EQ(std::uint8_t(got[at + 9]), 0x88);
        answered = true;
      }
      at += 9 + len;
    }
  }
}

TEST_F(Http2Test, PingFloodIsCutOff) {
  {
    // A few PINGs are answered and the connection stays.
    Conn calm(tls_port(), 5s);
    ASSERT_EQ(calm.start_tls(h2_tls()).alpn, "h2");
    std::string pings = h2_preface();
    for (int i = 0; i < 5; ++i) pings += h2_frame(0x6, 0, 0, std::string(8, 'p'));
    ASSERT_TRUE(calm.send(pings));
    std::string got;
    while (got.find(h2_frame(0x6, 0x1, 0, std::string(8, 'p'))) == std::string::npos) {
      auto more = calm.read_some();
      ASSERT_TRUE(more) << "no PING acknowledgement";
      got += *more;
    }
  }
  Conn conn(tls_port(), 10s);
  ASSERT_EQ(conn.start_tls(h2_tls()).alpn, "h2");
  std::string flood = h2_preface();
  // Never reading: the server's acknowledgements pile up until it gives up. 800,000 PINGs
  // (13.6 MB of acknowledgements) are more than loopback's socket buffers can absorb, so the
  // pile-up does not depend on how fast the server writes (20,000 fitted in them under load).
  const std::string ping = h2_frame(0x6, 0, 0, std::string(8, 'p'));
  flood.reserve(flood.size() + ping.size() * 800000);
  for (int i = 0; i < 800000; ++i) flood += ping;
  // The send may fail part-way once the server has cut the connection; either way it must be
  // closed (without the cut, a server that stopped reading would keep it open).
  (void)conn.send(flood);
  EXPECT_TRUE(conn.wait_closed(10s));
}

TEST_F(Http2Test, EmptyDataFloodIsCutOff) {
  // CVE-2019-9518: a body of endless empty DATA frames.
  Conn conn(tls_port(), 10s);
  ASSERT_EQ(conn.start_tls(h2_tls()).alpn, "h2");
  HpackEncoder hpack;
  std::string flood = h2_preface();
  flood += h2_frame(0x1, 0x4, 1,  // HEADERS, END_HEADERS: a body follows
                    hpack.encode({{":method", "POST"},
                                  {":scheme", "https"},
                                  {":authority", "a.test"},
                                  {":path", "/echo"}}));
  for (int i = 0; i < 500; ++i) flood += h2_frame(0x0, 0, 1, "");
  conn.send(flood);
  EXPECT_TRUE(conn.wait_closed(10s));
}

TEST_F(Http2Test, GarbageInsteadOfThePrefaceCloses) {
  Conn conn(tls_port(), 5s);
  ASSERT_EQ(conn.start_tls(h2_tls()).alpn, "h2");
  conn.send("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");
  EXPECT_TRUE(conn.wait_closed(5s));
}

// idleTimeout runs from the end of a connection's last stream, not only from a read started
// with no stream open: the read pending when the stream ended used to wait for ever. GOAWAY,
// then the close.
TEST(Http2Idle, TheIdleTimeoutRunsFromTheLastStream) {
  ::signal(SIGPIPE, SIG_IGN);
  TempDir dir;
  Whoami w = start_whoami(dir, "idle");
  Portier p = start_portier(
      dir, route_to(w.url()),
      "    transport:\n      respondingTimeouts:\n        idleTimeout: 3s\n", "", 1);
  Conn conn(p.port, 10s);
  H2Client h2(conn);  // h2c
  auto id = h2.request("GET", "x", "/", {}, "", false, "http");
  ASSERT_TRUE(h2.wait_all());
  EXPECT_EQ(h2.responses[id].status, 200);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(h2.pump([&] { return h2.goaway; }, 8s)) << "no GOAWAY after idleTimeout";
  const auto after = std::chrono::steady_clock::now() - start;
  EXPECT_GT(after, 2500ms);
  EXPECT_LT(after, 4500ms);
  EXPECT_EQ(h2.goaway_code, 0u);
  EXPECT_TRUE(h2.pump([&] { return h2.closed; }, 3s));
}

// HTTP/2 connections idle through a tick or two of the worker give back their read buffer,
// write batch, spare stream states and TLS room (h2_connection.cc, release_idle), and serve
// their next stream as before. 200 TLS connections, one request each.
TEST_F(Http2Test, IdleConnectionsGiveTheirBuffersBack) {
  struct Client {
    std::unique_ptr<Conn> conn;
    std::unique_ptr<H2Client> h2;
  };
  std::vector<Client> clients;
  const long before = anon_kib(portier_->proc->pid());
  for (int i = 0; i < 200; ++i) {
    Client c;
    c.conn = std::make_unique<Conn>(tls_port(), 10s);
    ASSERT_EQ(c.conn->start_tls(h2_tls()).alpn, "h2");
    c.h2 = std::make_unique<H2Client>(*c.conn);
    auto id = c.h2->request("GET", "a.test", "/");
    ASSERT_TRUE(c.h2->wait_all()) << i;
    ASSERT_EQ(c.h2->responses[id].status, 200);
    clients.push_back(std::move(c));
  }
  const long busy = anon_kib(portier_->proc->pid());
  // 12.6 KB a connection measured; nothing was given back before.
  const long threshold = busy - 200 * 8;
  EXPECT_TRUE(poll_until([&] { return anon_kib(portier_->proc->pid()) < threshold; }, 6s))
      << "busy " << busy << " kB, now " << anon_kib(portier_->proc->pid()) << " kB";
  // What each keeps then: OpenSSL's state, nghttp2's session, the connection's coroutines, its
  // record; 38-41 KB measured with 100-200 connections (docs/performance.md), 44 in this
  // test's run. The connection's HTTP/1.1 memory lease went back when HTTP/2 started (2.6 KB
  // more a connection when it stayed).
  EXPECT_TRUE(poll_until(
      [&] { return anon_kib(portier_->proc->pid()) < before + 200 * 56; }, 6s))
      << "before " << before << " kB, now " << anon_kib(portier_->proc->pid()) << " kB";
  for (std::size_t i = 0; i < clients.size(); i += 20) {
    auto id = clients[i].h2->request("GET", "a.test", "/again");
    ASSERT_TRUE(clients[i].h2->wait_all()) << i;
    EXPECT_EQ(clients[i].h2->responses[id].status, 200);
  }
}

// Draining: GOAWAY, the request in progress finishes, then the connection closes.
TEST(Http2Drain, GoawayLetsTheOpenStreamFinish) {
  ::signal(SIGPIPE, SIG_IGN);
  TempDir dir;
  Whoami w = start_whoami(dir, "drain");
  Portier p = start_portier(dir, route_to(w.url()));
  Conn conn(p.port, 10s);
  H2Client h2(conn);  // h2c: the client's preface goes first
  auto slow = h2.request("GET", "x", "/slow?ms=800", {}, "", false, "http");
  ASSERT_TRUE(backend_got(w, 1));
  ::kill(p.proc->pid(), SIGTERM);
  ASSERT_TRUE(h2.pump([&] { return h2.goaway; }, 5s)) << "GOAWAY expected while draining";
  EXPECT_EQ(h2.goaway_code, 0u);
  ASSERT_TRUE(h2.wait_all());
  EXPECT_EQ(h2.responses[slow].status, 200);
  EXPECT_TRUE(h2.responses[slow].done);
  EXPECT_TRUE(h2.pump([&] { return false; }, 5s) || h2.closed);
}

TEST(Http2Config, H2cOffMeansThePrefaceIsABadRequest) {
  TempDir dir;
  Whoami w = start_whoami(dir, "noh2c");
  Portier p = start_portier(dir, route_to(w.url()), "    http2:\n      h2c: false\n");
  const long before = w.requests();
  Conn conn(p.port, 5s);
  conn.send(h2_preface());
  auto r = conn.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 505) << r->status_line;  // HTTP/2.0 as an HTTP/1 request line
  EXPECT_EQ(w.requests(), before + 1);  // only the /stats call that reads the count
}

}  // namespace
}  // namespace portier::test
