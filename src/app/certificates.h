// The TLS side of the wiring: the process's server TLS context, the HTTP-01 token store, one
// ACME manager per certificate resolver, and the certificate store attached to every routing
// table before it is published.
//
// Threading: control thread only, except that ACME managers call `on_acme_change` on their own
// threads (the caller posts it to the control thread).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "acme/manager.h"
#include "admin/runtime.h"
#include "app/on_demand.h"
#include "common/result.h"
#include "config/static_config.h"
#include "entrypoints/worker.h"
#include "observability/metrics.h"
#include "proxy/routing_table.h"
#include "tls/alpn_challenges.h"
#include "tls/challenge_tokens.h"
#include "tls/context.h"

namespace portier::app {

// A problem to show on an object in the API without disabling it (Traefik's "warning").
struct Warning {
  std::string kind;
  std::string name;
  std::string message;
};

// The name sets each resolver is asked for, from the routers' certificate requests
// (`resolvers`: name -> has dnsChallenge). A request for a resolver not in `resolvers`, and
// wildcard names for a resolver without DNS-01, become warnings; a name covered by another set's
// wildcard main is left out (Traefik's deleteUnnecessaryDomains).
std::map<std::string, std::vector<std::vector<std::string>>> wanted_names(
    const std::vector<proxy::CertificateRequest>& requests,
    const std::map<std::string, bool>& resolvers, std::vector<Warning>& warnings);

// Resolvers with onDemand (TableBuilder::set_on_demand_resolvers).
std::vector<std::string> on_demand_resolvers(const config::StaticConfig& cfg);

// The certificates `table` serves by name, for traefik_tls_certs_not_after.
std::vector<observability::CertInfo> certificate_infos(const proxy::RoutingTable& table);

class Certificates {
 public:
  Certificates(const config::StaticConfig& cfg, std::function<void()> on_acme_change);
  ~Certificates();

  // Loads every resolver's storage (stored certificates are served before anything is asked
  // of a CA) and starts the managers. Fails on storage that must not be used.
  Result<bool> start();
  void stop();
  entrypoints::TlsServices services();
  // ACME orders that ended and those that failed, over every resolver (any thread).
  std::uint64_t acme_orders() const;
  std::uint64_t acme_order_failures() const;

  // After a build: hands the routers' certificate requests to their resolvers and attaches a
  // certificate store (file certificates, ACME certificates, default) to the table. Problems go
  // to `errors` (objects disabled) or `warnings`.
  void attach(proxy::BuildResult& built, const config::Configuration& cfg,
              std::vector<Warning>& warnings);
  // What the store attach() last made serves, and each ACME name set's state, for the API
  // (/api/portier/certificates). Public parts only.
  const std::vector<admin::CertificateInfo>& info() const { return info_; }

 private:
  const config::StaticConfig& cfg_;
  std::function<void()> on_acme_change_;
  tls::AlpnChallenges alpn_;  // before context_, which answers acme-tls/1 from it
  tls::ServerContext context_{&alpn_};
  tls::ChallengeTokens tokens_;
  std::shared_ptr<const tls::Certificate> generated_default_;
  std::map<std::string, std::unique_ptr<acme::Manager>> managers_;
  std::unique_ptr<OnDemandCertificates> on_demand_;  // the resolver with onDemand, if any
  // Parsed ACME certificates, by PEM: a rebuild does not parse them again.
  std::map<std::string, std::shared_ptr<const tls::Certificate>> parsed_;
  std::vector<admin::CertificateInfo> info_;
};

}  // namespace portier::app
