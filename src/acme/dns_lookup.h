// The DNS lookups DNS-01 needs, with lego's semantics (challenge/dns01): the zone of a name (SOA
// walk), the CNAME target of _acme-challenge names, and the propagation check of a TXT value at
// the recursive and the authoritative nameservers.
//
// Threading: the manager's thread; every call blocks for at most a few query timeouts.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "acme/dns_wire.h"
#include "common/result.h"

namespace portier::acme::dns {

class Lookup {
 public:
  // `recursive`: "host:port" servers (dnsChallenge.resolvers; empty: /etc/resolv.conf).
  explicit Lookup(std::vector<std::string> recursive,
                  std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // One query, tried at each of `servers` until one answers with records (lego's
  // SendQueryCustom); the last answer or error otherwise.
  Result<Message> query(const std::string& name, std::uint16_t type,
                        const std::vector<std::string>& servers, bool recursive) const;
  // The zone holding `fqdn`: the owner of the first SOA found walking up from it.
  Result<std::string> find_zone(const std::string& fqdn,
                                const std::vector<std::string>& servers) const;
  Result<std::string> find_zone(const std::string& fqdn) const {
    return find_zone(fqdn, recursive_);
  }
  // `fqdn`, or the end of its CNAME chain (lego follows CNAMEs for _acme-challenge names).
  std::string follow_cname(const std::string& fqdn) const;
  // Does every recursive server return `value` among the TXT records of `fqdn`?
  Result<bool> check_recursive(const std::string& fqdn, const std::string& value) const;
  // Does every authoritative nameserver of the zone (its NS records, queried on
  // `authoritative_port`) return it?
  Result<bool> check_authoritative(const std::string& fqdn, const std::string& value,
                                   int authoritative_port) const;

  const std::vector<std::string>& recursive() const { return recursive_; }

 private:
  Result<bool> check_at(const std::string& fqdn, const std::string& value,
                        const std::string& server, bool recursive) const;

  std::vector<std::string> recursive_;
  std::chrono::milliseconds timeout_;
};

}  // namespace portier::acme::dns
