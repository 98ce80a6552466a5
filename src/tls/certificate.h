// A certificate with its private key and chain, parsed once and shared (immutable) by every
// store that serves it. Owns its OpenSSL objects.
//
// Threading: immutable after construction; OpenSSL reference counting makes the handles safe to
// hand to SSL objects on any thread.
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace portier::tls {

class Certificate {
 public:
  ~Certificate();
  Certificate(const Certificate&) = delete;
  Certificate& operator=(const Certificate&) = delete;

  // Parses a PEM chain (leaf first) and its PEM private key; checks that they match.
  static Result<std::shared_ptr<const Certificate>> from_pem(std::string_view cert_pem,
                                                             std::string_view key_pem);
  // A self-signed EC P-256 certificate for `common_name`, valid for a year: the default
  // certificate when no tls.stores.default.defaultCertificate is configured.
  static std::shared_ptr<const Certificate> self_signed(const std::string& common_name);

  X509* leaf() const { return leaf_; }
  EVP_PKEY* key() const { return key_; }
  STACK_OF(X509) * chain() const { return chain_; }
  // DNS names from subjectAltName (or the CN when there is none), lower case. May hold
  // wildcards ("*.example.com").
  const std::vector<std::string>& names() const { return names_; }
  std::int64_t not_after() const { return not_after_; }
  std::int64_t not_before() const;
  std::string serial_hex() const;
  // The leaf's subject and issuer names, RFC 2253 ("CN=a.example.com,O=Example"), for display.
  std::string subject() const;
  std::string issuer() const;

 private:
  Certificate() = default;
  void read_names();
  X509* leaf_ = nullptr;
  EVP_PKEY* key_ = nullptr;
  STACK_OF(X509) * chain_ = nullptr;
  std::vector<std::string> names_;
  std::int64_t not_after_ = 0;
};

// Traefik's certFile/keyFile: a path, or the PEM text itself. Returns the PEM text.
Result<std::string> read_pem_source(const std::string& value);

}  // namespace portier::tls
