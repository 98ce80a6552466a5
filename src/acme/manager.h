// ACME (RFC 8555) certificate management for one certificate resolver
// (`certificatesResolvers.<name>.acme` in the static configuration).
//
// A Manager owns one background thread. It loads the resolver's part of the storage file
// (Traefik's acme.json format) synchronously in load(), so stored certificates are served before
// anything is asked of the CA; then the thread orders missing certificates, renews those near
// expiry (ARI when the directory offers renewalInfo, else when a third of the lifetime remains),
// and retries failures per name set with backoff (about 1 min, 10 min, 100 min, then daily, with
// jitter; the failure state is kept in the storage file so it survives a restart).
//
// Threading: every public method is thread-safe. on_change is called on the manager's thread
// after a certificate was stored (new or renewed) or an order failed (status() changed); it must
// not block for long.
// Failure: nothing here throws after construction; errors are logged, kept in status(), and
// retried on schedule.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "tls/alpn_challenges.h"
#include "tls/challenge_tokens.h"

namespace portier::acme {

// dnsChallenge (Traefik v3 names; the deprecated delayBeforeCheck and disablePropagationCheck
// are folded into these by the config decoder).
struct DnsChallengeConfig {
  std::string provider;                // empty: no dnsChallenge
  std::vector<std::string> resolvers;  // "host[:port]" recursive servers (else resolv.conf)
  std::chrono::milliseconds delay_before_checks{0};
  bool propagation = false;  // a propagation section was given (lego's defaults otherwise)
  bool disable_checks = false;
  bool disable_ans_checks = false;
  bool require_all_rns = false;
  bool operator==(const DnsChallengeConfig&) const = default;
};

struct ResolverConfig {
  std::string name;  // the resolver's name, the key in acme.json
  std::string email;
  std::string storage = "acme.json";
  std::string ca_server = "https://acme-v02.api.letsencrypt.org/directory";
  std::string key_type = "EC256";  // certificate keys: EC256, EC384, RSA2048, RSA4096, RSA8192
  std::string http_entrypoint;     // httpChallenge.entryPoint (where tokens must be answered)
  std::chrono::milliseconds http_delay{0};  // httpChallenge.delay
  bool tls_challenge = false;               // tlsChallenge
  std::chrono::milliseconds tls_delay{0};   // tlsChallenge.delay
  DnsChallengeConfig dns;
  // Used only for a certificate whose dates give no lifetime (schedule.h renewal_due).
  std::int64_t certificates_duration_hours = 2160;
  std::string preferred_chain;                      // issuer CN of the chain's top certificate
  std::string eab_kid;
  std::string eab_hmac_encoded;              // base64url
  std::vector<std::string> ca_certificates;  // PEM files to trust for caServer (else system)
  // onDemand is set: every stored certificate stays wanted (renewed), whether or not a router
  // lists its names, since on-demand names are listed by none.
  bool on_demand = false;
  bool operator==(const ResolverConfig&) const = default;
};

struct Certificate {
  std::vector<std::string> domains;  // main first, then SANs
  std::string cert_pem;              // leaf first, then the chain
  std::string key_pem;
  std::int64_t not_before = 0;  // unix seconds
  std::int64_t not_after = 0;
};

struct DomainStatus {
  std::vector<std::string> domains;
  std::string state;       // "valid", "pending", "renewing", "failed"
  std::string last_error;  // empty unless the last attempt failed
  int failures = 0;
  std::int64_t next_attempt = 0;  // unix seconds, 0 when nothing is scheduled
};

class Manager {
 public:
  // `alpn`: where TLS-ALPN-01 certificates go (needed when cfg.tls_challenge).
  Manager(ResolverConfig cfg, tls::ChallengeTokens& tokens, std::function<void()> on_change,
          tls::AlpnChallenges* alpn = nullptr);
  ~Manager();  // stops the thread
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  // Reads the storage file (synchronous). An error is returned only for what must stop start-up:
  // a group- or world-readable file (as Traefik). A corrupt file is renamed aside (logged) and
  // the manager starts empty.
  Result<bool> load();
  void start();
  void stop();

  // The name sets routers using this resolver want (from Host rules or tls.domains). Each set
  // is one certificate; a set equal to one already held is not ordered again.
  void set_domains(std::vector<std::vector<std::string>> wanted);
  // An on-demand name set (app/on_demand.h): wanted from now on, beside set_domains()'s.
  void add_on_demand(std::vector<std::string> domains);
  std::vector<Certificate> certificates() const;
  std::vector<DomainStatus> status() const;
  // Scheduling passes that found nothing to order or renew. Tests wait for it to grow after
  // set_domains() to know the manager looked and decided not to order.
  std::uint64_t idle_passes() const;
  // Orders (new and renewals) that ended, and those that failed, since start (any thread).
  std::uint64_t orders() const;
  std::uint64_t order_failures() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace portier::acme
