// Heads and bodies of every size through a real portier: a server connection's buffer starts
// with one page and grows for a larger response head (up to the 16 KiB limit) or body
// (proxy/buffer.h), and a head of more than 32 fields moves to a larger field array
// (http/parser.h). What the server sends must reach the client byte for byte, and what the
// client sends must reach the server, at each size either side of those steps.
#include <gtest/gtest.h>

#include <string>

#include "support/net.h"
#include "support/process.h"
#include "support/scripted.h"

namespace portier::test {
namespace {

using namespace std::chrono_literals;

std::string pattern(std::size_t n, char first) {
  std::string s(n, ' ');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(first + i % 26);
  return s;
}

std::string many_fields(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += "X-F" + std::to_string(i) + ": v" + std::to_string(i) + "\r\n";
  return s;
}

class HeadSizesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    backend_ = new Scripted({
        {"/small", fixed_answer("X-Big: " + pattern(100, 'a') + "\r\n", "small")},
        {"/page", fixed_answer("X-Big: " + pattern(6000, 'a') + "\r\n", "page")},
        {"/near-limit", fixed_answer("X-Big: " + pattern(15000, 'a') + "\r\n", "near")},
        {"/over-limit", fixed_answer("X-Big: " + pattern(17000, 'a') + "\r\n", "over")},
        {"/many", fixed_answer(many_fields(60), "many")},
        {"/body", fixed_answer("X-Big: " + pattern(5000, 'a') + "\r\n", pattern(1 << 20, 'A'))},
        {"/head", [](int fd, const std::string& head) {
           send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(head.size()) +
                            "\r\n\r\n" + head);
         }},
    });
    dir_ = new TempDir();
    portier_ = new Portier(start_portier(*dir_, "http:\n  routers:\n    r:\n"
                                               "      rule: PathPrefix(`/`)\n      service: s\n"
                                               "  services:\n    s:\n      loadBalancer:\n"
                                               "        servers:\n          - url: " +
                                                   backend_->url() + "\n"));
  }
  static void TearDownTestSuite() {
    delete portier_;
    delete dir_;
    delete backend_;
  }
  static std::optional<Response> get(const std::string& path, const std::string& extra = "") {
    return http_get(portier_->port, "sizes.localhost", path, extra);
  }
  static std::string header(const Response& r, const std::string& name) {
    for (const auto& [n, v] : r.headers) {
      if (n == name) return v;
    }
    return "";
  }
  static inline Scripted* backend_ = nullptr;
  static inline TempDir* dir_ = nullptr;
  static inline Portier* portier_ = nullptr;
};

TEST_F(HeadSizesTest, ResponseHeadsUpToTheLimitPassWhole) {
  // Twice each, in turn: a connection whose buffer grew goes back to the pool with one page and
  // serves the next size right.
  for (int round = 0; round < 2; ++round) {
    for (auto [path, size] : {std::pair{"/small", 100}, std::pair{"/page", 6000},
                              std::pair{"/near-limit", 15000}, std::pair{"/small", 100}}) {
      SCOPED_TRACE(path);
      auto r = get(path);
      ASSERT_TRUE(r.has_value());
      EXPECT_EQ(r->status, 200);
      EXPECT_EQ(header(*r, "X-Big"), pattern(static_cast<std::size_t>(size), 'a'));
    }
  }
  auto over = get("/over-limit");  // over the 16 KiB a response head may have
  ASSERT_TRUE(over.has_value());
  EXPECT_EQ(over->status, 502);
  auto after = get("/small");
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->status, 200);
}

TEST_F(HeadSizesTest, ManyFieldsEitherWayKeepTheirOrder) {
  auto r = get("/many");
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->status, 200);
  int seen = 0;
  for (const auto& [n, v] : r->headers) {
    if (n.rfind("X-F", 0) != 0) continue;
    EXPECT_EQ(n, "X-F" + std::to_string(seen));
    EXPECT_EQ(v, "v" + std::to_string(seen));
    ++seen;
  }
  EXPECT_EQ(seen, 60);
  // A request of 70 fields: each reaches the server, in order.
  auto echoed = get("/head", many_fields(70));
  ASSERT_TRUE(echoed.has_value());
  ASSERT_EQ(echoed->status, 200);
  std::size_t at = 0;
  for (int i = 0; i < 70; ++i) {
    const std::string line = "X-F" + std::to_string(i) + ": v" + std::to_string(i) + "\r\n";
    const std::size_t found = echoed->body.find(line, at);
    ASSERT_NE(found, std::string::npos) << line;
    at = found + line.size();
  }
}

TEST_F(HeadSizesTest, ALargeBodyAfterALargeHeadIsCopiedWhole) {
  for (int i = 0; i < 2; ++i) {
    auto r = get("/body");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(header(*r, "X-Big"), pattern(5000, 'a'));
    EXPECT_TRUE(r->body == pattern(1 << 20, 'A')) << r->body.size();
  }
}

}  // namespace
}  // namespace portier::test
