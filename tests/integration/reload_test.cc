// The file provider on real files: changes become live without a restart, whatever way the file
// is replaced; a broken file keeps its last good version; reloads under load lose no request.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "support/net.h"
#include "support/process.h"

namespace portier::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string two_routes(const Whoami& a, const Whoami& b, const std::string& host_for_a,
                       const std::string& host_for_b) {
  return "http:\n  routers:\n    a:\n      rule: \"Host(`" + host_for_a +
         "`)\"\n      service: a\n    b:\n      rule: \"Host(`" + host_for_b +
         "`)\"\n      service: b\n  services:\n    a:\n      loadBalancer:\n        servers:\n"
         "          - url: \"" +
         a.url() +
         "\"\n    b:\n      loadBalancer:\n        servers:\n"
         "          - url: \"" +
         b.url() + "\"\n";
}

// Polls until a request for `host` is answered by whoami `name`.
bool served_by(int port, const std::string& host, const std::string& name) {
  return poll_until(
      [&] {
        auto r = http_get(port, host, "/");
        return r && r->status == 200 && r->body.find("Name: " + name) != std::string::npos;
      },
      3s);
}

void write_file(const fs::path& p, const std::string& content) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << content;
}

class ReloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a_ = start_whoami(dir_, "a");
    b_ = start_whoami(dir_, "b");
  }
  TempDir dir_;
  Whoami a_, b_;
};

TEST_F(ReloadTest, InPlaceWriteRenameOverAndBrokenFile) {
  Portier p = start_portier(dir_, two_routes(a_, b_, "one.localhost", "two.localhost"));
  ASSERT_TRUE(served_by(p.port, "one.localhost", "a"));
  const fs::path file = dir_.path() / "dynamic.yml";

  // 1. Written in place: one.localhost now goes to b.
  write_file(file, two_routes(a_, b_, "zero.localhost", "one.localhost"));
  EXPECT_TRUE(served_by(p.port, "one.localhost", "b")) << p.proc->log();

  // 2. Written elsewhere and renamed over (what editors do).
  write_file(dir_.path() / ".dynamic.yml.tmp",
             two_routes(a_, b_, "one.localhost", "two.localhost"));
  fs::rename(dir_.path() / ".dynamic.yml.tmp", file);
  EXPECT_TRUE(served_by(p.port, "one.localhost", "a")) << p.proc->log();

  // 3. Broken: reported with file and line, the last good version stays live.
  write_file(file, "http:\n  routers:\n    a:\n      rule: [oops\n");
  EXPECT_TRUE(
      p.proc->wait_for_log("configuration file rejected; its last good version stays live"
                           ".*dynamic\\.yml:[0-9]+:[0-9]+",
                           3s))
      << p.proc->log();
  auto still = http_get(p.port, "one.localhost", "/");
  ASSERT_TRUE(still);
  EXPECT_EQ(still->status, 200);
  EXPECT_NE(still->body.find("Name: a"), std::string::npos);

  // 4. Fixed: recovers by itself.
  write_file(file, two_routes(a_, b_, "two.localhost", "one.localhost"));
  EXPECT_TRUE(served_by(p.port, "one.localhost", "b")) << p.proc->log();
}

TEST_F(ReloadTest, SymlinkSwapLikeAConfigMap) {
  // dir/dynamic/ holds ..v1/, ..v2/, ..data -> ..v1 and routes.yml -> ..data/routes.yml.
  fs::path cm = dir_.path() / "cm";
  fs::create_directories(cm / "..v1");
  fs::create_directories(cm / "..v2");
  write_file(cm / "..v1" / "routes.yml", two_routes(a_, b_, "cm.localhost", "x.localhost"));
  write_file(cm / "..v2" / "routes.yml", two_routes(a_, b_, "x.localhost", "cm.localhost"));
  fs::create_directory_symlink("..v1", cm / "..data");
  fs::create_symlink("..data/routes.yml", cm / "routes.yml");
  dir_.write("dynamic.yml", "");
  auto cfg = dir_.write("portier.yml",
                        "entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\n"
                        "providers:\n  file:\n    directory: cm\n");
  auto proc = Process::start({PORTIER_BIN, "--configFile=" + cfg.string(), "--workers=1"},
                             dir_.path() / "portier-cm.log");
  auto port = proc->wait_for_log("address=127\\.0\\.0\\.1:([0-9]+)", 5s);
  ASSERT_TRUE(port) << proc->log();
  int p = std::stoi(*port);
  ASSERT_TRUE(served_by(p, "cm.localhost", "a")) << proc->log();
  // The atomic swap Kubernetes does: a new symlink renamed over ..data.
  fs::create_directory_symlink("..v2", cm / "..data_tmp");
  fs::rename(cm / "..data_tmp", cm / "..data");
  EXPECT_TRUE(served_by(p, "cm.localhost", "b")) << proc->log();
}

TEST_F(ReloadTest, InFlightRequestsKeepTheirTableAndPoolsSurvive) {
  Portier p = start_portier(dir_, two_routes(a_, b_, "keep.localhost", "x.localhost"), "",
                            "  providersThrottleDuration: 0s\n", 1);
  ASSERT_TRUE(served_by(p.port, "keep.localhost", "a"));  // an idle connection to a is pooled
  // A change that keeps server a (another router moves): a's pooled connection survives it,
  // so the next request to a does not connect again.
  write_file(dir_.path() / "dynamic.yml", two_routes(a_, b_, "keep.localhost", "y.localhost"));
  ASSERT_TRUE(served_by(p.port, "y.localhost", "b"));  // the new table is live (b's pool only)
  const long before = a_.connections();
  auto reuse = http_get(p.port, "keep.localhost", "/");
  ASSERT_TRUE(reuse);
  EXPECT_EQ(reuse->status, 200);
  EXPECT_EQ(a_.connections() - before, 1);  // only this test's own /stats call

  // A slow request is in flight when its router disappears: it still completes.
  Conn slow(p.port, 10s);
  const long sent_before = a_.requests();
  slow.send("GET /slow?ms=800 HTTP/1.1\r\nHost: keep.localhost\r\n\r\n");
  ASSERT_TRUE(backend_got(a_, 1, sent_before)) << "the slow request never reached the backend";
  write_file(dir_.path() / "dynamic.yml", two_routes(a_, b_, "gone.localhost", "x2.localhost"));
  ASSERT_TRUE(poll_until(
      [&] {
        auto r = http_get(p.port, "keep.localhost", "/");
        return r && r->status == 404;
      },
      3s));
  auto done = slow.read_response();
  ASSERT_TRUE(done);
  EXPECT_EQ(done->status, 200);
}

TEST_F(ReloadTest, HundredChangesUnderLoadLoseNothing) {
  Portier p = start_portier(dir_, two_routes(a_, b_, "load.localhost", "other0.localhost"), "",
                            "  providersThrottleDuration: 0s\n", 2);
  ASSERT_TRUE(served_by(p.port, "load.localhost", "a"));
  std::atomic<bool> stop{false};
  std::atomic<long> ok{0}, failed{0};
  auto keep_alive_client = [&] {
    while (!stop && ok + failed < 200000) {
      try {
        Conn c(p.port, 5s);
        for (int i = 0; i < 200 && !stop; ++i) {
          if (!c.send("GET / HTTP/1.1\r\nHost: load.localhost\r\n\r\n")) break;
          auto r = c.read_response();
          (r && r->status == 200 ? ok : failed)++;
          if (!r) break;
        }
      } catch (const std::exception&) {
        failed++;
      }
    }
  };
  auto fresh_client = [&] {
    while (!stop && ok + failed < 200000) {
      auto r = http_get(p.port, "load.localhost", "/fresh");
      (r && r->status == 200 ? ok : failed)++;
    }
  };
  std::thread t1(keep_alive_client), t2(fresh_client);
  const fs::path file = dir_.path() / "dynamic.yml";
  for (int i = 1; i <= 100; ++i) {
    // Every version changes the table (another router's host), never load.localhost's route.
    write_file(file,
               two_routes(a_, b_, "load.localhost", "other" + std::to_string(i) + ".localhost"));
    std::this_thread::sleep_for(70ms);
  }
  std::this_thread::sleep_for(300ms);
  stop = true;
  t1.join();
  t2.join();
  std::string log = p.proc->log();
  long applied = 0;
  for (std::size_t pos = 0; (pos = log.find("configuration applied", pos)) != std::string::npos;
       ++pos) {
    ++applied;
  }
  EXPECT_EQ(failed.load(), 0) << "ok=" << ok;
  EXPECT_GT(ok.load(), 500);
  EXPECT_GE(applied, 50) << "tables swapped under load";
  auto last = http_get(p.port, "other100.localhost", "/");
  ASSERT_TRUE(last);
  EXPECT_EQ(last->status, 200);
}

}  // namespace
}  // namespace portier::test
