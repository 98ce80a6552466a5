#include "acme/dns_lookup.h"

#include "acme/dns_client.h"
#include "acme/ok.h"

namespace portier::acme::dns {

Lookup::Lookup(std::vector<std::string> recursive, std::chrono::milliseconds timeout)
    : timeout_(timeout) {
  for (const auto& r : recursive) recursive_.push_back(with_port(r));
  if (recursive_.empty()) recursive_ = system_resolvers();
}

Result<Message> Lookup::query(const std::string& name, std::uint16_t type,
                              const std::vector<std::string>& servers, bool recursive) const {
  Result<Message> last = Error{"no nameserver to ask"};
  for (const auto& s : servers) {
    auto wire = exchange(s, encode_query(new_id(), name, type, recursive), timeout_);
    if (!wire) {
      last = wire.error();
      continue;
    }
    last = decode(*wire);
    if (last && !last->answer.empty()) return last;
  }
  return last;
}

Result<std::string> Lookup::find_zone(const std::string& name,
                                      const std::vector<std::string>& servers) const {
  std::string domain = fqdn(name);
  while (domain != ".") {
    auto m = query(domain, kSOA, servers, true);
    if (m && m->rcode() == kNoError) {
      bool cname = false;
      for (const auto& r : m->answer) cname = cname || r.type == kCNAME;
      for (const auto& r : m->answer) {
        if (!cname && r.type == kSOA) return ok(r.name);
      }
    } else if (m && m->rcode() != kNXDomain) {
      return Error{"SOA query for " + domain + ": " + rcode_name(m->rcode())};
    }
    domain = domain.substr(domain.find('.') + 1);
    if (domain.empty()) break;
  }
  return Error{"could not find the zone (SOA) of " + fqdn(name)};
}

std::string Lookup::follow_cname(const std::string& name) const {
  std::string current = fqdn(name);
  for (int i = 0; i < 50; ++i) {
    auto m = query(current, kCNAME, recursive_, true);
    if (!m) break;
    std::string next;
    for (const auto& r : m->answer) {
      if (r.type == kCNAME && r.name == current) next = r.text;
    }
    if (next.empty()) break;
    current = next;
  }
  return current;
}

Result<bool> Lookup::check_at(const std::string& name, const std::string& value,
                              const std::string& server, bool recursive) const {
  auto m = query(name, kTXT, {server}, recursive);
  if (!m) return m.error();
  if (m->rcode() != kNoError) {
    return Error{"NS " + server + " returned " + rcode_name(m->rcode()) + " for " + name};
  }
  std::string seen;
  for (const auto& r : m->answer) {
    if (r.type != kTXT) continue;
    if (r.text == value) return true;
    seen += (seen.empty() ? "" : ", ") + r.text;
  }
  return Error{"NS " + server + " did not return the expected TXT record [fqdn: " + name +
               ", value: " + value + "]: " + seen};
}

Result<bool> Lookup::check_recursive(const std::string& name, const std::string& value) const {
  for (const auto& s : recursive_) {
    if (auto r = check_at(name, value, s, true); !r)
      return Error{"recursive nameservers: " + r.error().message};
  }
  return true;
}

Result<bool> Lookup::check_authoritative(const std::string& name, const std::string& value,
                                         int authoritative_port) const {
  auto zone = find_zone(name);
  if (!zone)
    return Error{"authoritative nameservers: could not find zone: " + zone.error().message};
  auto ns = query(*zone, kNS, recursive_, true);
  if (!ns) return Error{"authoritative nameservers: NS call failed: " + ns.error().message};
  std::vector<std::string> servers;
  for (const auto& r : ns->answer) {
    if (r.type == kNS) servers.push_back(r.text);
  }
  if (servers.empty()) {
    return Error{"authoritative nameservers: [zone=" + *zone +
                 "] could not determine authoritative nameservers"};
  }
  for (auto& s : servers) {
    if (s.ends_with('.')) s.pop_back();
    auto r = check_at(name, value, with_port(s, authoritative_port), false);
    if (!r) return Error{"authoritative nameservers: " + r.error().message};
  }
  return true;
}

}  // namespace portier::acme::dns
