#include "acme/redis_storage.h"

#include <algorithm>
#include <map>
#include <random>

#include "acme/crypto.h"
#include "acme/schedule.h"
#include "common/log.h"

namespace portier::acme {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kTimeout = 2s;
constexpr auto kTokenTtl = 10min;
constexpr auto kAckWait = 2s;

const char* kUnlockScript =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) "
    "else return 0 end";
const char* kRenewScript =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], "
    "ARGV[2]) else return 0 end";

std::string random_hex(std::size_t bytes) {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes; ++i) {
    auto b = static_cast<unsigned>(rng() & 0xff);
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

std::string set_id(const std::vector<std::string>& domains) {
  std::string out;
  for (const auto& d : normalize_domains(domains)) out += (out.empty() ? "" : ",") + d;
  return out;
}

// One item in acme.json's shape, through the same conversions acme.json uses.
std::string cert_json(const StoredCertificate& c) {
  nlohmann::json r;
  resolver_to_json(ResolverData{std::nullopt, {c}, {}}, r);
  return r["Certificates"][0].dump();
}
std::string failure_json(const FailureState& f) {
  nlohmann::json r;
  resolver_to_json(ResolverData{std::nullopt, {}, {f}}, r);
  return r["PortierFailures"][0].dump();
}
std::string account_json(const StoredAccount& a) {
  nlohmann::json r;
  resolver_to_json(ResolverData{a, {}, {}}, r);
  return r["Account"].dump();
}

template <typename T>
std::map<std::string, const T*> by_set(const std::vector<T>& items) {
  std::map<std::string, const T*> out;
  for (const auto& i : items) out.emplace(set_id(i.domains), &i);
  return out;
}

// HSET of the changed items and HDEL of the removed ones, between two lists.
template <typename T, typename ToJson>
void diff_hash(const std::string& key, const std::vector<T>& before, const std::vector<T>& after,
               ToJson to_json, std::vector<std::vector<std::string>>& cmds) {
  auto old = by_set(before);
  auto now = by_set(after);
  std::vector<std::string> hset{"HSET", key}, hdel{"HDEL", key};
  for (const auto& [id, item] : now) {
    auto it = old.find(id);
    if (it == old.end() || !(*it->second == *item)) {
      hset.push_back(id);
      hset.push_back(to_json(*item));
    }
  }
  for (const auto& [id, item] : old) {
    if (!now.count(id)) hdel.push_back(id);
  }
  if (hset.size() > 2) cmds.push_back(std::move(hset));
  if (hdel.size() > 2) cmds.push_back(std::move(hdel));
}

std::int64_t not_after(const StoredCertificate& c) {
  auto info = parse_leaf(c.cert_pem);
  return info ? info->not_after : 0;
}

}  // namespace

ResolverData merge_shared(const ResolverData& remote, const ResolverData& local) {
  ResolverData out = remote;
  if (!out.account) out.account = local.account;
  auto remote_certs = by_set(remote.certificates);
  for (const auto& c : local.certificates) {
    std::string id = set_id(c.domains);
    auto it = std::find_if(out.certificates.begin(), out.certificates.end(),
                           [&](const StoredCertificate& r) { return set_id(r.domains) == id; });
    if (it == out.certificates.end()) {
      out.certificates.push_back(c);
    } else if (not_after(c) > not_after(*it)) {
      *it = c;
    }
  }
  auto remote_failures = by_set(remote.failures);
  for (const auto& f : local.failures) {
    std::string id = set_id(f.domains);
    if (!remote_failures.count(id) && !remote_certs.count(id)) out.failures.push_back(f);
  }
  return out;
}

RedisStorage::RedisStorage(RedisEndpoint ep, std::string resolver)
    : ep_(std::move(ep)),
      resolver_(std::move(resolver)),
      base_(ep_.prefix + ":acme:" + resolver_ + ":"),
      instance_(random_hex(8)),
      conn_(ep_, kTimeout) {}

RedisStorage::~RedisStorage() { stop(); }

Result<RedisReply> RedisStorage::cmd(const std::vector<std::string>& args) {
  std::lock_guard lk(cmd_mu_);
  auto r = conn_.command(args);
  if (r && r->is_error()) return Error{"redis: " + args[0] + ": " + r->str};
  return r;
}

Result<ResolverData> RedisStorage::load() {
  auto account = cmd({"GET", key("account")});
  if (!account) return account.error();
  auto certs = cmd({"HGETALL", key("certificates")});
  if (!certs) return certs.error();
  auto failures = cmd({"HGETALL", key("failures")});
  if (!failures) return failures.error();
  // Reassembled into acme.json's resolver object, read by the same code as the file.
  nlohmann::json r = nlohmann::json::object();
  if (account->type == RedisReply::Type::Bulk) {
    auto a = nlohmann::json::parse(account->str, nullptr, false);
    if (a.is_object()) r["Account"] = std::move(a);
  }
  auto values = [](const RedisReply& hash) {
    nlohmann::json arr = nlohmann::json::array();
    for (std::size_t i = 1; i < hash.elements.size(); i += 2) {
      auto v = nlohmann::json::parse(hash.elements[i].str, nullptr, false);
      if (!v.is_discarded()) arr.push_back(std::move(v));
    }
    return arr;
  };
  r["Certificates"] = values(*certs);
  r["PortierFailures"] = values(*failures);
  ResolverData data = resolver_from_json(r);
  std::lock_guard lk(data_mu_);
  last_ = data;
  return data;
}

Result<bool> RedisStorage::save(const ResolverData& data) {
  std::vector<std::vector<std::string>> cmds;
  {
    std::lock_guard lk(data_mu_);
    if (data.account && data.account != last_.account) {
      cmds.push_back({"SET", key("account"), account_json(*data.account)});
    }
    diff_hash(key("certificates"), last_.certificates, data.certificates, cert_json, cmds);
    diff_hash(key("failures"), last_.failures, data.failures, failure_json, cmds);
  }
  if (cmds.empty()) return true;
  for (const auto& c : cmds) {
    if (auto r = cmd(c); !r) return r.error();
  }
  {
    std::lock_guard lk(data_mu_);
    last_ = data;
  }
  if (auto r = cmd({"PUBLISH", key("events"), "data " + instance_}); !r) return r.error();
  return true;
}

Result<bool> RedisStorage::try_lock(const std::string& set, const std::string& token,
                                    std::chrono::milliseconds ttl) {
  auto r = cmd({"SET", key("lock:" + set), token, "NX", "PX", std::to_string(ttl.count())});
  if (!r) return r.error();
  return r->type == RedisReply::Type::Status;  // OK; Nil when someone holds it
}

Result<bool> RedisStorage::renew_lock(const std::string& set, const std::string& token,
                                      std::chrono::milliseconds ttl) {
  auto r = cmd({"EVAL", kRenewScript, "1", key("lock:" + set), token, std::to_string(ttl.count())});
  if (!r) return r.error();
  return r->integer == 1;
}

void RedisStorage::unlock(const std::string& set, const std::string& token) {
  if (auto r = cmd({"EVAL", kUnlockScript, "1", key("lock:" + set), token}); !r) {
    // It expires by itself (PX); the others wait until then.
    log::warn("acme: cannot release the order lock in Redis",
              {{"resolver", resolver_}, {"domains", set}, {"error", r.error().message}});
  }
}

void RedisStorage::publish_token(const std::string& token, const std::string& key_authorization) {
  const std::string acks = key("acks:" + token);
  auto stored = cmd({"HSET", key("tokens"), token, key_authorization});
  if (stored) {
    stored = cmd(
        {"PEXPIRE", key("tokens"), std::to_string(std::chrono::milliseconds(kTokenTtl).count())});
  }
  auto sent = stored ? cmd({"PUBLISH", key("events"),
                            "token " + instance_ + " " + token + " " + key_authorization})
                     : stored;
  if (!sent) {
    // This instance still answers; others may not, and validation may then fail and be retried.
    log::warn("acme: cannot share the HTTP-01 token through Redis",
              {{"resolver", resolver_}, {"error", sent.error().message}});
    return;
  }
  const long long subscribers = sent->integer;
  auto deadline = Clock::now() + kAckWait;
  long long acked = 0;
  while (Clock::now() < deadline) {
    auto r = cmd({"SCARD", acks});
    if (!r) break;
    acked = r->integer;
    if (acked >= subscribers) return;
    std::this_thread::sleep_for(10ms);
  }
  log::warn("acme: not every instance acknowledged the HTTP-01 token in time",
            {{"resolver", resolver_},
             {"acknowledged", std::to_string(acked)},
             {"subscribers", std::to_string(subscribers)}});
}

void RedisStorage::withdraw_token(const std::string& token) {
  auto r = cmd({"HDEL", key("tokens"), token});
  if (r) r = cmd({"DEL", key("acks:" + token)});
  if (r) r = cmd({"PUBLISH", key("events"), "untoken " + instance_ + " " + token});
  if (!r) {
    log::debug("acme: cannot withdraw the HTTP-01 token from Redis",
               {{"resolver", resolver_}, {"error", r.error().message}});
  }
}

void RedisStorage::start(tls::ChallengeTokens& local, std::function<void()> on_remote) {
  std::lock_guard lk(run_mu_);
  if (thread_.joinable()) return;
  local_ = &local;
  on_remote_ = std::move(on_remote);
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void RedisStorage::stop() {
  {
    std::lock_guard lk(run_mu_);
    stopping_ = true;
  }
  run_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool RedisStorage::sleep_for(std::chrono::milliseconds d) {
  std::unique_lock lk(run_mu_);
  return !run_cv_.wait_for(lk, d, [&] { return stopping_; });
}

void RedisStorage::resync_tokens() {
  auto all = cmd({"HGETALL", key("tokens")});
  if (!all) return;
  std::set<std::string> present;
  for (std::size_t i = 0; i + 1 < all->elements.size(); i += 2) {
    const std::string& token = all->elements[i].str;
    present.insert(token);
    local_->put(token, all->elements[i + 1].str);
    mirrored_.insert(token);
  }
  for (auto it = mirrored_.begin(); it != mirrored_.end();) {
    if (present.count(*it)) {
      ++it;
      continue;
    }
    local_->erase(*it);
    it = mirrored_.erase(it);
  }
}

void RedisStorage::handle(const RedisReply& msg) {
  // ["message", channel, payload]
  if (msg.type != RedisReply::Type::Array || msg.elements.size() != 3 ||
      msg.elements[0].str != "message") {
    return;
  }
  std::vector<std::string> words;
  const std::string& payload = msg.elements[2].str;
  for (std::size_t p = 0; p < payload.size();) {
    auto sp = payload.find(' ', p);
    if (sp == std::string::npos) sp = payload.size();
    words.push_back(payload.substr(p, sp - p));
    p = sp + 1;
  }
  if (words.size() < 2) return;
  const bool mine = words[1] == instance_;
  if (words[0] == "data" && !mine) {
    on_remote_();
  } else if (words[0] == "token" && words.size() == 4) {
    if (!mine) {
      local_->put(words[2], words[3]);
      mirrored_.insert(words[2]);
    }
    const std::string acks = key("acks:" + words[2]);
    if (cmd({"SADD", acks, instance_})) cmd({"PEXPIRE", acks, "60000"});
  } else if (words[0] == "untoken" && words.size() == 3 && !mine) {
    local_->erase(words[2]);
    mirrored_.erase(words[2]);
  }
}

void RedisStorage::run() {
  auto backoff = 100ms;
  bool down = false;
  const std::string channel = key("events");
  while (true) {
    {
      std::lock_guard lk(run_mu_);
      if (stopping_) return;
    }
    RedisConnection sub(ep_, kTimeout);
    Result<bool> ok = sub.send({"SUBSCRIBE", channel});
    if (ok) {
      auto confirm = sub.read(kTimeout);
      if (!confirm) {
        ok = confirm.error();
      } else if (!*confirm || (*confirm)->type != RedisReply::Type::Array) {
        ok = Error{"redis: no SUBSCRIBE confirmation"};
      }
    }
    if (!ok) {
      if (!down) {
        log::warn(
            "acme: shared storage unreachable; certificates are served from memory, "
            "reconnecting",
            {{"resolver", resolver_}, {"storage", where()}, {"error", ok.error().message}});
      }
      down = true;
      if (!sleep_for(backoff)) return;
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, 2s);
      continue;
    }
    if (down) {
      log::info("acme: shared storage reachable again",
                {{"resolver", resolver_}, {"storage", where()}});
    }
    down = false;
    backoff = 100ms;
    // Whatever happened while this instance was not listening.
    resync_tokens();
    on_remote_();
    for (;;) {
      {
        std::lock_guard lk(run_mu_);
        if (stopping_) return;
      }
      auto m = sub.read(250ms);
      if (!m) {
        log::warn("acme: lost the shared storage's subscription; reconnecting",
                  {{"resolver", resolver_}, {"error", m.error().message}});
        down = true;
        break;
      }
      if (*m) handle(**m);
    }
  }
}

void SharedTokens::put(std::string token, std::string key_authorization) {
  local_.put(token, key_authorization);
  shared_.publish_token(token, key_authorization);
}

void SharedTokens::erase(std::string_view token) {
  local_.erase(token);
  shared_.withdraw_token(std::string(token));
}

}  // namespace portier::acme
