// A small cache of credentials that verify_password() accepted, so that a client sending the
// same Basic credentials on every request pays for bcrypt (~tens of ms at cost 10) once per TTL.
//
// What is stored: only HMAC-SHA256(process key, user, password, hash) of a successful check and
// its expiry; never the password, never a reversible form of it. The key is random per cache
// (or given, for tests), so a memory dump does not allow an offline guess without the key too.
// Failures are not cached: a wrong password is verified in full every time (a cache of failures
// would let one client's garbage evict other clients' entries for free). Binding the hash into
// the key means that changing a user's hash in the configuration invalidates its entries.
//
// Bounded: at most `capacity` entries; inserting into a full cache drops the oldest insertion.
// Entries expire `ttl` after they were inserted (a hit does not extend it). Time is passed in.
//
// Threading: none. One cache per worker (shared-nothing, STYLE rule 3); not thread-safe.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <list>
#include <span>
#include <string_view>
#include <unordered_map>

namespace portier::proxy::mw {

class CredentialCache {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kDefaultCapacity = 1024;
  static constexpr std::chrono::minutes kDefaultTtl{5};

  // `key`: the HMAC key; empty (the default) draws 32 random bytes (RAND_bytes; throws
  // std::runtime_error if the RNG fails, a startup error).
  explicit CredentialCache(size_t capacity = kDefaultCapacity, Clock::duration ttl = kDefaultTtl,
                           std::span<const unsigned char> key = {});

  // True when this (user, password, hash) was recorded by insert() less than ttl ago.
  bool contains(std::string_view user, std::string_view password, std::string_view hash,
                Clock::time_point now);
  // Records a successful verification.
  void insert(std::string_view user, std::string_view password, std::string_view hash,
              Clock::time_point now);
  // contains(), else verify_password() and insert() when it matches. Blocks for the duration
  // of verify_password() on a miss.
  bool verify(std::string_view user, std::string_view password, std::string_view hash,
              Clock::time_point now);

  size_t size() const { return map_.size(); }

 private:
  using Digest = std::array<unsigned char, 32>;
  struct DigestHash {
    size_t operator()(const Digest& d) const;
  };
  struct Entry {
    Digest digest;
    Clock::time_point expires;
  };
  Digest digest(std::string_view user, std::string_view password, std::string_view hash) const;

  size_t capacity_;
  Clock::duration ttl_;
  std::array<unsigned char, 32> key_{};
  std::list<Entry> order_;  // oldest insertion first
  std::unordered_map<Digest, std::list<Entry>::iterator, DigestHash> map_;
};

}  // namespace portier::proxy::mw
