// The cache's RFC 9111 arithmetic and its store, without sockets.
#include "proxy/middlewares/http_cache.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

namespace portier::proxy::cache {
namespace {

TEST(HttpCache, CacheControlDirectives) {
  Directives d;
  d.add("public, max-age=60, s-maxage=\"120\"");
  d.add("stale-while-revalidate=30, Stale-If-Error=600, proxy-revalidate");
  EXPECT_TRUE(d.is_public);
  EXPECT_EQ(d.max_age, 60);
  EXPECT_EQ(d.s_maxage, 120);
  EXPECT_EQ(d.stale_while_revalidate, 30);
  EXPECT_EQ(d.stale_if_error, 600);
  EXPECT_TRUE(d.must_revalidate);
  Directives e;
  e.add("no-cache=\"Set-Cookie\", private, no-store, max-age=abc");
  EXPECT_TRUE(e.no_cache);
  EXPECT_TRUE(e.is_private);
  EXPECT_TRUE(e.no_store);
  EXPECT_EQ(e.max_age, 0);  // malformed: stale at once
}

TEST(HttpCache, HttpDates) {
  const Seconds t = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT (RFC 9110's example)
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), t);
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), t);
  EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), t);
  EXPECT_EQ(format_http_date(t), "Sun, 06 Nov 1994 08:49:37 GMT");
  for (std::string bad : {"", "0", "yesterday", "Sun, 06 Xyz 1994 08:49:37 GMT",
                          "Sun, 32 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(parse_http_date(bad));
  }
}

TEST(HttpCache, WhatIsStoredAndForHowLong) {
  const Seconds now = 1'800'000'000;
  const std::string date = format_http_date(now);
  struct Case {
    std::string name;
    int status;
    FieldList fields;
    bool authorized = false;
    Policy policy{};
    std::optional<Seconds> lifetime;  // nullopt: not stored
  };
  const std::vector<Case> cases = {
      {"max-age", 200, {{"Cache-Control", "max-age=60"}}, false, {}, 60},
      {"s-maxage wins", 200, {{"Cache-Control", "max-age=60, s-maxage=5"}}, false, {}, 5},
      {"Expires - Date", 200, {{"Date", date}, {"Expires", format_http_date(now + 30)}}, false, {}, 30},
      {"Expires in the past", 200, {{"Date", date}, {"Expires", format_http_date(now - 30)}}, false, {}, 0},
      {"bad Expires: stale", 200, {{"Expires", "0"}}, false, {}, 0},
      {"heuristic: 10% of Last-Modified's age", 200,
       {{"Date", date}, {"Last-Modified", format_http_date(now - 1000)}}, false, {}, 100},
      {"heuristic capped at a day", 200,
       {{"Date", date}, {"Last-Modified", format_http_date(now - 100 * 86400)}}, false, {}, 86400},
      {"nothing said", 200, {}, false, {}, std::nullopt},
      {"nothing said, defaultTtl", 200, {}, false, {60, 0, 0, false}, 60},
      {"defaultTtl is for heuristic statuses only", 302, {}, false, {60, 0, 0, false}, std::nullopt},
      {"no-store", 200, {{"Cache-Control", "max-age=60, no-store"}}, false, {}, std::nullopt},
      {"private", 200, {{"Cache-Control", "private, max-age=60"}}, false, {}, std::nullopt},
      {"Set-Cookie", 200, {{"Cache-Control", "max-age=60"}, {"Set-Cookie", "a=b"}}, false, {}, std::nullopt},
      {"Vary: *", 200, {{"Cache-Control", "max-age=60"}, {"Vary", "Origin, *"}}, false, {}, std::nullopt},
      {"206 not stored", 206, {{"Cache-Control", "max-age=60"}}, false, {}, std::nullopt},
      {"404 with max-age", 404, {{"Cache-Control", "max-age=10"}}, false, {}, 10},
      {"no-cache with a validator: stored, always revalidated", 200,
       {{"Cache-Control", "no-cache"}, {"ETag", "\"x\""}}, false, {}, 0},
      {"authorized, not public", 200, {{"Cache-Control", "max-age=60"}}, true, {}, std::nullopt},
      {"authorized, public", 200, {{"Cache-Control", "public, max-age=60"}}, true, {}, 60},
      {"authorized, cacheAuthorized", 200, {{"Cache-Control", "max-age=60"}}, true, {0, 0, 0, true}, 60},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto f = storable(c.status, c.fields, c.authorized, c.policy, now);
    ASSERT_EQ(f.has_value(), c.lifetime.has_value());
    if (f) {
      EXPECT_EQ(f->lifetime, *c.lifetime);
    }
  }
  // Age: the larger of the Age field and the time since Date.
  auto f = storable(200, {{"Cache-Control", "max-age=60"}, {"Age", "20"}, {"Date", format_http_date(now - 5)}},
                    false, {}, now);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->age(now), 20);
  EXPECT_TRUE(f->fresh(now + 39));
  EXPECT_FALSE(f->fresh(now + 40));
  EXPECT_EQ(f->staleness(now + 45), 5);
}

TEST(HttpCache, Merge304) {
  FieldList stored = {{"Content-Type", "text/html"}, {"ETag", "\"1\""}, {"Cache-Control", "max-age=1"}};
  FieldList fresh = {{"Cache-Control", "max-age=60"}, {"Content-Length", "0"}, {"X-New", "y"}};
  FieldList want = {{"Content-Type", "text/html"}, {"ETag", "\"1\""}, {"Cache-Control", "max-age=60"},
                    {"X-New", "y"}};
  EXPECT_EQ(merge_304(stored, fresh), want);
}

std::shared_ptr<Entry> entry(std::size_t body, FieldList vary = {}) {
  auto e = std::make_shared<Entry>();
  e->body.assign(body, 'x');
  e->vary = std::move(vary);
  return e;
}

TEST(HttpCache, StoreVariantsLruAndPurge) {
  // Costs: body + 256 + 32 per field and name/value: two 1000-byte variants take 2610 bytes.
  Store store(3000, 2000);
  auto none = [](std::string_view) -> std::optional<std::string_view> { return std::nullopt; };
  auto lang = [](std::string v) {
    return [v](std::string_view n) -> std::optional<std::string_view> {
      if (n == "accept-language") return std::string_view(v);
      return std::nullopt;
    };
  };
  EXPECT_TRUE(store.insert("h/a", entry(1000, {{"accept-language", "en"}})));
  EXPECT_TRUE(store.insert("h/a", entry(1000, {{"accept-language", "fr"}})));
  EXPECT_TRUE(store.find("h/a", lang("fr")));
  EXPECT_TRUE(store.find("h/a", lang("en")));
  EXPECT_FALSE(store.find("h/a", lang("de")));
  EXPECT_FALSE(store.find("h/a", none));
  // Replacing a variant does not add one.
  EXPECT_TRUE(store.insert("h/a", entry(1000, {{"accept-language", "fr"}})));
  EXPECT_EQ(store.stats().entries, 1u);
  // A second key fits; a third evicts the least recently used first (h/b: h/a was read after
  // it), then h/a.
  EXPECT_TRUE(store.insert("h/b", entry(100)));
  EXPECT_TRUE(store.find("h/a", lang("en")));
  EXPECT_TRUE(store.insert("h/c", entry(1000)));
  EXPECT_FALSE(store.find("h/b", none));
  EXPECT_TRUE(store.find("h/c", none));
  EXPECT_GE(store.stats().evictions, 1u);
  EXPECT_LE(store.stats().bytes, 3000u);
  EXPECT_EQ(store.stats().entries, 1u);
  // Too big for one entry.
  EXPECT_FALSE(store.insert("h/big", entry(5000)));
  // Purge.
  EXPECT_EQ(store.purge("h/c"), 1u);
  EXPECT_EQ(store.purge("h/c"), 0u);
  EXPECT_TRUE(store.insert("h/p1", entry(10)));
  EXPECT_TRUE(store.insert("h/p2", entry(10)));
  EXPECT_EQ(store.purge_prefix("h/p"), 2u);
  EXPECT_FALSE(store.find("h/p1", none));
}

TEST(HttpCache, ClaimCollapsesMisses) {
  Store store(1 << 20, 1 << 20);
  boost::asio::io_context io;
  auto t = std::make_shared<boost::asio::steady_timer>(io, std::chrono::seconds(10));
  EXPECT_TRUE(store.claim("k", nullptr));
  EXPECT_FALSE(store.claim("k", nullptr));  // a refresh that does not wait registers nothing
  EXPECT_FALSE(store.claim("k", [&] { return t; }));  // waits for the first
  bool cancelled = false;
  t->async_wait([&](boost::system::error_code ec) { cancelled = ec == boost::asio::error::operation_aborted; });
  store.release("k");
  io.run_for(std::chrono::seconds(1));
  EXPECT_TRUE(cancelled);
  EXPECT_TRUE(store.claim("k", nullptr));  // free again
}

}  // namespace
}  // namespace portier::proxy::cache

// The disk tier's file format and its index, with real files in a temporary directory.
#include <filesystem>
#include <fstream>

#include "proxy/middlewares/cache_disk.h"

namespace portier::proxy::cache {
namespace {

TEST(CacheDisk, FileFormatRoundTripsAndRefusesDamage) {
  Entry e;
  e.status = 404;
  e.fields = {{"Content-Type", "text/plain"}, {"X-Odd", "a\"b\\c\n"}};
  e.vary = {{"accept-language", "fr"}};
  e.body = std::string("bin\0ary\nbody", 12);
  e.freshness.response_time = 1'800'000'000;
  e.freshness.lifetime = 60;
  e.freshness.stale_if_error = 5;
  e.freshness.must_revalidate = true;
  e.etag = "\"x\"";
  const std::string bytes = DiskTier::serialize("host/p?q", e);
  auto back = DiskTier::parse(bytes);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->first, "host/p?q");
  EXPECT_EQ(back->second.status, 404);
  EXPECT_EQ(back->second.fields, e.fields);
  EXPECT_EQ(back->second.vary, e.vary);
  EXPECT_EQ(back->second.body, e.body);
  EXPECT_EQ(back->second.freshness.lifetime, 60);
  EXPECT_EQ(back->second.freshness.stale_if_error, 5);
  EXPECT_TRUE(back->second.freshness.must_revalidate);
  EXPECT_EQ(back->second.etag, "\"x\"");
  EXPECT_FALSE(DiskTier::parse(bytes.substr(0, bytes.size() - 1)));  // cut short
  EXPECT_FALSE(DiskTier::parse(bytes + "x"));                        // trailing bytes
  EXPECT_FALSE(DiskTier::parse("PORTIER-CACHE 1\n{\"key\":1}\n"));
  EXPECT_FALSE(DiskTier::parse("garbage"));
}

TEST(CacheDisk, WritesReadsEvictsAndSurvivesARestart) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("portier-disk-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  auto none = [](std::string_view) -> std::optional<std::string_view> { return std::nullopt; };
  auto read = [&](DiskTier& t, const std::string& key) {
    boost::asio::io_context io;
    std::shared_ptr<const Entry> got;
    boost::asio::co_spawn(io, [&]() -> boost::asio::awaitable<void> {
      got = co_await t.read(key, none);
    }, boost::asio::detached);
    io.run_for(std::chrono::seconds(5));
    return got;
  };
  auto entry = [](std::size_t n) {
    auto e = std::make_shared<Entry>();
    e->body.assign(n, 'd');
    e->freshness.lifetime = 60;
    return e;
  };
  {
    auto t = DiskTier::open(dir.string(), 3000);
    ASSERT_TRUE(t) << t.error().message;
    (*t)->write("h/a", entry(1000));
    (*t)->write("h/b", entry(1000));
    (*t)->flush(std::chrono::seconds(5));
    auto a = read(**t, "h/a");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->body, std::string(1000, 'd'));
    (*t)->write("h/c", entry(1000));  // over 3000 bytes (each file is about 1300): h/b, the least recently used, goes
    (*t)->flush(std::chrono::seconds(5));
    EXPECT_FALSE(read(**t, "h/b"));
    EXPECT_TRUE(read(**t, "h/c"));
    EXPECT_EQ((*t)->stats().entries, 2u);
    EXPECT_EQ((*t)->purge("h/c"), 1u);
    (*t)->flush(std::chrono::seconds(5));
  }
  // A damaged file and a leftover temporary one are removed by the next start's scan.
  { std::ofstream(dir / "deadbeef") << "not an entry"; }
  { std::ofstream(dir / "x.tmp") << "half"; }
  auto again = DiskTier::open(dir.string(), 3000);
  ASSERT_TRUE(again);
  (*again)->flush(std::chrono::seconds(5));
  auto a = read(**again, "h/a");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->body, std::string(1000, 'd'));
  EXPECT_FALSE(read(**again, "h/c"));  // purged before the restart
  EXPECT_FALSE(fs::exists(dir / "deadbeef"));
  EXPECT_FALSE(fs::exists(dir / "x.tmp"));
  again->reset();
  fs::remove_all(dir);
  EXPECT_FALSE(DiskTier::open("/proc/portier-cannot-be-here", 1));
}

}  // namespace
}  // namespace portier::proxy::cache
