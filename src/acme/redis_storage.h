// Shared ACME storage on Redis, for several portier instances behind one name (storage:
// redis://...). It keeps what acme.json keeps, one Redis key per item, in Traefik's JSON shapes:
//
//   <prefix>:acme:<resolver>:account        the account (acme.json's "Account" object)
//   <prefix>:acme:<resolver>:certificates   hash: name set -> a "Certificates" entry
//   <prefix>:acme:<resolver>:failures       hash: name set -> a "PortierFailures" entry
//   <prefix>:acme:<resolver>:tokens         hash: HTTP-01 token -> key authorization
//   <prefix>:acme:<resolver>:lock:<set>     the order lock of a name set (SET NX PX)
//   <prefix>:acme:<resolver>:events         pub/sub: "data", "token", "untoken" announcements
//
// and coordinates the instances:
// - save() writes only what differs from what this instance last read or wrote, then announces
//   it; the other instances reload (merging with what they hold) and rebuild their certificate
//   stores, without a restart.
// - An order takes the name set's lock first (SET NX PX with a random token, renewed while the
//   order runs, released by a compare-and-delete script); the others wait for it and then load
//   the result instead of ordering.
// - HTTP-01 tokens are written to Redis and published before the CA is told to validate; every
//   instance's subscriber thread mirrors them into its local ChallengeTokens and acknowledges,
//   and the ordering instance waits (up to 2 s) for as many acknowledgements as there were
//   subscribers. The request path only ever reads the local ChallengeTokens.
// - When Redis goes away, certificates keep being served from memory; the subscriber reconnects
//   with backoff and then resynchronizes (tokens, data, and whatever this instance could not
//   write meanwhile), so a Redis restarted empty is filled again.
//
// Threading: load/save/lock/token calls may come from any thread (one command connection under a
// mutex, 2 s timeouts); the subscriber runs on its own thread between start() and stop().
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "acme/redis.h"
#include "acme/storage.h"
#include "common/redis_url.h"
#include "tls/challenge_tokens.h"

namespace portier::acme {

class RedisStorage : public StorageBackend {
 public:
  RedisStorage(RedisEndpoint ep, std::string resolver);
  ~RedisStorage() override;

  Result<ResolverData> load() override;
  Result<bool> save(const ResolverData& data) override;
  std::string where() const override { return ep_.redacted(); }

  // The order lock of name set `set`: true when taken, false when another holder has it.
  Result<bool> try_lock(const std::string& set, const std::string& token,
                        std::chrono::milliseconds ttl);
  Result<bool> renew_lock(const std::string& set, const std::string& token,
                          std::chrono::milliseconds ttl);
  void unlock(const std::string& set, const std::string& token);

  // An order's HTTP-01 token: stored, published, acknowledged by the subscribed instances.
  void publish_token(const std::string& token, const std::string& key_authorization);
  void withdraw_token(const std::string& token);

  // Starts the subscriber: peers' tokens go into `local`; `on_remote` runs on the subscriber
  // thread when another instance changed the data, and after every (re)connection.
  void start(tls::ChallengeTokens& local, std::function<void()> on_remote);
  void stop();

 private:
  std::string key(const std::string& what) const { return base_ + what; }
  Result<RedisReply> cmd(const std::vector<std::string>& args);
  void run();
  void handle(const RedisReply& msg);
  void resync_tokens();
  bool sleep_for(std::chrono::milliseconds d);

  RedisEndpoint ep_;
  std::string resolver_;
  std::string base_;      // "<prefix>:acme:<resolver>:"
  std::string instance_;  // random, tells this instance's own announcements apart
  std::mutex cmd_mu_;
  RedisConnection conn_;  // under cmd_mu_
  std::mutex data_mu_;
  ResolverData last_;  // what Redis held as of this instance's last load or save

  tls::ChallengeTokens* local_ = nullptr;
  std::function<void()> on_remote_;
  std::set<std::string> mirrored_;  // subscriber thread: tokens put into local_ for peers
  std::mutex run_mu_;
  std::condition_variable run_cv_;
  bool stopping_ = false;
  std::thread thread_;
};

// What an order puts into its ChallengeTokens: the local store, and Redis for the peers.
class SharedTokens : public tls::ChallengeTokens {
 public:
  SharedTokens(tls::ChallengeTokens& local, RedisStorage& shared)
      : local_(local), shared_(shared) {}
  void put(std::string token, std::string key_authorization) override;
  void erase(std::string_view token) override;

 private:
  tls::ChallengeTokens& local_;
  RedisStorage& shared_;
};

// After a reload: Redis's data with what only this instance holds (a certificate it got while
// Redis was unreachable, or all of it when Redis came back empty). Per name set, the certificate
// that expires last wins; failures are Redis's, plus local ones for name sets Redis knows nothing
// about.
ResolverData merge_shared(const ResolverData& remote, const ResolverData& local);

}  // namespace portier::acme
