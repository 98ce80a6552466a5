// The compress middleware through a real portier: a scripted backend answers with exact heads and
// bodies, the client reads what portier sends and decodes it with zlib, brotli and zstd's own
// decoders (support/decompress.h).
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "support/decompress.h"
#include "support/net.h"
#include "support/process.h"
#include "support/scripted.h"

namespace portier::test {
namespace {

using namespace std::chrono_literals;

std::string text(std::size_t n) {
  std::string s;
  for (std::size_t i = 0; s.size() < n; ++i) {
    s += "<p>paragraph " + std::to_string(i) + ": portier compresses what the server sends</p>\n";
  }
  s.resize(n);
  return s;
}

class CompressTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string page = text(20000);
    backend_ = new Scripted({
        {"/page", fixed_answer("Content-Type: text/html; charset=utf-8\r\nETag: \"v1\"\r\n"
                        "Accept-Ranges: bytes\r\n",
                        page)},
        {"/json", fixed_answer("Content-Type: application/json\r\n", "{\"a\":\"" + text(5000) + "\"}")},
        {"/small", fixed_answer("Content-Type: text/html\r\n", text(500))},
        {"/encoded", fixed_answer("Content-Type: text/html\r\nContent-Encoding: gzip\r\n", "notreallygzip")},
        {"/range", fixed_answer("Content-Type: text/html\r\nContent-Range: bytes 0-4999/20000\r\n",
                         text(5000), 206)},
        {"/empty", fixed_answer("Content-Type: text/html\r\n", "", 204)},
        {"/chunked",
         [page](int fd, const std::string&) {
           std::string r = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n";
           for (std::size_t off = 0; off < page.size(); off += 3000) {
             std::string piece = page.substr(off, 3000);
             char size[16];
             std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
             r += size + piece + "\r\n";
           }
           r += "0\r\n\r\n";
           send_all(fd, r);
         }},
        {"/events",
         [](int fd, const std::string&) {
           send_all(fd,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                    "Transfer-Encoding: chunked\r\n\r\nd\r\ndata: first\n\n\r\n");
           for (int i = 0; i < 100 && !release_; ++i) std::this_thread::sleep_for(50ms);
           send_all(fd, "e\r\ndata: second\n\n\r\n0\r\n\r\n");
         }},
    });
    dir_ = new TempDir();
    const std::string dyn = R"yaml(http:
  routers:
    gz:
      rule: Host(`gz.localhost`)
      service: s
      middlewares: [gz]
    inc:
      rule: Host(`inc.localhost`)
      service: s
      middlewares: [inc]
    exc:
      rule: Host(`exc.localhost`)
      service: s
      middlewares: [exc]
    def:
      rule: Host(`def.localhost`)
      service: s
      middlewares: [def]
    twice:
      rule: Host(`twice.localhost`)
      service: s
      middlewares: [gz, def]
  middlewares:
    gz:
      compress: {}
    inc:
      compress:
        includedContentTypes: [application/json]
    exc:
      compress:
        excludedContentTypes: ["text/html; charset=utf-8"]
    def:
      compress:
        encodings: [zstd, br]
        defaultEncoding: br
        minResponseBodyBytes: 100
  services:
    s:
      loadBalancer:
        servers:
          - url: )yaml" + backend_->url() + "\n";
    portier_ = new Portier(start_portier(*dir_, dyn));
    page_ = new std::string(page);
  }
  static void TearDownTestSuite() {
    delete portier_;
    delete dir_;
    delete backend_;
    delete page_;
  }
  static std::optional<Response> get(const std::string& host, const std::string& path,
                                     const std::string& accept) {
    std::string extra = accept.empty() ? "" : "Accept-Encoding: " + accept + "\r\n";
    return http_get(portier_->port, host, path, extra);
  }
  static Scripted* backend_;
  static std::atomic<bool> release_;  // lets the server-sent events handler go on
  static TempDir* dir_;
  static Portier* portier_;
  static std::string* page_;
};
Scripted* CompressTest::backend_ = nullptr;
std::atomic<bool> CompressTest::release_{false};
TempDir* CompressTest::dir_ = nullptr;
Portier* CompressTest::portier_ = nullptr;
std::string* CompressTest::page_ = nullptr;

TEST_F(CompressTest, EachEncodingDecodesToTheServersBody) {
  struct Case {
    std::string accept;
    std::string encoding;
  };
  for (const Case& c : std::vector<Case>{{"gzip", "gzip"},
                                         {"br", "br"},
                                         {"zstd", "zstd"},
                                         {"gzip;q=0.2, br;q=0.9, zstd;q=0.5", "br"},
                                         {"gzip, deflate, br, zstd", "gzip"},
                                         {"*", "gzip"}}) {
    SCOPED_TRACE(c.accept);
    auto r = get("gz.localhost", "/page", c.accept);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("content-encoding"), c.encoding);
    EXPECT_FALSE(r->has_header("content-length"));
    EXPECT_EQ(r->header("transfer-encoding"), "chunked");
    EXPECT_EQ(r->header("vary"), "Accept-Encoding");
    EXPECT_EQ(r->header("etag"), "W/\"v1\"");
    EXPECT_FALSE(r->has_header("accept-ranges"));
    EXPECT_LT(r->body.size(), page_->size() / 4);
    auto plain = decompress(c.encoding, r->body);
    ASSERT_TRUE(plain);
    EXPECT_TRUE(*plain == *page_) << plain->size();
  }
}

TEST_F(CompressTest, UncompressedWhenNotAskedOrNotWorthIt) {
  struct Case {
    std::string host, path, accept;
    int status;
    bool vary;
  };
  for (const Case& c : std::vector<Case>{
           {"gz.localhost", "/page", "", 200, true},          // no Accept-Encoding
           {"gz.localhost", "/page", "identity", 200, true},
           {"gz.localhost", "/page", "deflate", 200, true},    // nothing acceptable
           {"gz.localhost", "/page", "gzip;q=0", 200, true},
           {"gz.localhost", "/small", "gzip", 200, false},     // under 1024 bytes
           {"gz.localhost", "/encoded", "gzip", 200, false},   // compressed already
           {"gz.localhost", "/range", "gzip", 206, false},
           {"gz.localhost", "/empty", "gzip", 204, false},
           {"inc.localhost", "/page", "gzip", 200, false},     // not an included type
           {"exc.localhost", "/page", "gzip", 200, false},     // an excluded type
       }) {
    SCOPED_TRACE(c.host + c.path + " [" + c.accept + "]");
    auto r = get(c.host, c.path, c.accept);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, c.status);
    if (c.path == "/encoded") {
      EXPECT_EQ(r->header("content-encoding"), "gzip");
      EXPECT_EQ(r->body, "notreallygzip");
    } else {
      EXPECT_FALSE(r->has_header("content-encoding"));
    }
    EXPECT_EQ(r->header("vary") == "Accept-Encoding", c.vary);
    if (c.status == 200 && c.path == "/page") {
      EXPECT_EQ(r->header("content-length"), std::to_string(page_->size()));
      EXPECT_EQ(r->header("etag"), "\"v1\"");
      EXPECT_TRUE(r->body == *page_);
    }
  }
  // The included type is compressed; the excluded one's other types are.
  auto json = get("inc.localhost", "/json", "gzip");
  ASSERT_TRUE(json);
  EXPECT_EQ(json->header("content-encoding"), "gzip");
  auto chunked = get("exc.localhost", "/chunked", "gzip");
  ASSERT_TRUE(chunked);
  EXPECT_EQ(chunked->header("content-encoding"), "gzip");
  auto plain = decompress("gzip", chunked->body);
  ASSERT_TRUE(plain);
  EXPECT_TRUE(*plain == *page_);
}

TEST_F(CompressTest, DefaultEncodingAndNoDoubleCompression) {
  // No Accept-Encoding: defaultEncoding; minResponseBodyBytes 100 lets /small through.
  auto r = get("def.localhost", "/small", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("content-encoding"), "br");
  auto plain = decompress("br", r->body);
  ASSERT_TRUE(plain);
  EXPECT_EQ(*plain, text(500));
  // gzip is not one of this middleware's encodings: zstd is its first.
  r = get("def.localhost", "/page", "gzip, zstd");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("content-encoding"), "zstd");
  // Two compress middlewares: the inner one (def) compresses, the outer one leaves it alone.
  r = get("twice.localhost", "/page", "br, gzip");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("content-encoding"), "br");
  plain = decompress("br", r->body);
  ASSERT_TRUE(plain);
  EXPECT_TRUE(*plain == *page_);
}

TEST_F(CompressTest, KeepAliveAndHttp10Framing) {
  // Several compressed responses on one connection: the chunked framing must be exact.
  Conn conn(portier_->port);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(conn.send("GET /chunked HTTP/1.1\r\nHost: gz.localhost\r\n"
                          "Accept-Encoding: zstd\r\n\r\n"));
    auto r = conn.read_response();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->header("content-encoding"), "zstd");
    auto plain = decompress("zstd", r->body);
    ASSERT_TRUE(plain);
    EXPECT_TRUE(*plain == *page_);
  }
  // An HTTP/1.0 client gets the body until the connection closes.
  Conn old(portier_->port);
  ASSERT_TRUE(old.send("GET /page HTTP/1.0\r\nHost: gz.localhost\r\nAccept-Encoding: gzip\r\n\r\n"));
  std::string all = old.read_all();
  const std::size_t end = all.find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos);
  const std::string head = all.substr(0, end);
  EXPECT_NE(head.find("Content-Encoding: gzip"), std::string::npos) << head;
  EXPECT_EQ(head.find("Transfer-Encoding"), std::string::npos) << head;
  EXPECT_EQ(head.find("Content-Length"), std::string::npos) << head;
  auto plain = decompress("gzip", all.substr(end + 4));
  ASSERT_TRUE(plain);
  EXPECT_TRUE(*plain == *page_);
}

TEST_F(CompressTest, ServerSentEventsAreFlushedAsTheyCome) {
  release_ = false;
  Conn conn(portier_->port);
  ASSERT_TRUE(conn.send(
      "GET /events HTTP/1.1\r\nHost: gz.localhost\r\nAccept-Encoding: gzip\r\n"
      "Connection: close\r\n\r\n"));
  // The first event must decode from what arrives while the server holds the second back.
  std::string got;
  std::optional<std::string> events;
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{conn.fd(), POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    ssize_t n = ::recv(conn.fd(), buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
    const std::size_t end = got.find("\r\n\r\n");
    if (end == std::string::npos) continue;
    // Unframe the chunks received so far.
    std::string body;
    std::size_t pos = end + 4;
    for (;;) {
      const std::size_t eol = got.find("\r\n", pos);
      if (eol == std::string::npos) break;
      const std::size_t size = std::stoul(got.substr(pos, eol - pos), nullptr, 16);
      if (size == 0 || eol + 2 + size > got.size()) break;
      body += got.substr(eol + 2, size);
      pos = eol + 2 + size + 2;
    }
    events = decompress("gzip", body, true);
    if (events && events->find("data: first") != std::string::npos) break;
  }
  release_ = true;
  ASSERT_TRUE(events) << got;
  EXPECT_EQ(*events, "data: first\n\n");
  EXPECT_NE(got.find("Content-Encoding: gzip"), std::string::npos);
  // Then the rest, and a complete stream.
  auto rest = conn.read_all();
  EXPECT_NE(rest.find("0\r\n\r\n"), std::string::npos);
}

}  // namespace
}  // namespace portier::test
