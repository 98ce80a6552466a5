// Self-signed certificates for the ACME unit tests (built with OpenSSL, no files).
#pragma once

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

namespace portier::acme::testing {

// A PEM certificate for `domains` signed by `key`, valid from now+from_s to now+to_s.
inline std::string self_signed(EVP_PKEY* key, const std::vector<std::string>& domains,
                               long from_s = -3600, long to_s = 90L * 86400, long serial = 4242) {
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
  X509_gmtime_adj(X509_getm_notBefore(x), from_s);
  X509_gmtime_adj(X509_getm_notAfter(x), to_s);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(domains[0].c_str()), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509_set_pubkey(x, key);
  std::string san;
  for (const auto& d : domains) san += (san.empty() ? "DNS:" : ",DNS:") + d;
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, san},
                            std::pair{NID_subject_key_identifier, std::string("hash")},
                            std::pair{NID_authority_key_identifier, std::string("keyid:always")}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(x, key, EVP_sha256());
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, x);
  char* p = nullptr;
  long n = BIO_get_mem_data(b, &p);
  std::string pem(p, static_cast<std::size_t>(n));
  BIO_free(b);
  X509_free(x);
  return pem;
}

}  // namespace portier::acme::testing
