// The HTTP-01 and TLS-ALPN-01 solvers (the DNS-01 one is in dns_solver.cc).
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include <cctype>

#include "acme/solver.h"
#include "common/ascii.h"
#include "common/log.h"

namespace portier::acme {
namespace {

// Traefik's httpChallenge.delay and tlsChallenge.delay: a wait after publishing.
class DelayedSolver : public Solver {
 protected:
  DelayedSolver(std::chrono::milliseconds delay, Wait wait)
      : delay_(delay), wait_(std::move(wait)) {}
  Result<bool> after_publishing() const {
    if (delay_.count() > 0 && !wait_(delay_)) return Error{"stopped"};
    return true;
  }

 private:
  std::chrono::milliseconds delay_;
  Wait wait_;
};

class HttpSolver : public DelayedSolver {
 public:
  HttpSolver(tls::ChallengeTokens& tokens, std::chrono::milliseconds delay, Wait wait)
      : DelayedSolver(delay, std::move(wait)), tokens_(tokens) {}
  std::string_view type() const override { return "http-01"; }
  Result<bool> present(const ChallengeAnswer& a) override {
    tokens_.put(a.token, a.key_auth);
    return after_publishing();
  }
  void cleanup(const ChallengeAnswer& a) override { tokens_.erase(a.token); }

 private:
  tls::ChallengeTokens& tokens_;
};

class TlsAlpnSolver : public DelayedSolver {
 public:
  TlsAlpnSolver(tls::AlpnChallenges& certs, std::chrono::milliseconds delay, Wait wait)
      : DelayedSolver(delay, std::move(wait)), certs_(certs) {}
  std::string_view type() const override { return "tls-alpn-01"; }
  Result<bool> present(const ChallengeAnswer& a) override {
    auto cert = make_alpn_certificate(a.domain, a.key_auth);
    if (!cert) return cert.error();
    certs_.put(ascii_lower(a.domain), std::move(*cert));
    return after_publishing();
  }
  void cleanup(const ChallengeAnswer& a) override { certs_.erase(ascii_lower(a.domain)); }

 private:
  tls::AlpnChallenges& certs_;
};

}  // namespace

std::unique_ptr<Solver> make_http_solver(tls::ChallengeTokens& tokens,
                                         std::chrono::milliseconds delay, Wait wait) {
  return std::make_unique<HttpSolver>(tokens, delay, std::move(wait));
}

std::unique_ptr<Solver> make_tls_alpn_solver(tls::AlpnChallenges& certs,
                                             std::chrono::milliseconds delay, Wait wait) {
  return std::make_unique<TlsAlpnSolver>(certs, delay, std::move(wait));
}

Result<std::shared_ptr<const tls::AlpnCertificate>> make_alpn_certificate(
    const std::string& domain, std::string_view key_auth) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  if (key == nullptr || x == nullptr) {
    EVP_PKEY_free(key);
    X509_free(x);
    return Error{"cannot create the tls-alpn-01 certificate"};
  }
  auto cert = std::make_shared<const tls::AlpnCertificate>(x, key);
  bool ok = X509_set_version(x, 2) == 1;
  unsigned char serial[16];
  ok = ok && RAND_bytes(serial, sizeof serial) == 1;
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  ok = ok && bn != nullptr && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != nullptr;
  BN_free(bn);
  ok = ok && X509_gmtime_adj(X509_getm_notBefore(x), -3600) != nullptr &&
       X509_gmtime_adj(X509_getm_notAfter(x), 7 * 24 * 3600) != nullptr;
  X509_NAME* name = X509_get_subject_name(x);
  ok = ok && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                        reinterpret_cast<const unsigned char*>(domain.c_str()), -1,
                                        -1, 0) == 1;
  ok = ok && X509_set_issuer_name(x, name) == 1 && X509_set_pubkey(x, key) == 1;
  // subjectAltName: the one DNS name being validated.
  if (ok) {
    X509_EXTENSION* san =
        X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, ("DNS:" + domain).c_str());
    ok = san != nullptr && X509_add_ext(x, san, -1) == 1;
    X509_EXTENSION_free(san);
  }
  // id-pe-acmeIdentifier (1.3.6.1.5.5.7.1.31), critical: an OCTET STRING holding the DER of
  // Authorization ::= OCTET STRING (SIZE (32)), the SHA-256 of the key authorization.
  if (ok) {
    unsigned char der[2 + SHA256_DIGEST_LENGTH] = {0x04, SHA256_DIGEST_LENGTH};
    SHA256(reinterpret_cast<const unsigned char*>(key_auth.data()), key_auth.size(), der + 2);
    ASN1_OBJECT* oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
    ASN1_OCTET_STRING* value = ASN1_OCTET_STRING_new();
    ok = oid != nullptr && value != nullptr && ASN1_OCTET_STRING_set(value, der, sizeof der) == 1;
    X509_EXTENSION* ext = ok ? X509_EXTENSION_create_by_OBJ(nullptr, oid, 1, value) : nullptr;
    ok = ext != nullptr && X509_add_ext(x, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(value);
    ASN1_OBJECT_free(oid);
  }
  ok = ok && X509_sign(x, key, EVP_sha256()) > 0;
  if (!ok) return Error{"cannot create the tls-alpn-01 certificate for " + domain};
  return cert;
}

}  // namespace portier::acme
