// DNS providers for DNS-01, configured as lego configures them: from environment variables with
// lego's names (a variable NAME may also be given as NAME_FILE, a file holding the value).
//
//   rfc2136    RFC2136_NAMESERVER, RFC2136_TSIG_KEY, RFC2136_TSIG_SECRET,
//              RFC2136_TSIG_ALGORITHM, RFC2136_TSIG_FILE, RFC2136_TTL, RFC2136_DNS_TIMEOUT
//              (DNSUPDATE_* as well, lego v5's names)
//   exec       EXEC_PATH, EXEC_MODE
//   httpreq    HTTPREQ_ENDPOINT, HTTPREQ_MODE, HTTPREQ_USERNAME, HTTPREQ_PASSWORD,
//              HTTPREQ_HTTP_TIMEOUT
//   cloudflare CF_DNS_API_TOKEN, CF_ZONE_API_TOKEN, CF_API_EMAIL + CF_API_KEY (or the
//              CLOUDFLARE_* aliases), CLOUDFLARE_TTL, CLOUDFLARE_HTTP_TIMEOUT, CLOUDFLARE_BASE_URL
//
// and for each, <PREFIX>_PROPAGATION_TIMEOUT and <PREFIX>_POLLING_INTERVAL (seconds).
//
// Threading: the manager's thread; calls block on the network or the program they run.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "acme/dns_lookup.h"
#include "common/result.h"

namespace portier::acme {

struct DnsRecord {
  std::string domain;    // the identifier ("example.com" for *.example.com)
  std::string token;     // for the RAW modes
  std::string key_auth;  // for the RAW modes
  std::string fqdn;      // "_acme-challenge.example.com." or its CNAME target
  std::string value;     // base64url(SHA-256(key_auth))
};

// Environment lookup: the value of NAME, or of the file NAME_FILE names; nothing when unset.
using Env = std::function<std::optional<std::string>(std::string_view name)>;
Env process_env();

class DnsProvider {
 public:
  virtual ~DnsProvider() = default;
  virtual Result<bool> present(const DnsRecord& r) = 0;
  virtual Result<bool> cleanup(const DnsRecord& r) = 0;
  std::chrono::milliseconds propagation_timeout{std::chrono::seconds(60)};
  std::chrono::milliseconds polling_interval{std::chrono::seconds(2)};
};

// `lookup` is what providers use to find zones (it outlives the provider).
Result<std::unique_ptr<DnsProvider>> make_dns_provider(std::string_view name, const Env& env,
                                                       const dns::Lookup& lookup);

// Shared by the providers (dns_provider.cc).
// A duration in seconds (lego's env.ParseSecond) or a Go duration ("90s", "2m").
std::optional<std::chrono::milliseconds> parse_seconds(std::string_view text);
// An optional variable `name` holding a duration (as parse_seconds) of at least `min`, into
// `out`; unchanged when `value` is empty.
Result<bool> read_seconds(const std::optional<std::string>& value, std::string_view name,
                          std::chrono::milliseconds min, std::chrono::milliseconds& out);
// Reads <prefix>PROPAGATION_TIMEOUT and <prefix>POLLING_INTERVAL into `p`.
Result<bool> read_timing(const Env& env, std::string_view prefix, DnsProvider& p);

// Makers, one per file.
Result<std::unique_ptr<DnsProvider>> make_rfc2136(const Env& env, const dns::Lookup& lookup);
Result<std::unique_ptr<DnsProvider>> make_exec(const Env& env);
Result<std::unique_ptr<DnsProvider>> make_httpreq(const Env& env);
Result<std::unique_ptr<DnsProvider>> make_cloudflare(const Env& env, const dns::Lookup& lookup);

}  // namespace portier::acme
