// The cache middleware through a real portier: a scripted backend counts what reaches it, the
// client checks what it gets (bodies, Age, Cache-Status) and what the backend never saw.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <thread>

#include "support/decompress.h"
#include "support/net.h"
#include "support/process.h"
#include "support/scripted.h"

namespace portier::test {
namespace {

using namespace std::chrono_literals;

std::string text(std::size_t n, char salt) {
  std::string s;
  for (std::size_t i = 0; s.size() < n; ++i) s += "cached line " + std::to_string(i) + salt + "\n";
  s.resize(n);
  return s;
}

bool contains(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

class CacheTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    counter_ = new std::atomic<int>(0);
    backend_ = new Scripted({
        {"/fresh", fixed_answer("Cache-Control: max-age=60\r\nETag: \"a1\"\r\n"
                                "Last-Modified: Sat, 05 Dec 2026 10:00:00 GMT\r\n"
                                "Content-Type: text/plain\r\n",
                                text(3000, 'f'))},
        {"/private", fixed_answer("Cache-Control: private, max-age=60\r\n", "mine")},
        {"/cookie", fixed_answer("Cache-Control: max-age=60\r\nSet-Cookie: s=1\r\n", "c")},
        {"/nolifetime", fixed_answer("Content-Type: text/plain\r\n", "no lifetime")},
        {"/vary",
         [](int fd, const std::string& head) {
           std::string lang = contains(head, "Accept-Language: fr") ? "fr" : "en";
           send_all(fd, "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nVary: Accept-Language\r\n"
                        "Content-Length: 7\r\n\r\nlang:" + lang);
         }},
        {"/reval",
         [](int fd, const std::string& head) {
           if (contains(head, "If-None-Match: \"r1\"")) {
             send_all(fd, "HTTP/1.1 304 Not Modified\r\nCache-Control: max-age=1\r\n"
                          "ETag: \"r1\"\r\nX-Refreshed: yes\r\n\r\n");
           } else {
             send_all(fd, "HTTP/1.1 200 OK\r\nCache-Control: max-age=1\r\nETag: \"r1\"\r\n"
                          "Content-Length: 8\r\n\r\nversion1");
           }
         }},
        {"/swr",
         [](int fd, const std::string&) {
           const int n = ++*counter_;
           std::string body = "swr-" + std::to_string(n);
           // The refresh stays fresh (max-age=60): with max-age=1, counted in whole seconds, it
           // could be stale again at the next poll and start a second refresh (a flaky count).
           const std::string max_age = n == 1 ? "1" : "60";
           send_all(fd, "HTTP/1.1 200 OK\r\nCache-Control: max-age=" + max_age +
                            ", stale-while-revalidate=30\r\nContent-Length: " +
                            std::to_string(body.size()) + "\r\n\r\n" + body);
         }},
        {"/sie",
         [](int fd, const std::string&) {
           static std::atomic<int> n{0};
           if (n++ == 0) {
             send_all(fd, "HTTP/1.1 200 OK\r\nCache-Control: max-age=1, stale-if-error=60\r\n"
                          "Content-Length: 4\r\n\r\ngood");
           } else {
             send_all(fd, "HTTP/1.1 503 Busy\r\nContent-Length: 4\r\n\r\nbusy");
           }
         }},
        {"/slow",
         [](int fd, const std::string&) {
           std::this_thread::sleep_for(400ms);
           send_all(fd, "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: 4\r\n\r\nslow");
         }},
        {"/big", fixed_answer("Cache-Control: max-age=60\r\n", text(10000, 'b'))},
        {"/page", fixed_answer("Cache-Control: max-age=60\r\nContent-Type: text/html\r\n",
                               text(5000, 'p'))},
    });
    dir_ = new TempDir();
    const std::string dyn = R"yaml(http:
  routers:
    c:
      rule: Host(`c.localhost`)
      service: s
      middlewares: [c]
    small:
      rule: Host(`small.localhost`)
      service: s
      middlewares: [small]
    gz:
      rule: Host(`gz.localhost`)
      service: s
      middlewares: [gz, c]
    api:
      rule: Host(`api.localhost`)
      service: api@internal
  middlewares:
    c:
      cache: {}
    small:
      cache:
        maxMemoryBytes: 30000
    gz:
      compress: {}
  services:
    s:
      loadBalancer:
        servers:
          - url: )yaml" + backend_->url() + "\n";
    portier_ = new Portier(start_portier(*dir_, dyn, "", "api: {}\n"));
  }
  static void TearDownTestSuite() {
    delete portier_;
    delete dir_;
    delete backend_;
    delete counter_;
  }
  static std::optional<Response> get(const std::string& host, const std::string& path,
                                     const std::string& extra = "") {
    return http_get(portier_->port, host, path, extra);
  }
  static Scripted* backend_;
  static TempDir* dir_;
  static Portier* portier_;
  static std::atomic<int>* counter_;
};
Scripted* CacheTest::backend_ = nullptr;
TempDir* CacheTest::dir_ = nullptr;
Portier* CacheTest::portier_ = nullptr;
std::atomic<int>* CacheTest::counter_ = nullptr;

TEST_F(CacheTest, FreshResponsesAreServedFromTheCache) {
  auto first = get("c.localhost", "/fresh");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(first->header("cache-status"), "portier; fwd=miss; stored");
  EXPECT_EQ(first->body, text(3000, 'f'));
  // Copied aside as it streams, the miss keeps the server's framing.
  EXPECT_EQ(first->header("content-length"), "3000");
  EXPECT_FALSE(first->has_header("transfer-encoding"));
  for (int i = 0; i < 3; ++i) {
    auto hit = get("c.localhost", "/fresh");
    ASSERT_TRUE(hit);
    EXPECT_EQ(hit->status, 200);
    EXPECT_TRUE(hit->header("cache-status").starts_with("portier; hit; ttl="))
        << hit->header("cache-status");
    EXPECT_EQ(hit->body, first->body);
    EXPECT_EQ(hit->header("etag"), "\"a1\"");
    EXPECT_EQ(hit->header("content-type"), "text/plain");
    EXPECT_EQ(hit->header("content-length"), "3000");
    EXPECT_TRUE(hit->has_header("age"));
  }
  EXPECT_EQ(backend_->count("/fresh"), 1);
  // HEAD and conditional requests are answered from the entry too.
  Conn conn(portier_->port);
  ASSERT_TRUE(conn.send("HEAD /fresh HTTP/1.1\r\nHost: c.localhost\r\n\r\n"));
  auto head = conn.read_response(true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->header("content-length"), "3000");
  auto not_modified = get("c.localhost", "/fresh", "If-None-Match: W/\"a1\"\r\n");
  ASSERT_TRUE(not_modified);
  EXPECT_EQ(not_modified->status, 304);
  EXPECT_EQ(not_modified->body, "");
  auto since = get("c.localhost", "/fresh", "If-Modified-Since: Sat, 05 Dec 2026 11:00:00 GMT\r\n");
  ASSERT_TRUE(since);
  EXPECT_EQ(since->status, 304);
  EXPECT_EQ(backend_->count("/fresh"), 1);
  // A request that says no-store goes to the server and is not stored.
  auto bypass = get("c.localhost", "/fresh", "Cache-Control: no-store\r\n");
  ASSERT_TRUE(bypass);
  EXPECT_EQ(bypass->header("cache-status"), "portier; fwd=bypass");
  EXPECT_EQ(backend_->count("/fresh"), 2);
}

TEST_F(CacheTest, WhatAServerKeepsPersonalIsNotStored) {
  for (const std::string path : {"/private", "/cookie", "/nolifetime"}) {
    SCOPED_TRACE(path);
    auto a = get("c.localhost", path);
    auto b = get("c.localhost", path);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(b->header("cache-status"), "portier; fwd=miss");
    EXPECT_EQ(backend_->count(path), 2);
  }
  // A request with credentials: the answer does not say public, so it is not stored.
  auto a = get("c.localhost", "/big?auth", "Authorization: Basic dTpw\r\n");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->header("cache-status"), "portier; fwd=miss");
}

TEST_F(CacheTest, VariantsFollowVary) {
  const int before = backend_->count("/vary");
  for (int round = 0; round < 2; ++round) {
    auto en = get("c.localhost", "/vary", "Accept-Language: en\r\n");
    auto fr = get("c.localhost", "/vary", "Accept-Language: fr\r\n");
    ASSERT_TRUE(en && fr);
    EXPECT_EQ(en->body, "lang:en");
    EXPECT_EQ(fr->body, "lang:fr");
  }
  EXPECT_EQ(backend_->count("/vary") - before, 2);
}

TEST_F(CacheTest, StaleEntriesAreRevalidatedOrServedAsTheServerAllows) {
  ASSERT_TRUE(get("c.localhost", "/reval"));
  auto swr1 = get("c.localhost", "/swr");
  ASSERT_TRUE(swr1);
  EXPECT_EQ(swr1->body, "swr-1");
  ASSERT_TRUE(get("c.localhost", "/sie"));
  std::this_thread::sleep_for(2200ms);  // max-age=1: all three are stale now

  // Revalidation: the server gets the validator, says 304, the client gets the stored body.
  auto reval = get("c.localhost", "/reval");
  ASSERT_TRUE(reval);
  EXPECT_EQ(reval->status, 200);
  EXPECT_EQ(reval->body, "version1");
  EXPECT_EQ(reval->header("cache-status"), "portier; fwd=stale; fwd-status=304");
  EXPECT_EQ(reval->header("x-refreshed"), "yes");
  auto heads = backend_->heads("/reval");
  ASSERT_EQ(heads.size(), 2u);
  EXPECT_TRUE(contains(heads[1], "If-None-Match: \"r1\"")) << heads[1];

  // stale-while-revalidate: the stale body at once, a fresh one fetched in the background.
  auto swr2 = get("c.localhost", "/swr");
  ASSERT_TRUE(swr2);
  EXPECT_EQ(swr2->body, "swr-1");
  EXPECT_TRUE(contains(swr2->header("cache-status"), "detail=stale-while-revalidate"))
      << swr2->header("cache-status");
  bool refreshed = false;
  for (int i = 0; i < 50 && !refreshed; ++i) {
    std::this_thread::sleep_for(20ms);
    auto r = get("c.localhost", "/swr");
    refreshed = r && r->body == "swr-2";
  }
  EXPECT_TRUE(refreshed);
  EXPECT_EQ(backend_->count("/swr"), 2);

  // stale-if-error: the server fails, the client gets the stale answer.
  auto sie = get("c.localhost", "/sie");
  ASSERT_TRUE(sie);
  EXPECT_EQ(sie->status, 200);
  EXPECT_EQ(sie->body, "good");
  EXPECT_TRUE(contains(sie->header("cache-status"), "fwd-status=503; detail=stale-if-error"))
      << sie->header("cache-status");
  EXPECT_EQ(backend_->count("/sie"), 2);
}

TEST_F(CacheTest, ConcurrentMissesMakeOneUpstreamRequest) {
  std::vector<std::future<std::optional<Response>>> clients;
  for (int i = 0; i < 6; ++i) {
    clients.push_back(std::async(std::launch::async, [] { return get("c.localhost", "/slow"); }));
  }
  int collapsed = 0;
  for (auto& f : clients) {
    auto r = f.get();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "slow");
    collapsed += contains(r->header("cache-status"), "collapsed");
  }
  EXPECT_EQ(backend_->count("/slow"), 1);
  EXPECT_EQ(collapsed, 5);
}

TEST_F(CacheTest, MemoryLimitEvictsTheLeastRecentlyUsed) {
  // 30000 bytes hold two 10 KB entries: the third evicts the least recently used.
  ASSERT_TRUE(get("small.localhost", "/big?1"));
  ASSERT_TRUE(get("small.localhost", "/big?2"));
  ASSERT_TRUE(get("small.localhost", "/big?1"));  // 1 is now the most recent
  ASSERT_TRUE(get("small.localhost", "/big?3"));  // evicts 2
  const int before = backend_->count("/big");
  auto one = get("small.localhost", "/big?1");
  ASSERT_TRUE(one);
  EXPECT_TRUE(contains(one->header("cache-status"), "hit"));
  auto two = get("small.localhost", "/big?2");
  ASSERT_TRUE(two);
  EXPECT_TRUE(contains(two->header("cache-status"), "fwd=miss"));
  EXPECT_EQ(backend_->count("/big") - before, 1);
  auto stats = get("api.localhost", "/api/portier/cache");
  ASSERT_TRUE(stats);
  auto j = nlohmann::json::parse(stats->body);
  bool found = false;
  for (const auto& c : j) {
    if (c["middleware"] == "small@file") {
      found = true;
      EXPECT_GE(c["evictions"].get<int>(), 1);
      EXPECT_LE(c["bytes"].get<int>(), 30000);
    }
  }
  EXPECT_TRUE(found) << stats->body;
}

TEST_F(CacheTest, PurgeAndUnsafeMethodsDropEntries) {
  ASSERT_TRUE(get("c.localhost", "/page?purge"));
  auto hit = get("c.localhost", "/page?purge");
  ASSERT_TRUE(hit);
  EXPECT_TRUE(contains(hit->header("cache-status"), "hit"));
  // DELETE through the API (behind its router here).
  Conn conn(portier_->port);
  ASSERT_TRUE(conn.send("DELETE /api/portier/cache?key=c.localhost%2Fpage%3Fpurge HTTP/1.1\r\n"
                        "Host: api.localhost\r\n\r\n"));
  auto purged = conn.read_response();
  ASSERT_TRUE(purged);
  EXPECT_EQ(purged->status, 200) << purged->body;
  EXPECT_EQ(nlohmann::json::parse(purged->body)["purged"], 1);
  auto miss = get("c.localhost", "/page?purge");
  ASSERT_TRUE(miss);
  EXPECT_TRUE(contains(miss->header("cache-status"), "fwd=miss"));
  // A POST to the URL drops it too (RFC 9111 4.4).
  Conn post(portier_->port);
  ASSERT_TRUE(post.send("POST /page?purge HTTP/1.1\r\nHost: c.localhost\r\nContent-Length: 1\r\n\r\nx"));
  ASSERT_TRUE(post.read_response());
  auto after = get("c.localhost", "/page?purge");
  ASSERT_TRUE(after);
  EXPECT_TRUE(contains(after->header("cache-status"), "fwd=miss"));
  // By prefix.
  ASSERT_TRUE(get("c.localhost", "/page?q1"));
  ASSERT_TRUE(get("c.localhost", "/page?q2"));
  Conn prefix(portier_->port);
  ASSERT_TRUE(prefix.send("DELETE /api/portier/cache?prefix=c.localhost%2Fpage%3Fq&middleware=c%40file "
                          "HTTP/1.1\r\nHost: api.localhost\r\n\r\n"));
  auto r = prefix.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(nlohmann::json::parse(r->body)["purged"], 2);
}

TEST_F(CacheTest, HitsAreCompressedByAnOuterCompress) {
  ASSERT_TRUE(get("gz.localhost", "/page", "Accept-Encoding: gzip\r\n"));
  auto hit = get("gz.localhost", "/page", "Accept-Encoding: gzip\r\n");
  ASSERT_TRUE(hit);
  EXPECT_TRUE(contains(hit->header("cache-status"), "hit"));
  EXPECT_EQ(hit->header("content-encoding"), "gzip");
  auto plain = decompress("gzip", hit->body);
  ASSERT_TRUE(plain);
  EXPECT_TRUE(*plain == text(5000, 'p'));
  auto identity = get("gz.localhost", "/page");
  ASSERT_TRUE(identity);
  EXPECT_FALSE(identity->has_header("content-encoding"));
  EXPECT_TRUE(identity->body == text(5000, 'p'));
}

}  // namespace
}  // namespace portier::test

namespace portier::test {
namespace {

// d.localhost through a cache middleware with a disk tier in <dir>/cache to `backend`; `more`:
// further lines of the cache's options.
std::string disk_cache_routes(const Scripted& backend, const TempDir& dir,
                              const std::string& more = "") {
  return R"yaml(http:
  routers:
    d:
      rule: Host(`d.localhost`)
      service: s
      middlewares: [d]
  middlewares:
    d:
      cache:
)yaml" + more +
         "        diskPath: " + (dir.path() / "cache").string() + R"yaml(
  services:
    s:
      loadBalancer:
        servers:
          - url: )yaml" +
         backend.url() + "\n";
}

// diskPath: entries evicted from memory and entries stored before a restart are served from
// the disk; the backend never sees those requests again.
TEST(CacheDiskProxy, EvictedAndRestartedEntriesComeFromTheDisk) {
  Scripted backend({{"/big", fixed_answer("Cache-Control: max-age=60\r\n", text(10000, 'd'))}});
  TempDir dir;
  const std::string dyn = disk_cache_routes(backend, dir, "        maxMemoryBytes: 12000\n");
  auto status_of = [](const Portier& p, const std::string& path) {
    auto r = http_get(p.port, "d.localhost", path);
    EXPECT_TRUE(r);
    if (r) {
      EXPECT_EQ(r->body, text(10000, 'd'));
    }
    return r ? r->header("cache-status") : "";
  };
  {
    Portier p = start_portier(dir, dyn);
    EXPECT_EQ(status_of(p, "/big?1"), "portier; fwd=miss; stored");
    EXPECT_EQ(status_of(p, "/big?2"), "portier; fwd=miss; stored");  // evicts ?1 from memory
    // Written to disk in the background: poll until ?1 is served from there.
    std::string st;
    for (int i = 0; i < 50 && !contains(st, "detail=disk"); ++i) {
      std::this_thread::sleep_for(20ms);
      st = status_of(p, "/big?1");
    }
    EXPECT_TRUE(contains(st, "hit") && contains(st, "detail=disk")) << st;
    EXPECT_EQ(backend.count("/big"), 2);
    // A graceful stop (docker stop, systemctl restart) finishes the writes still queued: ?2's
    // may be. (The harness's SIGKILL would lose it, as a crash would.)
    ASSERT_TRUE(p.proc->signal(SIGTERM));
    ASSERT_TRUE(p.proc->wait_exit(10s));
    std::size_t files = 0;
    for (const auto& f : std::filesystem::directory_iterator(dir.path() / "cache")) {
      const std::string name = f.path().filename().string();
      files += f.is_regular_file() && name[0] != '.' && !name.ends_with(".tmp");
    }
    EXPECT_EQ(files, 2u);
  }
  // A new process finds the entries on disk.
  Portier again = start_portier(dir, dyn);
  const std::string st = status_of(again, "/big?2");
  EXPECT_TRUE(contains(st, "hit") && contains(st, "detail=disk")) << st;
  EXPECT_EQ(backend.count("/big"), 2);
}

// A field value that is not UTF-8 (obs-text: a Latin-1 file name, say) cannot go into the disk
// tier's JSON head: the entry stays in memory only, with a warning. It used to throw on the
// disk writer's thread and end the process.
TEST(CacheDiskProxy, AFieldThatIsNotUtf8StaysInMemory) {
  const std::string latin1 = "attachment; filename=caf\xe9.txt";
  Scripted backend({{"/latin1", fixed_answer("Cache-Control: max-age=60\r\nContent-Disposition: " +
                                                 latin1 + "\r\n",
                                             "bytes")}});
  TempDir dir;
  const std::string dyn = disk_cache_routes(backend, dir);
  Portier p = start_portier(dir, dyn);
  auto first = http_get(p.port, "d.localhost", "/latin1");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->header("cache-status"), "portier; fwd=miss; stored");
  ASSERT_TRUE(p.proc->wait_for_log("cache: entry not written to disk", 5s)) << p.proc->log();
  auto again = http_get(p.port, "d.localhost", "/latin1");
  ASSERT_TRUE(again) << p.proc->log();
  EXPECT_TRUE(contains(again->header("cache-status"), "hit")) << again->header("cache-status");
  EXPECT_EQ(again->header("content-disposition"), latin1);
  EXPECT_EQ(again->body, "bytes");
  EXPECT_EQ(backend.count("/latin1"), 1);
  EXPECT_FALSE(p.proc->wait_exit(0ms)) << "portier ended:\n" << p.proc->log();
}

}  // namespace
}  // namespace portier::test
