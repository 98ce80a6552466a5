#include "acme/manager_state.h"

#include <algorithm>

#include "acme/redis_storage.h"
#include "common/log.h"

namespace portier::acme {
namespace {

constexpr std::int64_t kMaxSleepMs = 12LL * 3600 * 1000;

std::string format_delay(std::int64_t ms) {
  if (ms < 10'000) return std::to_string(ms) + "ms";
  if (ms < 3 * 3600'000LL) return std::to_string((ms + 500) / 1000) + "s";
  return std::to_string((ms + 1'800'000) / 3'600'000) + "h";
}

}  // namespace

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string join_domains(const std::vector<std::string>& domains) {
  std::string out;
  for (const auto& d : domains) out += (out.empty() ? "" : ",") + d;
  return out;
}

std::string set_key(const std::vector<std::string>& domains) {
  return join_domains(normalize_domains(domains));
}

ResolverState::ResolverState(const ResolverConfig& cfg, std::chrono::milliseconds retry_base)
    : cfg_(cfg),
      retry_base_(retry_base),
      rng_(std::random_device{}()) {
  if (!is_redis_url(cfg.storage)) {
    storage_ = std::make_unique<Storage>(cfg.storage, cfg.name);
  } else if (auto ep = parse_redis_url(cfg.storage)) {
    storage_ = std::make_unique<RedisStorage>(*ep, cfg.name);
  } else {
    storage_error_ = "storage: " + ep.error().message;
  }
}

Result<bool> ResolverState::load() {
  if (!storage_) return Error{storage_error_};
  auto r = storage_->load();
  if (!r && dynamic_cast<RedisStorage*>(storage_.get()) != nullptr) {
    // Redis may come later: start empty and let the subscriber's resync fill the store.
    log::error("acme: shared storage unreachable at start; starting empty",
               {{"resolver", cfg_.name}, {"storage", storage_->where()},
                {"error", r.error().message}});
    return true;
  }
  if (!r) return r.error();
  data_ = std::move(*r);
  log::info("acme: storage loaded", {{"resolver", cfg_.name},
                                     {"storage", storage_->where()},
                                     {"certificates", std::to_string(data_.certificates.size())}});
  return true;
}

Result<bool> ResolverState::reload() {
  if (!storage_) return Error{storage_error_};
  auto r = storage_->load();
  if (!r) return r.error();
  ResolverData merged = merge_shared(*r, data_);
  // A certificate replaced by another instance: forget the ARI state of the old one.
  for (const auto& c : merged.certificates) {
    const std::string key = set_key(c.domains);
    const StoredCertificate* old = find_cert(key);
    if (old == nullptr || old->cert_pem != c.cert_pem) {
      bool busy = rt_[key].busy;
      rt_[key] = Runtime{};
      rt_[key].busy = busy;
    }
  }
  const bool changed =
      merged.certificates != data_.certificates || merged.failures != data_.failures;
  data_ = std::move(merged);
  if (data_ != *r) save();
  return changed;
}

bool ResolverState::due(const Job& job, std::int64_t now) const {
  if (const FailureState* f = find_failure(job.key); f != nullptr && f->next_attempt_ms > now) {
    return false;
  }
  const StoredCertificate* cert = find_cert(job.key);
  if (cert == nullptr) return true;
  if (!job.renewal) return false;  // stored by another instance meanwhile
  return renewal_time(job.key, *cert) <= now;
}

void ResolverState::save() {
  if (!storage_) return;
  if (auto r = storage_->save(data_); !r) {
    log::error("acme: cannot write the storage file",
               {{"resolver", cfg_.name}, {"error", r.error().message}});
  }
}

void ResolverState::set_wanted(std::vector<std::vector<std::string>> wanted) {
  wanted_.clear();
  std::vector<std::string> seen;
  for (auto& w : wanted) {
    std::string key = set_key(w);
    if (key.empty() || std::find(seen.begin(), seen.end(), key) != seen.end()) continue;
    seen.push_back(key);
    wanted_.push_back(std::move(w));
  }
}

const StoredCertificate* ResolverState::find_cert(const std::string& key) const {
  for (const auto& c : data_.certificates) {
    if (set_key(c.domains) == key) return &c;
  }
  return nullptr;
}

const FailureState* ResolverState::find_failure(const std::string& key) const {
  for (const auto& f : data_.failures) {
    if (set_key(f.domains) == key) return &f;
  }
  return nullptr;
}

std::int64_t ResolverState::renewal_time(const std::string& key,
                                         const StoredCertificate& cert) const {
  if (auto it = rt_.find(key); it != rt_.end() && it->second.ari_due_ms) {
    return *it->second.ari_due_ms;
  }
  auto info = parse_leaf(cert.cert_pem);
  if (!info) return 0;  // unreadable: replace it now
  return renewal_due(info->not_before, info->not_after, cfg_.certificates_duration_hours) * 1000;
}

std::pair<std::optional<Job>, std::int64_t> ResolverState::next_job(std::int64_t now) {
  std::optional<Job> best;
  std::int64_t best_due = 0;
  std::int64_t next = now + kMaxSleepMs;
  for (const auto& w : wanted_) {
    std::string key = set_key(w);
    Runtime& rt = rt_[key];
    if (rt.busy) continue;
    const StoredCertificate* cert = find_cert(key);
    const FailureState* fail = find_failure(key);
    Job job{Job::Kind::Order, key, w, cert != nullptr, {}};
    std::int64_t due = now;
    if (fail != nullptr) {
      due = fail->next_attempt_ms;  // persisted backoff, whatever set_domains() says
    } else if (cert != nullptr) {
      if (rt.ari_next_check_ms <= now) {
        job.kind = Job::Kind::Ari;  // learn the ARI window before trusting the lifetime rule
        due = now;
      } else {
        due = std::min(renewal_time(key, *cert), rt.ari_next_check_ms);
        if (due == rt.ari_next_check_ms && due > now) job.kind = Job::Kind::Ari;
      }
    }
    if (cert != nullptr) {
      if (auto info = parse_leaf(cert->cert_pem)) job.ari_cert_id = ari_cert_id(*info);
    }
    if (due <= now) {
      if (!best || due < best_due) {
        best = std::move(job);
        best_due = due;
      }
    } else {
      next = std::min(next, due);
    }
  }
  return {std::move(best), next};
}

Account ResolverState::account_for_order() const {
  Account a;
  a.email = cfg_.email;
  if (data_.account) {
    a.email = data_.account->email;
    a.uri = data_.account->registration_uri;
    a.body = data_.account->registration_body;
    if (!data_.account->private_key_der.empty()) {
      auto k = parse_private_key_der(data_.account->private_key_der);
      if (k) {
        a.key = std::move(*k);
      } else {
        log::warn("acme: the stored account key is unreadable; registering a new account",
                  {{"resolver", cfg_.name}, {"error", k.error().message}});
      }
    }
  }
  return a;
}

OrderRequest ResolverState::request_for(const Job& job) const {
  OrderRequest r;
  r.domains = job.domains;
  r.key_type = cfg_.key_type.empty() ? "EC256" : cfg_.key_type;  // manager.h: EC256
  r.replaces = job.renewal ? job.ari_cert_id : std::string();
  r.preferred_chain = cfg_.preferred_chain;
  r.email = cfg_.email;
  r.eab_kid = cfg_.eab_kid;
  r.eab_hmac_encoded = cfg_.eab_hmac_encoded;
  return r;
}

void ResolverState::set_busy(const std::string& key, bool busy) { rt_[key].busy = busy; }

void ResolverState::store_account(const Account& account) {
  StoredAccount a = data_.account.value_or(StoredAccount{});
  a.email = account.email;
  a.registration_uri = account.uri;
  a.registration_body = account.body.is_object() ? account.body : nlohmann::json::object();
  if (account.key) {
    a.private_key_der = private_key_der(account.key.get());
    if (a.key_type.empty()) a.key_type = lego_key_type(cfg_.key_type);
  }
  data_.account = std::move(a);
  save();
}

bool ResolverState::store_certificate(const Job& job, const Issued& issued) {
  auto info = parse_leaf(issued.cert_pem);
  StoredCertificate sc{job.domains, issued.cert_pem, issued.key_pem, "default"};
  auto it = std::find_if(data_.certificates.begin(), data_.certificates.end(),
                         [&](const StoredCertificate& c) { return set_key(c.domains) == job.key; });
  if (it != data_.certificates.end()) {
    sc.store = it->store;
    *it = std::move(sc);
  } else {
    data_.certificates.push_back(std::move(sc));
  }
  std::erase_if(data_.failures,
                [&](const FailureState& f) { return set_key(f.domains) == job.key; });
  rt_[job.key] = Runtime{};
  save();
  log::info(job.renewal ? "acme: certificate renewed" : "acme: certificate obtained",
            {{"resolver", cfg_.name},
             {"domains", join_domains(job.domains)},
             {"not_after", info ? std::to_string(info->not_after) : "?"}});
  return true;
}

void ResolverState::record_failure(const Job& job, const std::string& error, std::int64_t now) {
  auto it = std::find_if(data_.failures.begin(), data_.failures.end(),
                         [&](const FailureState& f) { return set_key(f.domains) == job.key; });
  if (it == data_.failures.end()) {
    data_.failures.push_back(FailureState{job.domains, 0, 0, {}});
    it = data_.failures.end() - 1;
  }
  it->failures += 1;
  std::uniform_real_distribution<double> jitter(-1.0, 1.0);
  auto delay = retry_delay(it->failures, retry_base_, jitter(rng_));
  it->next_attempt_ms = now + delay.count();
  it->last_error = error;
  save();
  std::string step = it->failures <= kBackoffSteps
                         ? std::to_string(it->failures) + "/" + std::to_string(kBackoffSteps)
                         : std::to_string(it->failures) + ", daily";
  log::warn("acme: certificate order failed; retrying in " + format_delay(delay.count()) + " (" +
                step + ")",
            {{"resolver", cfg_.name}, {"domains", join_domains(job.domains)}, {"error", error}});
}

void ResolverState::set_ari(const std::string& key, bool supported,
                            std::optional<RenewalWindow> window, std::int64_t next_check_ms) {
  Runtime& rt = rt_[key];
  rt.ari_next_check_ms = next_check_ms;
  if (!supported) {
    rt.ari_due_ms.reset();
    return;
  }
  if (window) {
    // RFC 9773 §4.2: a uniformly random time inside the suggested window.
    std::uniform_real_distribution<double> u(0.0, 1.0);
    rt.ari_due_ms = pick_in_window(*window, u(rng_)) * 1000;
  }
}

std::vector<Certificate> ResolverState::certificates() const {
  std::vector<Certificate> out;
  for (const auto& c : data_.certificates) {
    Certificate cert{c.domains, c.cert_pem, c.key_pem, 0, 0};
    if (auto info = parse_leaf(c.cert_pem)) {
      cert.not_before = info->not_before;
      cert.not_after = info->not_after;
    }
    out.push_back(std::move(cert));
  }
  return out;
}

std::vector<DomainStatus> ResolverState::status(std::int64_t now) const {
  std::vector<DomainStatus> out;
  for (const auto& w : wanted_) {
    std::string key = set_key(w);
    DomainStatus s;
    s.domains = w;
    const StoredCertificate* cert = find_cert(key);
    const FailureState* fail = find_failure(key);
    auto it = rt_.find(key);
    bool busy = it != rt_.end() && it->second.busy;
    if (fail != nullptr) {
      s.failures = fail->failures;
      s.last_error = fail->last_error;
      s.next_attempt = (fail->next_attempt_ms + 999) / 1000;
    } else if (cert != nullptr) {
      s.next_attempt = std::max(renewal_time(key, *cert), now) / 1000;
    }
    if (busy) {
      s.state = cert != nullptr ? "renewing" : "pending";
    } else if (fail != nullptr) {
      s.state = "failed";
    } else {
      s.state = cert != nullptr ? "valid" : "pending";
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace portier::acme
