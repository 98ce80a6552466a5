// The rfc2136 provider (lego's rfc2136 / dnsupdate): the TXT record is added by a DNS UPDATE
// (RFC 2136) to RFC2136_NAMESERVER, signed with TSIG when a key is given. The zone is the SOA
// owner found by asking that nameserver, as lego does.
#include <ctime>
#include <fstream>
#include <regex>
#include <sstream>

#include "acme/dns_client.h"
#include "acme/dns_provider.h"
#include "common/base64.h"

namespace portier::acme {
namespace {

class Rfc2136 : public DnsProvider {
 public:
  Result<bool> present(const DnsRecord& r) override {
    // As lego: any leftover challenge RRset goes first, then the new record.
    return update(r, {rr(r, dns::kClassANY, 0, ""), rr(r, dns::kIN, ttl_, dns::txt_rdata(r.value))},
                  "insert");
  }
  Result<bool> cleanup(const DnsRecord& r) override {
    return update(r, {rr(r, dns::kNONE, 0, dns::txt_rdata(r.value))}, "remove");
  }

  std::string nameserver_;
  std::optional<dns::TsigKey> key_;
  std::uint32_t ttl_ = 120;
  std::chrono::milliseconds timeout_{std::chrono::seconds(10)};
  const dns::Lookup* lookup_ = nullptr;

 private:
  static dns::Record rr(const DnsRecord& r, std::uint16_t cls, std::uint32_t ttl,
                        std::string rdata) {
    dns::Record out;
    out.name = r.fqdn;
    out.type = dns::kTXT;
    out.cls = cls;
    out.ttl = ttl;
    out.rdata = std::move(rdata);
    return out;
  }

  Result<bool> update(const DnsRecord& r, const std::vector<dns::Record>& rrs, const char* action) {
    auto zone = lookup_->find_zone(r.fqdn, {nameserver_});
    if (!zone) return Error{"rfc2136: " + zone.error().message};
    std::string msg = dns::encode_update(dns::new_id(), *zone, rrs);
    std::string mac;
    const std::int64_t now = std::time(nullptr);
    if (key_) {
      auto signed_msg = dns::tsig_sign(msg, *key_, now, &mac);
      if (!signed_msg) return Error{"rfc2136: " + signed_msg.error().message};
      msg = std::move(*signed_msg);
    }
    auto wire = dns::exchange(nameserver_, msg, timeout_);
    if (!wire) return Error{"rfc2136: DNS update failed: " + wire.error().message};
    auto reply = dns::decode(*wire);
    if (!reply) return Error{"rfc2136: DNS update failed: " + reply.error().message};
    if (reply->rcode() != dns::kNoError) {
      std::string why = "rfc2136: DNS update failed: server " + nameserver_ + " replied " +
                        dns::rcode_name(reply->rcode()) + " for " + action + " " + *zone;
      if (key_) {
        if (auto v = dns::tsig_verify(*wire, *key_, mac, now); !v)
          why += " (" + v.error().message + ")";
      }
      return Error{why};
    }
    if (key_) {
      if (auto v = dns::tsig_verify(*wire, *key_, mac, std::time(nullptr)); !v) {
        return Error{"rfc2136: " + v.error().message};
      }
    }
    return true;
  }
};

// A key file as tsig-keygen writes it: key "name" { algorithm hmac-sha256; secret "..."; };
Result<bool> read_key_file(const std::string& path, std::string& name, std::string& alg,
                           std::string& secret) {
  std::ifstream in(path);
  if (!in) return Error{"cannot read the TSIG key file " + path};
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  std::smatch m;
  if (std::regex_search(text, m, std::regex(R"re(key\s+"?([^"\s{]+)"?\s*\{)re"))) name = m[1];
  if (std::regex_search(text, m, std::regex(R"re(algorithm\s+"?([^";\s]+)"?\s*;)re"))) alg = m[1];
  if (std::regex_search(text, m, std::regex(R"re(secret\s+"([^"]+)"\s*;)re"))) secret = m[1];
  if (name.empty() || alg.empty() || secret.empty()) {
    return Error{"the TSIG key file " + path + " has no key, algorithm or secret"};
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<DnsProvider>> make_rfc2136(const Env& env, const dns::Lookup& lookup) {
  // lego v5 reads DNSUPDATE_<X> first, then RFC2136_<X>.
  auto get = [&](const char* x) {
    auto v = env(std::string("DNSUPDATE_") + x);
    return v ? v : env(std::string("RFC2136_") + x);
  };
  auto p = std::make_unique<Rfc2136>();
  p->lookup_ = &lookup;
  auto ns = get("NAMESERVER");
  if (!ns) return Error{"rfc2136: RFC2136_NAMESERVER is not set"};
  p->nameserver_ = dns::with_port(*ns);
  std::string name = get("TSIG_KEY").value_or(""), secret = get("TSIG_SECRET").value_or("");
  std::string alg = get("TSIG_ALGORITHM").value_or("hmac-sha1.");  // lego v5's default
  if (auto file = get("TSIG_FILE")) {
    if (auto r = read_key_file(*file, name, alg, secret); !r)
      return Error{"rfc2136: " + r.error().message};
  }
  if (!name.empty() && !secret.empty()) {
    auto canonical = dns::tsig_algorithm(alg);
    if (!canonical) {
      return Error{"rfc2136: TSIG algorithm `" + alg +
                   "` is not supported (hmac-md5, hmac-sha1, hmac-sha224, hmac-sha256, "
                   "hmac-sha384, hmac-sha512)"};
    }
    auto bytes = base64_decode(secret);
    if (!bytes || bytes->empty()) return Error{"rfc2136: RFC2136_TSIG_SECRET is not base64"};
    p->key_ = dns::TsigKey{dns::fqdn(name), *canonical, *bytes};
  }
  std::chrono::milliseconds ttl = std::chrono::seconds(p->ttl_);
  Result<bool> r = read_seconds(get("TTL"), "RFC2136_TTL", std::chrono::seconds(1), ttl);
  if (r) {
    r = read_seconds(get("DNS_TIMEOUT"), "RFC2136_DNS_TIMEOUT", std::chrono::milliseconds(1),
                     p->timeout_);
  }
  if (r) r = read_timing(env, "RFC2136_", *p);
  if (r) r = read_timing(env, "DNSUPDATE_", *p);
  if (!r) return Error{"rfc2136: " + r.error().message};
  p->ttl_ = static_cast<std::uint32_t>(ttl.count() / 1000);
  return std::unique_ptr<DnsProvider>(std::move(p));
}

}  // namespace portier::acme
