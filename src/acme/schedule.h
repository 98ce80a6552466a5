// Pure scheduling rules of the manager: retry backoff, renewal time, ARI (RFC 9773) pieces.
// Time and randomness come in as arguments so tests can pin them.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "acme/crypto.h"

namespace portier::acme {

// Backoff steps before the daily retries: base, 10x base, 100x base, then 24 h.
constexpr int kBackoffSteps = 3;

// Delay before the next attempt after `failures` (>= 1) consecutive failures. `jitter` in [-1, 1]
// scales a +-10 % spread.
std::chrono::milliseconds retry_delay(int failures, std::chrono::milliseconds base, double jitter);

// The base of the backoff: PORTIER_ACME_RETRY_BASE_MS when set (tests), else one minute.
std::chrono::milliseconds retry_base_from_env();

// When a third of the certificate's real lifetime remains (unix seconds). A certificate whose
// dates give no lifetime (notAfter not after notBefore) says nothing of it: then
// `certificates_duration_hours` (certificatesDuration) decides, with Traefik's table
// (certificate_renew_period), counted back from notAfter.
std::int64_t renewal_due(std::int64_t not_before, std::int64_t not_after,
                         std::int64_t certificates_duration_hours = 2160);

// Traefik's getCertificateRenewDurations: how long before expiry a certificate of that duration
// (hours) is renewed, in seconds: >= 1 year: 4 months; >= 90 days: 30 days; >= 30 days: 10
// days; >= 6 days: 2 days; >= 1 day: 6 hours; less: 20 minutes.
std::int64_t certificate_renew_period(std::int64_t certificates_duration_hours);

// RFC 9773 §4.1: base64url(AKI keyIdentifier) "." base64url(serial bytes). "" without an AKI.
std::string ari_cert_id(const CertInfo& cert);

struct RenewalWindow {
  std::int64_t start = 0;  // unix seconds
  std::int64_t end = 0;
};
// The suggestedWindow of a renewalInfo response; nothing when absent or malformed.
std::optional<RenewalWindow> parse_renewal_info(std::string_view body);
// A time inside the window; `u` in [0, 1).
std::int64_t pick_in_window(const RenewalWindow& w, double u);

// RFC 3339 "2025-01-02T03:04:05Z" (fraction and offset allowed) to unix seconds.
std::optional<std::int64_t> parse_rfc3339(std::string_view s);

// A name set's identity: lower-case names, sorted, duplicates removed.
std::vector<std::string> normalize_domains(const std::vector<std::string>& domains);

}  // namespace portier::acme
