// HTTP-01 challenge tokens: written by the ACME managers (control plane), read by the workers when
// a request asks for /.well-known/acme-challenge/<token> on a plain-HTTP entrypoint.
//
// Threading: every method is thread-safe. Readers take a shared lock; only challenge requests
// read, so the lock is never on the path of ordinary requests.
#pragma once

#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>

namespace portier::tls {

class ChallengeTokens {
 public:
  ChallengeTokens() = default;
  ChallengeTokens(const ChallengeTokens&) = delete;
  ChallengeTokens& operator=(const ChallengeTokens&) = delete;
  virtual ~ChallengeTokens() = default;
  // The key authorization for `token` (RFC 8555 §8.1), or nothing for an unknown token.
  std::optional<std::string> find(std::string_view token) const {
    std::shared_lock lock(mu_);
    auto it = tokens_.find(token);
    if (it == tokens_.end()) return std::nullopt;
    return it->second;
  }
  // Virtual so that an order can publish its tokens to other instances (acme/redis_storage.h).
  virtual void put(std::string token, std::string key_authorization) {
    std::unique_lock lock(mu_);
    tokens_[std::move(token)] = std::move(key_authorization);
  }
  virtual void erase(std::string_view token) {
    std::unique_lock lock(mu_);
    if (auto it = tokens_.find(token); it != tokens_.end()) tokens_.erase(it);
  }

 private:
  mutable std::shared_mutex mu_;
  std::map<std::string, std::string, std::less<>> tokens_;
};

}  // namespace portier::tls
