// The proxy against real whoami processes over loopback: routing, keep-alive reuse, pipelining,
// forwarded headers, hop-by-hop removal, 502/504, WebSocket, 100-continue.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "support/net.h"
#include "support/process.h"

namespace portier::test {
namespace {

using namespace std::chrono_literals;

class ProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    whoami_ = start_whoami(dir_, "alpha");
    portier_ = start_portier(dir_, route_to(whoami_.url(), "whoami.localhost"), "", "", 1);
  }
  TempDir dir_;
  Whoami whoami_;
  Portier portier_;
};

TEST_F(ProxyTest, RoutesByHostAndAnswers404Otherwise) {
  auto r = http_get(portier_.port, "whoami.localhost", "/hello?x=1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("Name: alpha"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("GET /hello?x=1 HTTP/1.1"), std::string::npos) << r->body;
  // The client's Host is kept by default.
  EXPECT_NE(r->body.find("Host: whoami.localhost"), std::string::npos) << r->body;
  auto upper = http_get(portier_.port, "WHOAMI.Localhost:80", "/");
  ASSERT_TRUE(upper);
  EXPECT_EQ(upper->status, 200);
  auto missing = http_get(portier_.port, "nobody.localhost", "/");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->body, "404 page not found\n");
}

TEST_F(ProxyTest, KeepAliveReusesOneUpstreamConnection) {
  long before = whoami_.connections();
  {
    Conn c(portier_.port);
    for (int i = 0; i < 50; ++i) {
      ASSERT_TRUE(
          c.send("GET /n" + std::to_string(i) + " HTTP/1.1\r\nHost: whoami.localhost\r\n\r\n"));
      auto r = c.read_response();
      ASSERT_TRUE(r) << i;
      ASSERT_EQ(r->status, 200);
    }
  }
  // New client connections reuse the pooled upstream connection too (one worker).
  for (int i = 0; i < 5; ++i) {
    auto r = http_get(portier_.port, "whoami.localhost", "/again");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200);
  }
  // /stats itself is one more connection to whoami, made directly by the test.
  EXPECT_EQ(whoami_.connections() - before, 1 + 1);
}

TEST(ProxyPool, ConnectionClosedByTheServerIsNotReused) {
  TempDir dir;
  Whoami first = start_whoami(dir, "first");
  const int port = first.port;
  Portier p = start_portier(dir, route_to(first.url()), "", "", 1);
  auto r = http_get(p.port, "x", "/");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);  // portier now holds an idle pooled connection to `first`
  // The backend dies (its kernel closes the pooled connection) and comes back on the same port.
  first.proc.reset();
  auto second = Process::start(
      {WHOAMI_BIN, "--addr", "127.0.0.1:" + std::to_string(port), "--name", "second"},
      dir.path() / "whoami-second.log");
  ASSERT_TRUE(second->wait_for_log("whoami listening", 5s)) << second->log();
  // At once: the pooled connection is checked at reuse (no waiting for the sweep).
  auto again = http_get(p.port, "x", "/");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200) << again->body;
  EXPECT_NE(again->body.find("Name: second"), std::string::npos);
}

TEST_F(ProxyTest, PipelinedRequestsAnsweredInOrder) {
  Conn c(portier_.port);
  std::string batch;
  for (const char* p : {"/one", "/two", "/three"}) {
    batch += std::string("GET ") + p + " HTTP/1.1\r\nHost: whoami.localhost\r\n\r\n";
  }
  ASSERT_TRUE(c.send(batch));
  for (const char* p : {"/one", "/two", "/three"}) {
    auto r = c.read_response();
    ASSERT_TRUE(r) << p;
    EXPECT_NE(r->body.find(std::string("GET ") + p + " HTTP/1.1"), std::string::npos) << r->body;
  }
}

TEST_F(ProxyTest, Http10ClosesUnlessKeepAlive) {
  {
    Conn c(portier_.port);
    c.send("GET /old HTTP/1.0\r\nHost: whoami.localhost\r\n\r\n");
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_TRUE(c.wait_closed(2s));
  }
  Conn c(portier_.port);
  c.send("GET /old HTTP/1.0\r\nHost: whoami.localhost\r\nConnection: keep-alive\r\n\r\n");
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("connection"), "keep-alive");
  c.send("GET /again HTTP/1.0\r\nHost: whoami.localhost\r\nConnection: keep-alive\r\n\r\n");
  ASSERT_TRUE(c.read_response());
}

TEST_F(ProxyTest, UntrustedForwardedHeadersAreReplaced) {
  auto r = http_get(portier_.port, "whoami.localhost:8000", "/",
                    "X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\n"
                    "X-Forwarded-Host: evil\r\nX-Real-Ip: 6.6.6.6\r\nX-Forwarded-Port: 1\r\n");
  ASSERT_TRUE(r);
  const std::string& b = r->body;
  EXPECT_EQ(b.find("6.6.6.6"), std::string::npos) << b;
  EXPECT_EQ(b.find("evil"), std::string::npos) << b;
  EXPECT_NE(b.find("X-Forwarded-For: 127.0.0.1\n"), std::string::npos) << b;
  EXPECT_NE(b.find("X-Forwarded-Proto: http\n"), std::string::npos) << b;
  EXPECT_NE(b.find("X-Forwarded-Host: whoami.localhost:8000\n"), std::string::npos) << b;
  EXPECT_NE(b.find("X-Forwarded-Port: 8000\n"), std::string::npos) << b;
  EXPECT_NE(b.find("X-Real-Ip: 127.0.0.1\n"), std::string::npos) << b;
  EXPECT_NE(b.find("X-Forwarded-Server: "), std::string::npos) << b;
}

TEST_F(ProxyTest, HopByHopHeadersAreRemoved) {
  auto r = http_get(portier_.port, "whoami.localhost", "/",
                    "Connection: X-Secret\r\nX-Secret: s3cr3t\r\nKeep-Alive: timeout=5\r\n"
                    "TE: gzip, trailers\r\nProxy-Connection: keep-alive\r\nTrailer: X-T\r\n"
                    "Upgrade: websocket\r\nX-Kept: yes\r\n");
  ASSERT_TRUE(r);
  const std::string& b = r->body;
  EXPECT_NE(b.find("X-Kept: yes"), std::string::npos) << b;
  for (const char* gone :
       {"s3cr3t", "Keep-Alive", "gzip", "Proxy-Connection", "Trailer:", "Upgrade", "X-Secret"}) {
    EXPECT_EQ(b.find(gone), std::string::npos) << gone << "\n" << b;
  }
  // TE is hop-by-hop, but its "trailers" goes on (gRPC servers want it), as in Go's proxy.
  EXPECT_NE(b.find("\nTE: trailers\n"), std::string::npos) << b;
  // Without it, no TE at all.
  auto r2 = http_get(portier_.port, "whoami.localhost", "/", "TE: gzip\r\n");
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->body.find("TE:"), std::string::npos) << r2->body;
}

TEST(ProxyErrors, RefusedIs502) {
  TempDir dir;
  // A port that was just free: nothing listens there.
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  ::close(s);
  Portier p = start_portier(dir, route_to("http://127.0.0.1:" + std::to_string(port)));
  auto r = http_get(p.port, "x", "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
}

TEST_F(ProxyTest, ResetBeforeResponseIs502AndNotReplayed) {
  long before = whoami_.requests();
  auto r = http_get(portier_.port, "whoami.localhost", "/reset");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
  // Exactly one /reset reached the backend (plus this /stats call): no automatic replay.
  EXPECT_EQ(whoami_.requests() - before, 1 + 1);
}

TEST(ProxyErrors, ResponseHeaderTimeoutIs504) {
  TempDir dir;
  Whoami w = start_whoami(dir, "slow");
  Portier p = start_portier(dir, route_to(w.url()), "",
                            "serversTransport:\n  forwardingTimeouts:\n"
                            "    responseHeaderTimeout: 500ms\n");
  auto start = std::chrono::steady_clock::now();
  auto r = http_get(p.port, "x", "/slow?ms=5000");
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 504);
  EXPECT_LT(took, 3s);
  // A fast request still works afterwards.
  auto ok = http_get(p.port, "x", "/slow?ms=10");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

TEST(ProxyHeaders, TrustedPeerKeepsForwardedHeaders) {
  TempDir dir;
  Whoami w = start_whoami(dir, "t");
  Portier p = start_portier(dir, route_to(w.url()),
                            "    forwardedHeaders:\n      trustedIPs: [\"127.0.0.0/8\"]\n");
  auto r = http_get(p.port, "x", "/",
                    "X-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Proto: https\r\n"
                    "X-Real-Ip: 203.0.113.9\r\nX-Forwarded-Server: edge-1\r\n");
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("X-Forwarded-For: 203.0.113.9, 127.0.0.1\n"), std::string::npos)
      << r->body;
  EXPECT_NE(r->body.find("X-Forwarded-Proto: https\n"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("X-Real-Ip: 203.0.113.9\n"), std::string::npos) << r->body;
  EXPECT_EQ(r->body.find("edge-1"), std::string::npos) << "X-Forwarded-Server is portier's own";
}

TEST_F(ProxyTest, BodyBytesNeverChangeHowTheResponseIsRead) {
  // The body arrives in a second read, lands where the request head was in the client buffer,
  // and starts with "HEAD": the response to this POST must still carry its body.
  Conn c(portier_.port, 5s);
  c.send("POST /read-then-answer HTTP/1.1\r\nHost: whoami.localhost\r\nContent-Length: 12\r\n\r\n");
  std::this_thread::sleep_for(100ms);
  c.send("HEAD / HTTP/");
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("POST /read-then-answer HTTP/1.1"), std::string::npos) << r->body;
}

TEST_F(ProxyTest, ExpectContinue) {
  Conn c(portier_.port);
  c.send(
      "POST /echo HTTP/1.1\r\nHost: whoami.localhost\r\nContent-Length: 5\r\n"
      "Expect: 100-continue\r\n\r\n");
  auto interim = c.read_response();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  c.send("hello");
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello");
}

// portier's own answers to HEAD (404 here) describe a body but send none, or the next response
// on the connection would be read as that body.
TEST_F(ProxyTest, OwnAnswersToHeadCarryNoBody) {
  Conn c(portier_.port);
  ASSERT_TRUE(c.send("HEAD / HTTP/1.1\r\nHost: nobody.invalid\r\n\r\n"));
  auto head = c.read_response(true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 404);
  EXPECT_NE(head->header("content-length"), "0");
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: nobody.invalid\r\n\r\n"));
  auto get = c.read_response();
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status_line, "HTTP/1.1 404 Not Found");
  EXPECT_EQ(get->body, "404 page not found\n");
}

std::string ws_frame(const std::string& payload) {
  std::string f;
  f.push_back(static_cast<char>(0x81));  // FIN + text
  f.push_back(static_cast<char>(0x80 | payload.size()));
  const char mask[4] = {0x11, 0x22, 0x33, 0x44};
  f.append(mask, 4);
  for (std::size_t i = 0; i < payload.size(); ++i) f.push_back(payload[i] ^ mask[i % 4]);
  return f;
}

TEST_F(ProxyTest, WebSocketEchoThroughTheProxy) {
  Conn c(portier_.port);
  c.send(
      "GET /ws HTTP/1.1\r\nHost: whoami.localhost\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "Sec-WebSocket-Version: 13\r\n\r\n");
  auto r = c.read_response(true);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 101);
  EXPECT_EQ(r->header("sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  for (std::string msg : {"hello", "through portier"}) {
    ASSERT_TRUE(c.send(ws_frame(msg)));
    std::string got;
    char buf[256];
    while (got.size() < 2 + msg.size()) {
      ssize_t n = ::recv(c.fd(), buf, sizeof buf, 0);
      ASSERT_GT(n, 0);
      got.append(buf, static_cast<std::size_t>(n));
    }
    EXPECT_EQ(static_cast<unsigned char>(got[0]), 0x81);
    EXPECT_EQ(got.substr(2), msg);
  }
}

}  // namespace
}  // namespace portier::test
