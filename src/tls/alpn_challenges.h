// TLS-ALPN-01 challenge certificates (RFC 8737): put by the ACME managers while an authorization
// is being validated, read in the TLS handshake when a ClientHello offers `acme-tls/1`.
//
// Threading: every method is thread-safe. Readers take a shared lock, and only handshakes that
// offer `acme-tls/1` read, so ordinary handshakes never touch the lock.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>

namespace portier::tls {

// A self-signed challenge certificate and its key; owns both.
struct AlpnCertificate {
  AlpnCertificate(X509* c, EVP_PKEY* k) : cert(c), key(k) {}
  ~AlpnCertificate() {
    X509_free(cert);
    EVP_PKEY_free(key);
  }
  AlpnCertificate(const AlpnCertificate&) = delete;
  AlpnCertificate& operator=(const AlpnCertificate&) = delete;
  X509* cert;
  EVP_PKEY* key;
};

class AlpnChallenges {
 public:
  // The certificate for `name` (lower case, no trailing dot), or null.
  std::shared_ptr<const AlpnCertificate> find(std::string_view name) const {
    std::shared_lock lock(mu_);
    auto it = certs_.find(name);
    return it == certs_.end() ? nullptr : it->second;
  }
  void put(std::string name, std::shared_ptr<const AlpnCertificate> cert) {
    std::unique_lock lock(mu_);
    certs_[std::move(name)] = std::move(cert);
  }
  void erase(std::string_view name) {
    std::unique_lock lock(mu_);
    if (auto it = certs_.find(name); it != certs_.end()) certs_.erase(it);
  }

 private:
  mutable std::shared_mutex mu_;
  std::map<std::string, std::shared_ptr<const AlpnCertificate>, std::less<>> certs_;
};

}  // namespace portier::tls
