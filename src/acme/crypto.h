// OpenSSL helpers for the ACME client: private keys (generate, parse any DER/PEM form, write the
// forms Go's crypto/x509 writes), CSRs, and the few certificate fields the scheduler needs.
//
// Pure functions over bytes; errors are Result values with a sentence, never secrets.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace portier::acme {

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

// key_type: EC256, EC384, RSA2048, RSA4096, RSA8192 (Traefik's keyType values).
Result<Pkey> generate_key(std::string_view key_type);
// Traefik's KeyType field value for a key type (lego's certcrypto.KeyType: P256, 4096, ...).
std::string lego_key_type(std::string_view key_type);

// DER in any of PKCS#8, SEC1 (EC) or PKCS#1 (RSA).
Result<Pkey> parse_private_key_der(std::string_view der);
Result<Pkey> parse_private_key_pem(std::string_view pem);
// SEC1 for EC keys (Go's x509.MarshalECPrivateKey), PKCS#1 for RSA (x509.MarshalPKCS1PrivateKey).
std::string private_key_der(EVP_PKEY* key);
// "EC PRIVATE KEY" / "RSA PRIVATE KEY" PEM blocks, as lego's certcrypto.PEMEncode writes them.
std::string private_key_pem(EVP_PKEY* key);

// A DER CSR signed by `key`: CN = domains[0], SANs = all domains.
Result<std::string> make_csr_der(EVP_PKEY* key, const std::vector<std::string>& domains);

struct CertInfo {
  std::int64_t not_before = 0;  // unix seconds
  std::int64_t not_after = 0;
  std::string serial;            // big-endian bytes of the serial number
  std::string authority_key_id;  // keyIdentifier of the AKI extension, empty when absent
  std::vector<std::string> dns_names;
};

// The PEM blocks of a chain, in order ("-----BEGIN CERTIFICATE-----" ... "-----END ...\n").
std::vector<std::string> split_pem_chain(std::string_view pem);
// Fields of the first certificate of a PEM chain.
Result<CertInfo> parse_leaf(std::string_view pem_chain);
// The issuer CN of the last certificate of a PEM chain ("" when it has none).
std::string top_issuer_cn(std::string_view pem_chain);

}  // namespace portier::acme
