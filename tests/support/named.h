// BIND 9's named (Debian `bind9`) for DNS-01 tests: authoritative for one zone on a free loopback
// port (UDP and TCP), with a TSIG key (hmac-sha256) allowed to update it. The zone answers
// 127.0.0.1 for every name in it (`*` and the apex), its NS is `localhost.`, so a Pebble whose
// -dnsserver is this named validates HTTP-01/TLS-ALPN-01 on 127.0.0.1 and DNS-01 against the TXT
// records updates put there.
//
// The Named kills and reaps its process on destruction. Failure to start throws
// std::runtime_error with named's log.
#pragma once

#include <memory>
#include <string>

#include "support/process.h"

namespace portier::test {

class Named {
 public:
  explicit Named(std::string zone = "dns.test");
  ~Named();
  Named(const Named&) = delete;
  Named& operator=(const Named&) = delete;

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& zone() const { return zone_; }
  const std::string& key_name() const { return key_name_; }
  const std::string& key_secret() const { return key_secret_; }  // base64
  // The TSIG key as tsig-keygen writes it (for RFC2136_TSIG_FILE).
  std::string key_file() const;

  // Runs nsupdate (bind9-dnsutils) with the key: `add` or `delete` of the TXT `value` at `fqdn`.
  // True when nsupdate succeeded.
  bool update_txt(bool add, const std::string& fqdn, const std::string& value) const;
  // One nsupdate `update` line ("add x.dns.test. 60 CNAME y.dns.test."), sent.
  bool update(const std::string& line) const;
  // The TXT values at `fqdn`, by dig (one line each, unquoted).
  std::string txt(const std::string& fqdn) const;
  std::string log() const { return proc_ ? proc_->log() : ""; }

 private:
  std::string zone_;
  std::string key_name_ = "portier-test-key";
  std::string key_secret_;
  TempDir dir_;
  int port_ = 0;
  std::unique_ptr<Process> proc_;
};

}  // namespace portier::test
