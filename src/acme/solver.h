// How an authorization's challenge is answered: one Solver per challenge type a resolver is
// configured for (httpChallenge, tlsChallenge, dnsChallenge). The order flow picks, for each
// authorization, the first configured solver whose type the CA offers, in lego's order
// (tls-alpn-01, http-01, dns-01), so a resolver with both httpChallenge and dnsChallenge answers
// wildcard names (dns-01 only) by DNS and the others over HTTP, as Traefik does.
//
// Threading: called on the manager's thread only; present() may block (DNS propagation) and
// returns early with an error when the manager is stopping.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "tls/alpn_challenges.h"
#include "tls/challenge_tokens.h"

namespace portier::acme {

struct ChallengeAnswer {
  std::string domain;  // the identifier, without "*." for a wildcard authorization
  bool wildcard = false;
  std::string token;
  std::string key_auth;  // token "." thumbprint (RFC 8555 §8.1)
};

// Sleeps up to the duration; false when the manager is stopping.
using Wait = std::function<bool(std::chrono::milliseconds)>;

class Solver {
 public:
  virtual ~Solver() = default;
  virtual std::string_view type() const = 0;  // "http-01", "tls-alpn-01", "dns-01"
  // Publishes the answer; returns once the CA may validate it.
  virtual Result<bool> present(const ChallengeAnswer& a) = 0;
  // Withdraws it (logs its own failures: the order's outcome does not depend on it).
  virtual void cleanup(const ChallengeAnswer& a) = 0;
};

// HTTP-01: the key authorization served at /.well-known/acme-challenge/<token>. `delay`:
// httpChallenge.delay, waited after publishing.
std::unique_ptr<Solver> make_http_solver(tls::ChallengeTokens& tokens,
                                         std::chrono::milliseconds delay, Wait wait);
// TLS-ALPN-01: a self-signed certificate for the name carrying the acmeIdentifier extension
// (RFC 8737 §3), served in handshakes that offer acme-tls/1. `delay`: tlsChallenge.delay.
std::unique_ptr<Solver> make_tls_alpn_solver(tls::AlpnChallenges& certs,
                                             std::chrono::milliseconds delay, Wait wait);

// The TLS-ALPN-01 challenge certificate for `domain` and `key_auth` (EC P-256, valid a week).
Result<std::shared_ptr<const tls::AlpnCertificate>> make_alpn_certificate(
    const std::string& domain, std::string_view key_auth);

}  // namespace portier::acme
