// The file provider against files changed under a running portier: an emptied file keeps its
// routes and says so in the API, a file still being written is not read, a deleted file's
// routes go.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/net.h"
#include "support/process.h"

namespace portier::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string router(const std::string& name, const std::string& host, const std::string& service) {
  return "    " + name + ":\n      rule: \"Host(`" + host + "`)\"\n      service: " + service +
         "\n";
}
std::string service(const std::string& name, const Whoami& w) {
  return "    " + name + ":\n      loadBalancer:\n        servers:\n          - url: \"" + w.url() +
         "\"\n";
}
// Routers first, then services: a prefix cut before "  services:" is valid YAML on its own.
std::string routes(const Whoami& a, const Whoami& b, const std::string& host_a,
                   const std::string& host_b) {
  return "http:\n  routers:\n" + router("a", host_a, "a") + router("b", host_b, "b") +
         "  services:\n" + service("a", a) + service("b", b);
}

void write_file(const fs::path& p, const std::string& content) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << content;
}

// `: > file`: truncated in place, closed.
void truncate_file(const fs::path& p) {
  int fd = ::open(p.c_str(), O_WRONLY | O_TRUNC);
  ASSERT_GE(fd, 0);
  ::close(fd);
}

// Every one of `n` requests for `host` is answered 200 by whoami `name`.
int count_served_by(int port, const std::string& host, const std::string& name, int n) {
  int ok = 0;
  for (int i = 0; i < n; ++i) {
    auto r = http_get(port, host, "/");
    if (r && r->status == 200 && r->body.find("Name: " + name) != std::string::npos) ++ok;
  }
  return ok;
}

bool served_by(int port, const std::string& host, const std::string& name) {
  return poll_until([&] { return count_served_by(port, host, name, 1) == 1; }, 5s);
}

json get_json(int port, const std::string& path) {
  auto r = http_get(port, "127.0.0.1", path);
  if (!r || r->status != 200) return {};
  return json::parse(r->body, nullptr, false);
}

// The file provider's entry in /api/providers once `pred` holds for it.
template <typename Pred>
json wait_file_provider(int api_port, Pred pred) {
  json found;
  poll_until(
      [&] {
        for (const auto& p : get_json(api_port, "/api/providers")) {
          if (p.is_object() && p.value("name", "") == "file" && pred(p)) {
            found = p;
            return true;
          }
        }
        return false;
      },
      5s);
  return found;
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

const std::string kApiEntrypoint = "  traefik:\n    address: \"127.0.0.1:0\"\n";
const std::string kApi = "api:\n  insecure: true\n";

int api_port(const Portier& p) {
  auto port = p.proc->wait_for_log(
      "api listening\" entrypoint=traefik address=127\\.0\\.0\\.1:([0-9]+)", 5s);
  return port ? std::stoi(*port) : 0;
}

class FileProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a_ = start_whoami(dir_, "a");
    b_ = start_whoami(dir_, "b");
  }
  TempDir dir_;
  Whoami a_, b_;
};

TEST_F(FileProviderTest, EmptiedFileKeepsItsRoutesAndShowsInTheApi) {
  Portier p =
      start_portier(dir_, routes(a_, b_, "one.localhost", "two.localhost"), kApiEntrypoint, kApi);
  const int api = api_port(p);
  ASSERT_GT(api, 0) << p.proc->log();
  ASSERT_TRUE(served_by(p.port, "one.localhost", "a")) << p.proc->log();
  json before = wait_file_provider(api, [](const json& j) { return j["status"] == "enabled"; });
  ASSERT_TRUE(before.is_object()) << get_json(api, "/api/providers").dump();
  EXPECT_TRUE(before["errors"].empty());

  truncate_file(dir_.path() / "dynamic.yml");
  json refused = wait_file_provider(api, [](const json& j) { return j["status"] == "error"; });
  ASSERT_TRUE(refused.is_object()) << p.proc->log();
  ASSERT_EQ(refused["errors"].size(), 1u) << refused.dump();
  const json& e = refused["errors"][0];
  EXPECT_TRUE(ends_with(e["file"].get<std::string>(), "dynamic.yml")) << e.dump();
  EXPECT_NE(e["message"].get<std::string>().find("empty"), std::string::npos) << e.dump();
  EXPECT_EQ(e["level"], "error");
  EXPECT_FALSE(e["since"].get<std::string>().empty());
  EXPECT_TRUE(p.proc->wait_for_log(
      "level=warn msg=\"configuration file is empty; its last good version stays live\" "
      "provider=file file=[^ ]*dynamic\\.yml",
      2s))
      << p.proc->log();
  EXPECT_EQ(count_served_by(p.port, "one.localhost", "a", 20), 20);
  EXPECT_EQ(count_served_by(p.port, "two.localhost", "b", 5), 5);

  // Content again: applied, and the error goes.
  write_file(dir_.path() / "dynamic.yml", routes(a_, b_, "zero.localhost", "one.localhost"));
  EXPECT_TRUE(served_by(p.port, "one.localhost", "b")) << p.proc->log();
  json fixed = wait_file_provider(api, [](const json& j) { return j["status"] == "enabled"; });
  ASSERT_TRUE(fixed.is_object()) << get_json(api, "/api/providers").dump();
  EXPECT_TRUE(fixed["errors"].empty());
  auto one = get_json(api, "/api/providers/file");
  EXPECT_EQ(one["name"], "file");
}

// A log written next to the configuration file (or any other file of its directory) is not a
// change: no pass reads the configuration again for it, and a real change right after it still
// applies. (Each write was a wake-up of the control plane and, after the debounce, a pass that
// re-read every file: 5-8 % of a CPU for a file written 15 000 times a second.)
TEST_F(FileProviderTest, OtherFilesInTheDirectoryAreNotChanges) {
  Portier p = start_portier(dir_, routes(a_, b_, "one.localhost", "two.localhost"));
  ASSERT_TRUE(served_by(p.port, "one.localhost", "a")) << p.proc->log();
  const std::string pass_line = "msg=\"configuration files read again\" provider=file";
  auto passes = [&] {
    const std::string log = p.proc->log();
    std::size_t n = 0;
    for (auto at = log.find(pass_line); at != std::string::npos; at = log.find(pass_line, at + 1)) {
      ++n;
    }
    return n;
  };
  std::this_thread::sleep_for(300ms);  // any pass of the start-up is over
  const std::size_t before = passes();
  {
    std::ofstream noise(dir_.path() / "access.log", std::ios::binary | std::ios::app);
    for (int i = 0; i < 2000; ++i) {
      noise << "127.0.0.1 - - \"GET / HTTP/1.1\" 200 5 " << i << "\n";
      noise.flush();  // a write(2) each: an IN_MODIFY each
    }
  }
  write_file(dir_.path() / "notes.txt", "not configuration");
  fs::remove(dir_.path() / "notes.txt");
  write_file(dir_.path() / ".dynamic.yml.swp", "swap");
  std::this_thread::sleep_for(500ms);  // well past the debounce (50 ms)
  EXPECT_EQ(passes(), before) << p.proc->log();

  // The configuration file itself still counts.
  write_file(dir_.path() / "dynamic.yml", routes(a_, b_, "zero.localhost", "one.localhost"));
  EXPECT_TRUE(served_by(p.port, "one.localhost", "b")) << p.proc->log();
  EXPECT_GT(passes(), before);
}

// A configuration file that is a symlink to a file of another name beside it: writes to the
// target are changes of the file (its events are not dropped as another file's).
TEST_F(FileProviderTest, ASymlinkedFilesTargetOfAnotherNameIsWatched) {
  fs::create_directory(dir_.path() / "conf");
  const fs::path real = dir_.path() / "conf" / "routes.yml.real";
  write_file(real, routes(a_, b_, "one.localhost", "two.localhost"));
  fs::create_symlink("routes.yml.real", dir_.path() / "conf" / "routes.yml");
  Portier p = start_portier_static(
      dir_, "entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\nproviders:\n  file:\n"
            "    directory: conf\n",
      "", {"web"}, 1);
  ASSERT_TRUE(served_by(p.port, "one.localhost", "a")) << p.proc->log();
  write_file(real, routes(a_, b_, "zero.localhost", "one.localhost"));  // in place, closed
  EXPECT_TRUE(served_by(p.port, "one.localhost", "b")) << p.proc->log();
}

TEST_F(FileProviderTest, TornWriteIsNotReadUntilClosed) {
  Portier p = start_portier(dir_, routes(a_, b_, "one.localhost", "two.localhost"));
  ASSERT_TRUE(served_by(p.port, "one.localhost", "a")) << p.proc->log();
  const fs::path file = dir_.path() / "dynamic.yml";

  // A writer truncates the file and writes the first half of the next version, which is valid
  // YAML on its own (routers without services), and keeps the file open.
  const std::string next = routes(a_, b_, "zero.localhost", "one.localhost");
  const std::size_t cut = next.find("  services:");
  int fd = ::open(file.c_str(), O_WRONLY | O_TRUNC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, next.data(), cut), static_cast<ssize_t>(cut));
  // Meanwhile something else changes in the folder: an editor's swap file.
  write_file(dir_.path() / ".dynamic.yml.swp", "swap");
  ASSERT_TRUE(p.proc->wait_for_log(
      "msg=\"configuration file is being written; it is read once closed\" provider=file "
      "file=[^ ]*dynamic\\.yml",
      3s))
      << p.proc->log();
  EXPECT_EQ(count_served_by(p.port, "one.localhost", "a", 20), 20) << p.proc->log();

  // The writer finishes and closes: the whole new version applies.
  const std::string rest = next.substr(cut);
  ASSERT_EQ(::write(fd, rest.data(), rest.size()), static_cast<ssize_t>(rest.size()));
  ::close(fd);
  EXPECT_TRUE(served_by(p.port, "one.localhost", "b")) << p.proc->log();
  EXPECT_EQ(count_served_by(p.port, "zero.localhost", "a", 1), 1);
}

TEST_F(FileProviderTest, DirectoryOfEmptiedFilesKeepsRoutesAndDeletionRemoves) {
  fs::create_directory(dir_.path() / "conf");
  const fs::path one = dir_.path() / "conf" / "one.yml", two = dir_.path() / "conf" / "two.yml";
  write_file(one, "http:\n  routers:\n" + router("one", "one.localhost", "a") + "  services:\n" +
                      service("a", a_));
  write_file(two, "http:\n  routers:\n" + router("two", "two.localhost", "b") + "  services:\n" +
                      service("b", b_));
  Portier p =
      start_portier_static(dir_,
                           "entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\n" + kApiEntrypoint +
                               kApi + "providers:\n  file:\n    directory: conf\n",
                           "", {"web"}, 1);
  const int api = api_port(p);
  ASSERT_GT(api, 0) << p.proc->log();
  ASSERT_TRUE(served_by(p.port, "one.localhost", "a")) << p.proc->log();
  ASSERT_TRUE(served_by(p.port, "two.localhost", "b")) << p.proc->log();

  // Every file emptied: each keeps its last good version.
  truncate_file(one);
  truncate_file(two);
  json refused = wait_file_provider(api, [](const json& j) { return j["errors"].size() == 2; });
  ASSERT_TRUE(refused.is_object()) << p.proc->log();
  EXPECT_TRUE(ends_with(refused["errors"][0]["file"].get<std::string>(), "one.yml"));
  EXPECT_TRUE(ends_with(refused["errors"][1]["file"].get<std::string>(), "two.yml"));
  EXPECT_EQ(count_served_by(p.port, "one.localhost", "a", 10), 10);
  EXPECT_EQ(count_served_by(p.port, "two.localhost", "b", 10), 10);

  // Deleting a file is meant: its routes go, and so does its error.
  fs::remove(two);
  EXPECT_TRUE(poll_until(
      [&] {
        auto r = http_get(p.port, "two.localhost", "/");
        return r && r->status == 404;
      },
      5s))
      << p.proc->log();
  EXPECT_EQ(count_served_by(p.port, "one.localhost", "a", 10), 10);
  json after = wait_file_provider(api, [](const json& j) { return j["errors"].size() == 1; });
  ASSERT_TRUE(after.is_object()) << get_json(api, "/api/providers").dump();
  EXPECT_TRUE(ends_with(after["errors"][0]["file"].get<std::string>(), "one.yml"));
}

// providers.file.directory reads subdirectories (as Traefik), skips dot directories (a
// ConfigMap's ..data), and watches subdirectories, including ones made while running.
TEST_F(FileProviderTest, SubdirectoriesAreReadAndWatched) {
  const fs::path conf = dir_.path() / "conf";
  fs::create_directories(conf / "sites" / "deep");
  fs::create_directories(conf / "..data");
  write_file(conf / "services.yml", "http:\n  services:\n" + service("a", a_) + service("b", b_));
  write_file(conf / "sites" / "deep" / "one.yml",
             "http:\n  routers:\n" + router("one", "one.localhost", "a"));
  write_file(conf / "..data" / "hidden.yml",
             "http:\n  routers:\n" + router("hidden", "hidden.localhost", "a"));
  Portier p = start_portier_static(
      dir_,
      "entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\n"
      "providers:\n  file:\n    directory: conf\n",
      "", {"web"}, 1);
  ASSERT_TRUE(served_by(p.port, "one.localhost", "a")) << p.proc->log();
  auto hidden = http_get(p.port, "hidden.localhost", "/");
  ASSERT_TRUE(hidden);
  EXPECT_EQ(hidden->status, 404) << "dot directories are not configuration";

  // A file changed in a subdirectory, and a subdirectory made while running.
  write_file(conf / "sites" / "deep" / "one.yml",
             "http:\n  routers:\n" + router("one", "one.localhost", "b"));
  EXPECT_TRUE(served_by(p.port, "one.localhost", "b")) << p.proc->log();
  fs::create_directories(conf / "later");
  write_file(conf / "later" / "two.yml",
             "http:\n  routers:\n" + router("two", "two.localhost", "a"));
  EXPECT_TRUE(served_by(p.port, "two.localhost", "a")) << p.proc->log();
  write_file(conf / "later" / "two.yml",
             "http:\n  routers:\n" + router("two", "two.localhost", "b"));
  EXPECT_TRUE(served_by(p.port, "two.localhost", "b")) << "a new subdirectory is watched";
}

}  // namespace
}  // namespace portier::test
