#include "proxy/middlewares/credential_cache.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <stdexcept>
#include <string>

#include "proxy/middlewares/htpasswd.h"

namespace portier::proxy::mw {
namespace {

// Each field length-prefixed rather than NUL-separated: a Basic user or password decoded from
// base64 may itself contain NUL bytes, and ("a\0b", "c") must not collide with ("a", "b\0c").
void append_field(std::string& out, std::string_view f) {
  uint64_t n = f.size();
  out.append(reinterpret_cast<const char*>(&n), sizeof n);
  out.append(f);
}

}  // namespace

size_t CredentialCache::DigestHash::operator()(const Digest& d) const {
  size_t h = 0;
  std::memcpy(&h, d.data(), sizeof h);  // already uniform: an HMAC output
  return h;
}

CredentialCache::CredentialCache(size_t capacity, Clock::duration ttl,
                                 std::span<const unsigned char> key)
    : capacity_(capacity == 0 ? 1 : capacity), ttl_(ttl) {
  if (key.empty()) {
    if (RAND_bytes(key_.data(), static_cast<int>(key_.size())) != 1) {
      throw std::runtime_error("RAND_bytes failed");
    }
  } else {
    // A longer key is hashed by HMAC anyway; keep at most 32 bytes of it.
    std::memcpy(key_.data(), key.data(), std::min(key.size(), key_.size()));
  }
}

CredentialCache::Digest CredentialCache::digest(std::string_view user, std::string_view password,
                                                std::string_view hash) const {
  std::string msg;
  msg.reserve(24 + user.size() + password.size() + hash.size());
  append_field(msg, user);
  append_field(msg, password);
  append_field(msg, hash);
  Digest d{};
  unsigned int n = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), d.data(), &n);
  OPENSSL_cleanse(msg.data(), msg.size());
  return d;
}

bool CredentialCache::contains(std::string_view user, std::string_view password,
                               std::string_view hash, Clock::time_point now) {
  auto it = map_.find(digest(user, password, hash));
  if (it == map_.end()) return false;
  if (now >= it->second->expires) {
    order_.erase(it->second);
    map_.erase(it);
    return false;
  }
  return true;
}

void CredentialCache::insert(std::string_view user, std::string_view password,
                             std::string_view hash, Clock::time_point now) {
  Digest d = digest(user, password, hash);
  if (auto it = map_.find(d); it != map_.end()) {
    order_.erase(it->second);
    map_.erase(it);
  }
  // Expired entries sit at the front (same ttl for all): drop them first, then the oldest.
  while (!order_.empty() && (order_.front().expires <= now || map_.size() >= capacity_)) {
    map_.erase(order_.front().digest);
    order_.pop_front();
  }
  order_.push_back(Entry{d, now + ttl_});
  map_.emplace(d, std::prev(order_.end()));
}

bool CredentialCache::verify(std::string_view user, std::string_view password,
                             std::string_view hash, Clock::time_point now) {
  if (contains(user, password, hash, now)) return true;
  if (!verify_password(hash, password)) return false;
  insert(user, password, hash, now);
  return true;
}

}  // namespace portier::proxy::mw
