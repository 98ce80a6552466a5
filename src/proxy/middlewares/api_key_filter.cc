// The apiKey middleware (a portier type): a key from a request field, Authorization: Bearer or
// the query, checked against hashed keys; the key's name goes upstream in a field.
//
// `sha256:<hex>` keys are checked on the worker: one SHA-256 of the presented key, then a
// constant-time comparison with every such key (no early exit, so timing does not tell which
// entry matched or how far a comparison got). htpasswd hashes (bcrypt...) are slow on purpose:
// as in basicAuth, a miss in the verified-credential cache runs on a small pool, never on the
// event loop, and too many waiting checks answer 503.
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fstream>
#include <mutex>
#include <sstream>

#include "proxy/middlewares/api_keys.h"
#include "proxy/middlewares/credential_cache.h"
#include "proxy/middlewares/filters.h"
#include "proxy/middlewares/htpasswd.h"

namespace portier::proxy::mw {
namespace {

namespace asio = boost::asio;

constexpr int kMaxPendingChecks = 256;

asio::thread_pool& hash_pool() {
  static asio::thread_pool pool(2);
  return pool;
}
std::atomic<int> g_pending{0};

struct SlowState {
  std::mutex mu;
  CredentialCache cache;
};

std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

class ApiKeyFilter final : public Filter {
 public:
  ApiKeyFilter(std::string name, config::ApiKey c, ApiKeyTable table)
      : Filter(std::move(name), table.slow.empty() ? kRequest : kAsyncRequest),
        c_(std::move(c)),
        table_(std::move(table)),
        slow_(std::make_shared<SlowState>()) {}

  Verdict on_request(Stream& s) const override {
    Found f = find_key(s);
    if (!f.key) return deny(s, "missing API key\n");
    const std::string* who = table_.match_fast(*f.key);
    if (!who) return deny(s, "invalid API key\n");
    accept(s, f, *who);
    return Verdict::Continue;
  }

  asio::awaitable<Verdict> on_request_async(Stream& s) const override {
    Found f = find_key(s);
    if (!f.key) co_return deny(s, "missing API key\n");
    const std::string* who = table_.match_fast(*f.key);
    if (!who) who = co_await match_slow(s, std::string(*f.key));
    if (s.local.status == 503) co_return Verdict::Respond;
    if (!who) co_return deny(s, "invalid API key\n");
    accept(s, f, *who);
    co_return Verdict::Continue;
  }

 private:
  struct Found {
    std::optional<std::string_view> key;
    std::string_view field;  // the field it came from, or "" (the query)
  };

  Found find_key(const Stream& s) const {
    if (!c_.key_header.empty()) {
      if (auto v = s.header(c_.key_header); v && !trim(*v).empty()) {
        return {trim(*v), c_.key_header};
      }
    }
    if (c_.bearer) {
      if (auto v = s.header("Authorization");
          v && v->size() > 7 && http::iequals(v->substr(0, 7), "bearer ")) {
        return {trim(v->substr(7)), "Authorization"};
      }
    }
    if (!c_.key_query.empty()) {
      std::string_view q = s.query;
      while (!q.empty()) {
        auto end = q.find('&');
        std::string_view item = q.substr(0, end);
        q = end == std::string_view::npos ? std::string_view() : q.substr(end + 1);
        auto eq = item.find('=');
        if (eq != std::string_view::npos && item.substr(0, eq) == c_.key_query &&
            eq + 1 < item.size()) {
          return {item.substr(eq + 1), ""};
        }
      }
    }
    return {};
  }

  // The name of the slow (htpasswd-hashed) key that `key` matches, or null; 503 in s.local when
  // too many checks wait.
  asio::awaitable<const std::string*> match_slow(Stream& s, std::string key) const {
    const auto now = CredentialCache::Clock::now();
    {
      std::lock_guard lock(slow_->mu);
      for (const auto& e : table_.slow) {
        if (slow_->cache.contains(e.name, key, e.hash, now)) co_return &e.name;
      }
    }
    if (g_pending.fetch_add(1) >= kMaxPendingChecks) {
      g_pending.fetch_sub(1);
      s.respond(503);
      co_return nullptr;
    }
    const ApiKeyTable* table = &table_;
    const std::string* who = co_await asio::co_spawn(
        hash_pool(),
        [table, &key]() -> asio::awaitable<const std::string*> {
          co_return table->match_slow(key);
        },
        asio::use_awaitable);
    g_pending.fetch_sub(1);
    if (who) {
      std::lock_guard lock(slow_->mu);
      for (const auto& e : table_.slow) {
        if (&e.name == who) slow_->cache.insert(e.name, key, e.hash, now);
      }
    }
    co_return who;
  }

  void accept(Stream& s, const Found& f, const std::string& who) const {
    if (!c_.name_header.empty()) set_edit(s.request_edits, c_.name_header, who);
    if (!c_.keep_key && !f.field.empty()) set_edit(s.request_edits, f.field, "");
    s.user = who;
  }

  Verdict deny(Stream& s, const char* why) const {
    s.respond(401);
    s.local.body = why;
    s.local.body_set = true;
    return Verdict::Respond;
  }

  config::ApiKey c_;
  ApiKeyTable table_;
  std::shared_ptr<SlowState> slow_;
};

}  // namespace

Built api_key(const std::string& name, const config::Middleware& m, const ChainContext&) {
  const config::ApiKey& c = *m.api_key;
  std::string file;
  if (!c.keys_file.empty()) {
    std::ifstream in(c.keys_file);
    if (!in) return Error{"apiKey.keysFile: cannot read " + c.keys_file};
    std::stringstream ss;
    ss << in.rdbuf();
    file = ss.str();
  }
  if (c.key_header.empty() && c.key_query.empty() && !c.bearer) {
    return Error{"apiKey: keyHeader is empty and neither keyQuery nor bearer is set"};
  }
  auto table = ApiKeyTable::load(file, c.keys);
  if (!table) return table.error();
  return std::make_unique<ApiKeyFilter>(name, c, std::move(*table));
}

}  // namespace portier::proxy::mw
