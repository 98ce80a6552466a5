// The manager's bookkeeping, without threads or network: which name sets are wanted, what is
// stored, what failed and when to retry, when each certificate is due for renewal. The manager
// holds its mutex around every call.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "acme/manager.h"
#include "acme/order.h"
#include "acme/schedule.h"
#include "acme/storage.h"

namespace portier::acme {

struct Job {
  enum class Kind { Order, Ari };
  Kind kind = Kind::Order;
  std::string key;                   // the name set's identity (normalized, joined)
  std::vector<std::string> domains;  // as wanted, main first
  bool renewal = false;
  std::string ari_cert_id;  // of the stored certificate, when it has one
};

std::int64_t now_ms();
std::string join_domains(const std::vector<std::string>& domains);

class ResolverState {
 public:
  ResolverState(const ResolverConfig& cfg, std::chrono::milliseconds retry_base);

  Result<bool> load();
  void save();
  // Shared storage: reads what is stored now and merges it with what this instance holds
  // (merge_shared), writing back what only this instance had. True when the certificates or
  // failures changed.
  Result<bool> reload();
  // Whether `job` still needs an order, after a reload: another instance may have stored the
  // certificate, renewed it, or recorded a failure meanwhile.
  bool due(const Job& job, std::int64_t now) const;
  StorageBackend* backend() const { return storage_.get(); }  // logs on failure: the in-memory state stays authoritative until the next save

  // Wanted sets, deduplicated by identity (the first spelling wins).
  void set_wanted(std::vector<std::vector<std::string>> wanted);
  // A due job, or none and the unix ms of the next due time (at most now + 12 h).
  std::pair<std::optional<Job>, std::int64_t> next_job(std::int64_t now);

  Account account_for_order() const;
  OrderRequest request_for(const Job& job) const;
  void set_busy(const std::string& key, bool busy);
  void store_account(const Account& account);
  // Replaces or adds the certificate, clears the failure state, saves. True when stored.
  bool store_certificate(const Job& job, const Issued& issued);
  void record_failure(const Job& job, const std::string& error, std::int64_t now);
  void set_ari(const std::string& key, bool supported, std::optional<RenewalWindow> window,
               std::int64_t next_check_ms);

  std::vector<Certificate> certificates() const;
  std::vector<DomainStatus> status(std::int64_t now) const;

  std::string last_setup_error;

 private:
  struct Runtime {
    bool busy = false;
    std::int64_t ari_next_check_ms = 0;  // 0: check before relying on lifetime rules
    std::optional<std::int64_t> ari_due_ms;
  };
  const StoredCertificate* find_cert(const std::string& key) const;
  const FailureState* find_failure(const std::string& key) const;
  // When the stored certificate of `key` is due for renewal (unix ms).
  std::int64_t renewal_time(const std::string& key, const StoredCertificate& cert) const;

  const ResolverConfig& cfg_;
  std::unique_ptr<StorageBackend> storage_;  // null when the storage URL is invalid
  std::string storage_error_;
  std::chrono::milliseconds retry_base_;
  ResolverData data_;
  std::vector<std::vector<std::string>> wanted_;
  std::map<std::string, Runtime> rt_;
  std::mt19937_64 rng_;
};

// The identity of a name set: normalized names joined with ','.
std::string set_key(const std::vector<std::string>& domains);

}  // namespace portier::acme
