// basicAuth and digestAuth (Traefik's pkg/middlewares/auth). Users come from `users` and
// `usersFile` (read when the table is built). A password hash is checked off the worker: bcrypt at
// cost 10 takes tens of milliseconds, so a miss in the verified-credential cache is handed to a
// small thread pool and the request waits for it without holding its worker.
#include <openssl/rand.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fstream>
#include <mutex>
#include <sstream>

#include "common/base64.h"
#include "common/log.h"
#include "proxy/middlewares/credential_cache.h"
#include "proxy/middlewares/digest.h"
#include "proxy/middlewares/filters.h"
#include "proxy/middlewares/htpasswd.h"

namespace portier::proxy::mw {
namespace {

namespace asio = boost::asio;

// Checks waiting for or running on the pool; past this, requests get 503 at once rather than
// queueing without bound (a flood of wrong passwords must not hold every connection's memory).
constexpr int kMaxPendingChecks = 256;

asio::thread_pool& hash_pool() {
  static asio::thread_pool pool(2);
  return pool;
}
std::atomic<int> g_pending{0};

Result<UserMap> users_of(const std::vector<std::string>& users, const std::string& file,
                         UsersFormat format, const std::string& type) {
  std::string contents;
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) return Error{type + ".usersFile: cannot read " + file};
    std::stringstream ss;
    ss << in.rdbuf();
    contents = ss.str();
  }
  auto map = load_users(contents, users, format);
  if (!map) return Error{type + ": " + map.error().message};
  return map;
}

// The credentials of an "Authorization: Basic ..." value.
bool basic_credentials(std::string_view value, std::string& user, std::string& password) {
  if (value.size() < 6 || !http::iequals(value.substr(0, 6), "basic ")) return false;
  auto decoded = base64_decode(value.substr(6));  // ASCII whitespace around it is ignored
  if (!decoded) return false;
  std::size_t colon = decoded->find(':');
  if (colon == std::string::npos) return false;
  user = decoded->substr(0, colon);
  password = decoded->substr(colon + 1);
  return true;
}

void on_success(Stream& s, const std::string& header_field, bool remove_header,
                std::string_view user) {
  s.user.assign(user);
  if (!header_field.empty()) set_edit(s.request_edits, header_field, user);
  if (remove_header) set_edit(s.request_edits, "Authorization", "");
}

struct BasicState {
  std::mutex mu;
  CredentialCache cache;
};

class BasicAuthFilter final : public Filter {
 public:
  BasicAuthFilter(std::string name, config::BasicAuth c, UserMap users)
      : Filter(std::move(name), kAsyncRequest),
        c_(std::move(c)),
        users_(std::move(users)),
        challenge_("Basic realm=\"" + c_.realm + "\""),
        state_(std::make_shared<BasicState>()) {}

  asio::awaitable<Verdict> on_request_async(Stream& s) const override {
    std::string user, password;
    auto value = s.header("Authorization");
    if (!value || !basic_credentials(*value, user, password)) co_return deny(s);
    auto it = users_.find(user);
    if (it == users_.end()) co_return deny(s);
    const std::string& hash = it->second;
    const auto now = CredentialCache::Clock::now();
    bool ok;
    {
      std::lock_guard lock(state_->mu);
      ok = state_->cache.contains(user, password, hash, now);
    }
    if (!ok) {
      if (g_pending.fetch_add(1) >= kMaxPendingChecks) {
        g_pending.fetch_sub(1);
        log::warn("too many password checks waiting; request refused", {{"middleware", name()}});
        s.respond(503);
        co_return Verdict::Respond;
      }
      // The check runs on the pool; the coroutine resumes on its worker when it is done.
      ok = co_await asio::co_spawn(
          hash_pool(),
          [&hash, &password]() -> asio::awaitable<bool> {
            co_return verify_password(hash, password);
          },
          asio::use_awaitable);
      g_pending.fetch_sub(1);
      if (ok) {
        std::lock_guard lock(state_->mu);
        state_->cache.insert(user, password, hash, CredentialCache::Clock::now());
      }
    }
    if (!ok) {
      log::debug("basicAuth: wrong password", {{"middleware", name()}, {"user", user}});
      co_return deny(s);
    }
    on_success(s, c_.header_field, c_.remove_header, user);
    co_return Verdict::Continue;
  }

 private:
  Verdict deny(Stream& s) const {
    s.respond(401);
    s.local.fields.push_back({"WWW-Authenticate", challenge_});
    return Verdict::Respond;
  }
  config::BasicAuth c_;
  UserMap users_;
  std::string challenge_;
  std::shared_ptr<BasicState> state_;
};

// One key for every digest filter of the process, so any worker (and a rebuilt table) accepts
// the nonces any other issued.
std::span<const unsigned char> digest_key() {
  static const std::array<unsigned char, 32> key = [] {
    std::array<unsigned char, 32> k{};
    if (RAND_bytes(k.data(), static_cast<int>(k.size())) != 1) {
      throw std::runtime_error("RAND_bytes failed");
    }
    return k;
  }();
  return key;
}

class DigestAuthFilter final : public Filter {
 public:
  DigestAuthFilter(std::string name, config::DigestAuth c, UserMap users)
      : Filter(std::move(name), kRequest),
        c_(std::move(c)),
        users_(std::move(users)),
        digest_(c_.realm, digest_key()) {}

  Verdict on_request(Stream& s) const override {
    auto value = s.header("Authorization");
    std::string target(s.path);
    if (!s.query.empty()) target.append("?").append(s.query);
    const auto now = DigestAuth::Clock::now();
    auto r = digest_.check(value ? *value : std::string_view(), s.method, target, users_, now);
    if (r.outcome == DigestAuth::Outcome::Ok) {
      on_success(s, c_.header_field, c_.remove_header, r.username);
      return Verdict::Continue;
    }
    s.respond(401);
    s.local.fields.push_back(
        {"WWW-Authenticate", digest_.challenge(now, r.outcome == DigestAuth::Outcome::Stale)});
    return Verdict::Respond;
  }

 private:
  config::DigestAuth c_;
  UserMap users_;
  DigestAuth digest_;
};

}  // namespace

Built basic_auth(const std::string& name, const config::Middleware& m, const ChainContext&) {
  config::BasicAuth c = *m.basic_auth;
  if (c.realm.empty()) c.realm = "traefik";
  auto users = users_of(c.users, c.users_file, UsersFormat::Basic, "basicAuth");
  if (!users) return users.error();
  return std::make_unique<BasicAuthFilter>(name, std::move(c), std::move(*users));
}

Built digest_auth(const std::string& name, const config::Middleware& m, const ChainContext&) {
  config::DigestAuth c = *m.digest_auth;
  if (c.realm.empty()) c.realm = "traefik";
  auto users = users_of(c.users, c.users_file, UsersFormat::Digest, "digestAuth");
  if (!users) return users.error();
  return std::make_unique<DigestAuthFilter>(name, std::move(c), std::move(*users));
}

}  // namespace portier::proxy::mw
