// Test hook: PORTIER_ACME_AUTHORITATIVE_DNS_PORT replaces port 53 for the queries to a zone's
// authoritative nameservers (a test's named cannot bind port 53).
#include "acme/dns_solver.h"

#include <openssl/sha.h>

#include <cstdlib>
#include <map>

#include "acme/dns_provider.h"
#include "common/base64.h"
#include "common/log.h"

namespace portier::acme {
namespace {

int authoritative_port() {
  const char* v = std::getenv("PORTIER_ACME_AUTHORITATIVE_DNS_PORT");
  int port = v != nullptr ? std::atoi(v) : 0;
  return port > 0 && port < 65536 ? port : 53;
}

class DnsSolver : public Solver {
 public:
  DnsSolver(const DnsChallengeConfig& cfg, Wait wait)
      : cfg_(cfg), wait_(std::move(wait)), lookup_(cfg.resolvers) {}
  Result<bool> init() {
    auto p = make_dns_provider(cfg_.provider, process_env(), lookup_);
    if (!p) return p.error();
    provider_ = std::move(*p);
    return true;
  }
  std::string_view type() const override { return "dns-01"; }

  Result<bool> present(const ChallengeAnswer& a) override {
    DnsRecord rec;
    rec.domain = a.domain;
    rec.token = a.token;
    rec.key_auth = a.key_auth;
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(a.key_auth.data()), a.key_auth.size(), digest);
    rec.value = base64url_encode(std::string_view(reinterpret_cast<char*>(digest), sizeof digest));
    rec.fqdn = dns::fqdn("_acme-challenge." + a.domain);
    const char* no_cname = std::getenv("LEGO_DISABLE_CNAME_SUPPORT");
    if (no_cname == nullptr ||
        (std::string_view(no_cname) != "true" && std::string_view(no_cname) != "1")) {
      rec.fqdn = lookup_.follow_cname(rec.fqdn);
    }
    if (auto r = provider_->present(rec); !r) return r;
    presented_[a.token] = rec;
    return wait_for_propagation(rec);
  }

  void cleanup(const ChallengeAnswer& a) override {
    auto it = presented_.find(a.token);
    if (it == presented_.end()) return;
    if (auto r = provider_->cleanup(it->second); !r) {
      log::warn(
          "acme: cannot remove the DNS-01 record",
          {{"provider", cfg_.provider}, {"fqdn", it->second.fqdn}, {"error", r.error().message}});
    }
    presented_.erase(it);
  }

 private:
  // lego's dns01 Solve with Traefik's propagation options.
  Result<bool> wait_for_propagation(const DnsRecord& rec) {
    if (cfg_.delay_before_checks.count() > 0 && !wait_(cfg_.delay_before_checks)) {
      return Error{"stopped"};
    }
    if (cfg_.disable_checks) return true;
    const bool rns = !cfg_.propagation || cfg_.require_all_rns;
    const bool ans = !cfg_.propagation || !cfg_.disable_ans_checks;
    const auto interval = provider_->polling_interval;
    const auto deadline = std::chrono::steady_clock::now() + provider_->propagation_timeout;
    std::string last;
    for (int attempt = 1;; ++attempt) {
      if (!wait_(interval)) return Error{"stopped"};
      Result<bool> ok = true;
      if (rns) ok = lookup_.check_recursive(rec.fqdn, rec.value);
      if (ok && ans) ok = lookup_.check_authoritative(rec.fqdn, rec.value, authoritative_port());
      if (ok) return true;
      last = ok.error().message;
      if (std::chrono::steady_clock::now() + interval > deadline) break;
      log::info("acme: waiting for DNS record propagation",
                {{"fqdn", rec.fqdn}, {"attempt", std::to_string(attempt)}, {"last", last}});
    }
    return Error{"propagation: time limit exceeded: last error: " + last};
  }

  DnsChallengeConfig cfg_;
  Wait wait_;
  dns::Lookup lookup_;  // before provider_, which keeps a pointer to it
  std::unique_ptr<DnsProvider> provider_;
  std::map<std::string, DnsRecord> presented_;  // token -> record, until cleanup
};

}  // namespace

Result<std::unique_ptr<Solver>> make_dns_solver(const DnsChallengeConfig& cfg, Wait wait) {
  auto s = std::make_unique<DnsSolver>(cfg, std::move(wait));
  if (auto r = s->init(); !r) return r.error();
  return std::unique_ptr<Solver>(std::move(s));
}

}  // namespace portier::acme
