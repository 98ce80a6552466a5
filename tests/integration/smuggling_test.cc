// Every ambiguous or malformed request is refused with a 4xx, the connection is closed, and the
// backend never receives it (its request counter does not move).
#include <gtest/gtest.h>

#include "support/net.h"
#include "support/process.h"

namespace portier::test {
namespace {

using namespace std::chrono_literals;

struct Vector {
  std::string name;
  std::string raw;
  int status;
};

class SmugglingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    env_ = ProxyEnv::start("target", [](const std::string& url) { return route_to(url); });
    whoami_ = &env_->whoami;
    portier_ = &env_->portier;
  }
  static void TearDownTestSuite() { env_.reset(); }
  static std::unique_ptr<ProxyEnv> env_;
  static Whoami* whoami_;
  static Portier* portier_;
};
std::unique_ptr<ProxyEnv> SmugglingTest::env_;
Whoami* SmugglingTest::whoami_ = nullptr;
Portier* SmugglingTest::portier_ = nullptr;

const std::string kHidden = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";

TEST_F(SmugglingTest, RejectedAndNeverForwarded) {
  const std::vector<Vector> vectors = {
      {"CL.TE",
       "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: "
       "chunked\r\n\r\n0\r\n\r\n" +
           kHidden,
       400},
      {"TE.CL",
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: "
       "40\r\n\r\n0\r\n\r\n" +
           kHidden,
       400},
      {"duplicate CL",
       "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400},
      {"conflicting CL",
       "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 40\r\n\r\nhello" +
           kHidden,
       400},
      {"CL list", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\nhello", 400},
      {"CL with sign", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello", 400},
      {"CL hex", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x5\r\n\r\nhello", 400},
      {"TE obfuscated",
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 400},
      {"TE chunked twice",
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
       "chunked\r\n\r\n0\r\n\r\n",
       400},
      {"TE not last",
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", 400},
      {"TE gzip", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
       501},
      {"TE space before colon",
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n", 400},
      {"TE obs-fold",
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n", 400},
      {"TE in HTTP/1.0",
       "POST / HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"bad chunk size",
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n" +
           kHidden,
       400},
      {"chunk size with space",
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n",
       400},
      {"chunk size overflow",
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
       "chunked\r\n\r\nffffffffffffffffff1\r\nhello\r\n0\r\n\r\n",
       400},
      {"chunk data too long",
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n",
       400},
      {"chunk bare LF",
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
       400},
      {"bare LF line ends", "GET / HTTP/1.1\nHost: x\n\n", 400},
      {"bare LF in fields", "GET / HTTP/1.1\r\nHost: x\nX: y\r\n\r\n", 400},
      {"bare CR", "GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n", 400},
      {"obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", 400},
      {"space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400},
      {"invalid field name", "GET / HTTP/1.1\r\nHost: x\r\nX(y): z\r\n\r\n", 400},
      {"NUL in value", std::string("GET / HTTP/1.1\r\nHost: x\r\nX: a\0b\r\n\r\n", 35), 400},
      {"missing Host", "GET / HTTP/1.1\r\nX: y\r\n\r\n", 400},
      {"two Hosts", "GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400},
      {"bad version", "GET / HTTP/1.x\r\nHost: x\r\n\r\n", 400},
      {"HTTP/2 on the wire", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
      {"too long target", "GET /" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n", 414},
      {"too large headers",
       "GET / HTTP/1.1\r\nHost: x\r\nX: " + std::string(20000, 'a') + "\r\n\r\n", 431},
      {"too many headers",
       [] {
         std::string s = "GET / HTTP/1.1\r\nHost: x\r\n";
         for (int i = 0; i < 120; ++i) s += "X-" + std::to_string(i) + ": v\r\n";
         return s + "\r\n";
       }(),
       431},
      {"CONNECT", "CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n", 405},
  };
  for (const auto& v : vectors) {
    SCOPED_TRACE(v.name);
    long before = whoami_->requests();
    Conn c(portier_->port);
    ASSERT_TRUE(c.send(v.raw));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, v.status);
    EXPECT_EQ(r->header("connection"), "close");
    EXPECT_TRUE(c.wait_closed(2s));
    // Only the /stats request of this check reached the backend.
    EXPECT_EQ(whoami_->requests() - before, 1);
  }
  // And the proxy still serves good requests.
  auto ok = http_get(portier_->port, "x", "/after");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

TEST_F(SmugglingTest, ValidPipelinedRequestAfterChunkedBodyIsSeparate) {
  // A well-formed chunked body followed by a second request: two requests, two responses, and
  // the second is not glued to the first body.
  Conn c(portier_->port);
  c.send(
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n0\r\n\r\n" +
      kHidden);
  auto first = c.read_response();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->body, "hello");
  auto second = c.read_response();
  ASSERT_TRUE(second);
  EXPECT_NE(second->body.find("GET /smuggled HTTP/1.1"), std::string::npos) << second->body;
}

}  // namespace
}  // namespace portier::test
