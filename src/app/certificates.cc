#include "app/certificates.h"

#include <algorithm>
#include <set>

#include "acme/dns_solver.h"
#include "common/log.h"
#include "tls/store.h"

namespace portier::app {
namespace {

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

std::vector<std::string> normalized(std::vector<std::string> names) {
  for (auto& n : names) {
    for (char& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  // The first name stays first (it is the certificate's main domain); the rest are sorted.
  if (names.size() > 2) std::sort(names.begin() + 1, names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

admin::CertificateInfo describe(const tls::Certificate& c, std::string source) {
  admin::CertificateInfo info;
  info.source = std::move(source);
  info.names = c.names();
  info.subject = c.subject();
  info.issuer = c.issuer();
  info.serial = c.serial_hex();
  info.not_before = c.not_before();
  info.not_after = c.not_after();
  return info;
}

}  // namespace

Certificates::Certificates(const config::StaticConfig& cfg, std::function<void()> on_acme_change)
    : cfg_(cfg),
      on_acme_change_(std::move(on_acme_change)),
      generated_default_(tls::Certificate::self_signed("PORTIER DEFAULT CERT")) {}

Certificates::~Certificates() { stop(); }

std::uint64_t Certificates::acme_orders() const {
  std::uint64_t n = 0;
  for (const auto& [name, m] : managers_) n += m->orders();
  return n;
}

std::uint64_t Certificates::acme_order_failures() const {
  std::uint64_t n = 0;
  for (const auto& [name, m] : managers_) n += m->order_failures();
  return n;
}

std::vector<observability::CertInfo> certificate_infos(const proxy::RoutingTable& table) {
  std::vector<observability::CertInfo> out;
  if (table.tls_store() == nullptr) return out;
  for (const auto& c : table.tls_store()->certificates()) {
    observability::CertInfo info;
    char cn[256] = {};
    if (X509_NAME* subject = X509_get_subject_name(c->leaf())) {
      X509_NAME_get_text_by_NID(subject, NID_commonName, cn, sizeof cn - 1);
    }
    info.cn = cn;
    info.serial = c->serial_hex();
    for (const auto& n : c->names()) info.sans += (info.sans.empty() ? "" : ",") + n;
    info.not_after = c->not_after();
    out.push_back(std::move(info));
  }
  return out;
}

std::vector<std::string> on_demand_resolvers(const config::StaticConfig& cfg) {
  std::vector<std::string> out;
  for (const auto& [name, r] : cfg.certificates_resolvers) {
    if (r.on_demand) out.push_back(name);
  }
  return out;
}

Result<bool> Certificates::start() {
  if (auto od = on_demand_resolvers(cfg_); od.size() > 1) {
    return Error{"certificatesResolvers: onDemand is set on " + join(od) +
                 "; only one resolver may have it (a handshake must know which one orders)"};
  }
  for (const auto& [name, r] : cfg_.certificates_resolvers) {
    acme::ResolverConfig rc;
    rc.name = name;
    rc.email = r.email;
    rc.storage = r.storage;
    rc.ca_server = r.ca_server;
    rc.key_type = r.key_type;
    rc.http_entrypoint = r.http_challenge_entrypoint;
    rc.http_delay = r.http_challenge_delay;
    rc.tls_challenge = r.tls_challenge;
    rc.tls_delay = r.tls_challenge_delay;
    const auto& dc = r.dns_challenge;
    rc.dns = {dc.provider,       dc.resolvers,          dc.delay_before_checks, dc.propagation,
              dc.disable_checks, dc.disable_ans_checks, dc.require_all_rns};
    if (!rc.dns.provider.empty()) {
      // The provider's environment is read now, so a missing variable stops start-up.
      if (auto s = acme::make_dns_solver(rc.dns, [](auto) { return true; }); !s) {
        return Error{"certificatesResolvers." + name + ".acme.dnsChallenge: " + s.error().message};
      }
    }
    rc.certificates_duration_hours = r.certificates_duration;
    rc.preferred_chain = r.preferred_chain;
    rc.eab_kid = r.eab_kid;
    rc.eab_hmac_encoded = r.eab_hmac_encoded;
    rc.ca_certificates = r.ca_certificates;
    rc.on_demand = r.on_demand.has_value();
    auto m = std::make_unique<acme::Manager>(rc, tokens_, on_acme_change_, &alpn_);
    if (auto loaded = m->load(); !loaded) {
      return Error{"certificatesResolvers." + name + ": " + loaded.error().message};
    }
    if (r.on_demand) on_demand_ = std::make_unique<OnDemandCertificates>(name, *r.on_demand, *m);
    managers_[name] = std::move(m);
  }
  for (auto& [name, m] : managers_) m->start();
  if (on_demand_) on_demand_->start();
  return true;
}

void Certificates::stop() {
  if (on_demand_) on_demand_->stop();
  for (auto& [name, m] : managers_) m->stop();
}

entrypoints::TlsServices Certificates::services() {
  return {&context_, managers_.empty() ? nullptr : &tokens_, on_demand_.get()};
}

std::map<std::string, std::vector<std::vector<std::string>>> wanted_names(
    const std::vector<proxy::CertificateRequest>& requests,
    const std::map<std::string, bool>& resolvers, std::vector<Warning>& warnings) {
  std::map<std::string, std::vector<std::vector<std::string>>> wanted;
  for (const auto& req : requests) {
    auto r = resolvers.find(req.resolver);
    if (r == resolvers.end()) {
      warnings.push_back({"router", req.router,
                          "certificate resolver `" + req.resolver +
                              "` does not exist; the default certificate is served"});
      continue;
    }
    auto& sets = wanted[req.resolver];
    for (const auto& d : req.domains) {
      auto n = normalized(d);
      auto bad = std::find_if(n.begin(), n.end(), [](const std::string& h) {
        return h.starts_with("*.*") || (h.find('*') != std::string::npos && !h.starts_with("*."));
      });
      if (bad != n.end()) {
        warnings.push_back({"router", req.router,
                            "`" + *bad +
                                "`: a CA issues one-label wildcards (`*.example.com`) "
                                "only; the default or a file certificate is served"});
        continue;
      }
      if (!r->second && std::any_of(n.begin(), n.end(),
                                    [](const std::string& h) { return h.starts_with("*."); })) {
        // No CA issues a wildcard over HTTP-01 or TLS-ALPN-01 (RFC 8555 §7.1.3).
        warnings.push_back({"router", req.router,
                            "wildcard names (" + join(n) +
                                ") need the DNS-01 challenge and "
                                "resolver `" +
                                req.resolver +
                                "` has no dnsChallenge; the default or a file certificate is "
                                "served"});
        continue;
      }
      if (std::find(sets.begin(), sets.end(), n) == sets.end()) sets.push_back(std::move(n));
    }
  }
  // As Traefik (deleteUnnecessaryDomains): a name another set's wildcard main covers is not
  // ordered again; a set left empty is dropped.
  for (auto& [resolver, sets] : wanted) {
    std::set<std::string> wild;
    for (const auto& s : sets) {
      if (s.front().starts_with("*.")) wild.insert(s.front().substr(1));
    }
    if (wild.empty()) continue;
    for (auto& s : sets) {
      std::erase_if(s, [&](const std::string& h) {
        auto dot = h.find('.');
        return !h.starts_with("*.") && dot != std::string::npos && wild.count(h.substr(dot));
      });
    }
    std::erase_if(sets, [](const auto& s) { return s.empty(); });
  }
  return wanted;
}

void Certificates::attach(proxy::BuildResult& built, const config::Configuration& cfg,
                          std::vector<Warning>& warnings) {
  // Name sets per resolver, from the routers that use it.
  std::map<std::string, bool> resolvers;  // name -> has dnsChallenge
  for (const auto& [name, m] : managers_) {
    auto it = cfg_.certificates_resolvers.find(name);
    resolvers[name] =
        it != cfg_.certificates_resolvers.end() && !it->second.dns_challenge.provider.empty();
  }
  auto wanted = wanted_names(built.certificates, resolvers, warnings);
  if (on_demand_) {
    const auto od = on_demand_resolvers(cfg_);
    on_demand_->set_enabled(std::any_of(
        built.certificates.begin(), built.certificates.end(),
        [&](const proxy::CertificateRequest& r) { return r.resolver == od.front(); }));
  }
  tls::StoreBuilder sb;
  sb.tls = &cfg.tls;
  sb.options_by_host = built.tls_options_by_host;
  sb.generated_default = generated_default_;
  std::map<std::string, std::shared_ptr<const tls::Certificate>> still_used;
  std::vector<admin::CertificateInfo> acme_info;
  std::set<const tls::Certificate*> from_acme;
  for (auto& [name, m] : managers_) {
    m->set_domains(wanted[name]);
    const auto status = m->status();
    std::vector<bool> status_shown(status.size(), false);
    for (const auto& c : m->certificates()) {
      auto it = parsed_.find(c.cert_pem);
      std::shared_ptr<const tls::Certificate> cert;
      if (it != parsed_.end()) {
        cert = it->second;
      } else if (auto p = tls::Certificate::from_pem(c.cert_pem, c.key_pem)) {
        cert = *p;
      } else {
        log::error(
            "stored ACME certificate unusable",
            {{"resolver", name}, {"domains", join(c.domains)}, {"error", p.error().message}});
        continue;
      }
      still_used.emplace(c.cert_pem, cert);
      sb.acme.push_back(cert);
      from_acme.insert(cert.get());
      auto info = describe(*cert, "acme");
      info.resolver = name;
      info.domains = c.domains;
      info.state = "unused";  // stored, served, but no router asks for these names any more
      for (std::size_t i = 0; i < status.size(); ++i) {
        if (normalized(status[i].domains) != normalized(c.domains)) continue;
        info.state = status[i].state;
        info.last_error = status[i].last_error;
        info.failures = status[i].failures;
        info.next_attempt = status[i].next_attempt;
        status_shown[i] = true;
      }
      acme_info.push_back(std::move(info));
    }
    // Name sets asked for with no certificate yet (pending or failed).
    for (std::size_t i = 0; i < status.size(); ++i) {
      if (status_shown[i]) continue;
      admin::CertificateInfo info;
      info.source = "acme";
      info.resolver = name;
      info.domains = status[i].domains;
      info.state = status[i].state;
      info.last_error = status[i].last_error;
      info.failures = status[i].failures;
      info.next_attempt = status[i].next_attempt;
      acme_info.push_back(std::move(info));
    }
    // Failures show on the routers that asked for those names.
    for (const auto& st : status) {
      if (st.last_error.empty()) continue;
      for (const auto& req : built.certificates) {
        if (req.resolver != name) continue;
        for (const auto& d : req.domains) {
          if (normalized(d) == st.domains) {
            warnings.push_back({"router", req.router,
                                "certificate for " + join(st.domains) + ": " + st.last_error});
          }
        }
      }
    }
  }
  parsed_ = std::move(still_used);
  std::vector<tls::StoreError> store_errors;
  auto store = sb.build(store_errors);
  info_.clear();
  for (const auto& c : store->certificates()) {
    if (!from_acme.count(c.get())) info_.push_back(describe(*c, "file"));
  }
  info_.insert(info_.end(), acme_info.begin(), acme_info.end());
  const tls::Certificate& def = store->default_certificate();
  auto listed = std::find_if(store->certificates().begin(), store->certificates().end(),
                             [&](const auto& c) { return c.get() == &def; });
  if (listed == store->certificates().end()) {
    info_.push_back(describe(def, &def == generated_default_.get() ? "generated" : "file"));
    info_.back().is_default = true;
  }
  built.table->set_tls_store(std::move(store));
  for (const auto& e : store_errors) {
    log::error("tls configuration problem", {{"object", e.object}, {"error", e.message}});
    warnings.push_back({"tls", e.object, e.message});
  }
}

}  // namespace portier::app
