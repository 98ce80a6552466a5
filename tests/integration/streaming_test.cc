// Bodies stream through with bounded memory: 100 MB chunked both ways at once, 1 GiB up and down.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <thread>

#include "support/net.h"
#include "support/process.h"

namespace portier::test {
namespace {

using namespace std::chrono_literals;
constexpr long kMiB = 1024 * 1024;

class StreamingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    whoami_ = start_whoami(dir_, "bulk");
    portier_ = start_portier(dir_, route_to(whoami_.url()), "", "", 1);
    // Warm up, so the baseline includes what one exchange allocates.
    ASSERT_TRUE(http_get(portier_.port, "x", "/"));
    baseline_kib_ = portier_.proc->rss_kib();
  }
  // Growth of portier's peak RSS since SetUp, in MiB.
  double peak_growth_mib() const {
    return static_cast<double>(portier_.proc->hwm_kib() - baseline_kib_) / 1024.0;
  }
  TempDir dir_;
  Whoami whoami_;
  Portier portier_;
  long baseline_kib_ = 0;
};

// Reads the body of a response whose head has been consumed by hand: counts bytes only.
std::uint64_t drain_counting(int fd, std::uint64_t expected) {
  std::vector<char> buf(1 << 16);
  std::uint64_t total = 0;
  while (total < expected) {
    ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n <= 0) break;
    total += static_cast<std::uint64_t>(n);
  }
  return total;
}

// Reads bytes up to and including the end of the response head; returns the head.
std::string read_head(int fd) {
  std::string head;
  char c;
  while (head.size() < 65536 && ::recv(fd, &c, 1, 0) == 1) {
    head.push_back(c);
    if (head.size() >= 4 && head.compare(head.size() - 4, 4, "\r\n\r\n") == 0) break;
  }
  return head;
}

TEST_F(StreamingTest, ChunkedBodyBothWaysAtOnce) {
  constexpr std::size_t kTotal = 100 * kMiB;
  constexpr std::size_t kChunk = 64 * 1024;
  Conn c(portier_.port, 30s);
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
  std::thread sender([&] {
    std::string chunk(kChunk, 'p');
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", kChunk);
    for (std::size_t sent = 0; sent < kTotal; sent += kChunk) {
      if (!c.send(std::string(size) + chunk + "\r\n")) return;
    }
    c.send("0\r\n\r\n");
  });
  std::string head = read_head(c.fd());
  EXPECT_NE(head.find("HTTP/1.1 200"), std::string::npos) << head;
  EXPECT_NE(head.find("Transfer-Encoding: chunked"), std::string::npos) << head;
  // Decode the chunked response, counting (and checking) payload bytes.
  enum class St { Size, Data, DataEnd, Done } st = St::Size;
  std::uint64_t payload = 0;
  std::size_t need = 0;
  std::string pending;
  std::vector<char> buf(1 << 16);
  bool corrupt = false;
  while (st != St::Done && !corrupt) {
    ssize_t n = ::recv(c.fd(), buf.data(), buf.size(), 0);
    ASSERT_GT(n, 0) << "after " << payload << " bytes";
    pending.append(buf.data(), static_cast<std::size_t>(n));
    for (bool progress = true; progress && st != St::Done && !corrupt;) {
      progress = false;
      if (st == St::Size) {
        std::size_t le = pending.find("\r\n");
        if (le == std::string::npos) break;
        need = std::stoul(pending.substr(0, le), nullptr, 16);
        pending.erase(0, le + 2);
        st = need == 0 ? St::Done : St::Data;
        progress = true;
      } else if (st == St::Data && !pending.empty()) {
        std::size_t take = std::min(need, pending.size());
        corrupt = pending.find_first_not_of('p') < take;
        payload += take;
        need -= take;
        pending.erase(0, take);
        if (need == 0) st = St::DataEnd;
        progress = true;
      } else if (st == St::DataEnd && pending.size() >= 2) {
        corrupt = pending.compare(0, 2, "\r\n") != 0;
        pending.erase(0, 2);
        st = St::Size;
        progress = true;
      }
    }
  }
  EXPECT_FALSE(corrupt);
  sender.join();
  EXPECT_EQ(payload, kTotal);
  EXPECT_LT(peak_growth_mib(), 16.0);
}

TEST_F(StreamingTest, GigabyteDownload) {
  constexpr std::uint64_t kSize = 1024ull * kMiB;
  Conn c(portier_.port, 60s);
  c.send("GET /data?size=" + std::to_string(kSize) + " HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string head = read_head(c.fd());
  ASSERT_NE(head.find("Content-Length: " + std::to_string(kSize)), std::string::npos) << head;
  EXPECT_EQ(drain_counting(c.fd(), kSize), kSize);
  EXPECT_LT(peak_growth_mib(), 16.0);
}

TEST_F(StreamingTest, GigabyteUpload) {
  constexpr std::uint64_t kSize = 1024ull * kMiB;
  Conn c(portier_.port, 60s);
  c.send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(kSize) +
         "\r\n\r\n");
  std::string block(1 << 20, 'u');
  for (std::uint64_t sent = 0; sent < kSize; sent += block.size()) {
    ASSERT_TRUE(c.send(block)) << sent;
  }
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("Content-Length: " + std::to_string(kSize)), std::string::npos);
  EXPECT_LT(peak_growth_mib(), 16.0);
}

TEST_F(StreamingTest, ChunkedAndUntilCloseResponses) {
  auto chunked = http_get(portier_.port, "x", "/data?size=300000&chunked=1");
  ASSERT_TRUE(chunked);
  EXPECT_EQ(chunked->header("transfer-encoding"), "chunked");
  EXPECT_EQ(chunked->body.size(), 300000u);
  // A body that ends when the server closes: passed on, then the client connection closes.
  Conn c(portier_.port);
  c.send("GET /data?size=300000&close=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body.size(), 300000u);
  EXPECT_EQ(r->header("connection"), "close");
  // HTTP/1.0 clients get a chunked upstream body decoded.
  Conn old(portier_.port);
  old.send("GET /data?size=1000&chunked=1 HTTP/1.0\r\nHost: x\r\n\r\n");
  auto r10 = old.read_response();
  ASSERT_TRUE(r10);
  EXPECT_FALSE(r10->has_header("transfer-encoding"));
  EXPECT_EQ(r10->body.size(), 1000u);
}

}  // namespace
}  // namespace portier::test
