#include "tls/certificate.h"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "common/ascii.h"

namespace portier::tls {
namespace {

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

std::int64_t to_unix(const ASN1_TIME* t) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<std::int64_t>(timegm(&tm));
}

}  // namespace

Certificate::~Certificate() {
  X509_free(leaf_);
  EVP_PKEY_free(key_);
  if (chain_) sk_X509_pop_free(chain_, X509_free);
}

Result<std::shared_ptr<const Certificate>> Certificate::from_pem(std::string_view cert_pem,
                                                                 std::string_view key_pem) {
  std::shared_ptr<Certificate> c(new Certificate());
  BIO* cb = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  c->leaf_ = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
  if (!c->leaf_) {
    BIO_free(cb);
    return Error{"no PEM certificate found (" + openssl_error() + ")"};
  }
  c->chain_ = sk_X509_new_null();
  while (X509* x = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr)) sk_X509_push(c->chain_, x);
  ERR_clear_error();  // the loop ends on "no start line"
  BIO_free(cb);
  BIO* kb = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  c->key_ = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
  BIO_free(kb);
  if (!c->key_) return Error{"no PEM private key found (" + openssl_error() + ")"};
  if (X509_check_private_key(c->leaf_, c->key_) != 1) {
    ERR_clear_error();
    return Error{"the private key does not match the certificate"};
  }
  c->not_after_ = to_unix(X509_get0_notAfter(c->leaf_));
  c->read_names();
  return std::shared_ptr<const Certificate>(std::move(c));
}

void Certificate::read_names() {
  auto* sans =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(leaf_, NID_subject_alt_name, nullptr, nullptr));
  if (sans) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* n = sk_GENERAL_NAME_value(sans, i);
      if (n->type != GEN_DNS) continue;
      const ASN1_STRING* s = n->d.dNSName;
      names_.push_back(
          ascii_lower(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                  static_cast<std::size_t>(ASN1_STRING_length(s)))));
    }
    GENERAL_NAMES_free(sans);
  }
  if (names_.empty()) {
    char cn[256];
    int n = X509_NAME_get_text_by_NID(X509_get_subject_name(leaf_), NID_commonName, cn, sizeof cn);
    if (n > 0) names_.push_back(ascii_lower(std::string(cn, static_cast<std::size_t>(n))));
  }
}

std::string Certificate::serial_hex() const {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf_), nullptr);
  char* hex = BN_bn2hex(bn);
  std::string out = hex ? hex : "";
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

std::int64_t Certificate::not_before() const { return to_unix(X509_get0_notBefore(leaf_)); }

namespace {

std::string name_text(const X509_NAME* name) {
  BIO* b = BIO_new(BIO_s_mem());
  X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  std::string out = n > 0 ? std::string(data, static_cast<std::size_t>(n)) : "";
  BIO_free(b);
  return out;
}

}  // namespace

std::string Certificate::subject() const { return name_text(X509_get_subject_name(leaf_)); }
std::string Certificate::issuer() const { return name_text(X509_get_issuer_name(leaf_)); }

std::shared_ptr<const Certificate> Certificate::self_signed(const std::string& common_name) {
  std::shared_ptr<Certificate> c(new Certificate());
  c->key_ = EVP_EC_gen("P-256");
  c->leaf_ = X509_new();
  X509_set_version(c->leaf_, 2);
  ASN1_INTEGER_set_int64(X509_get_serialNumber(c->leaf_), static_cast<std::int64_t>(time(nullptr)));
  X509_gmtime_adj(X509_getm_notBefore(c->leaf_), -3600);
  X509_gmtime_adj(X509_getm_notAfter(c->leaf_), 365L * 24 * 3600);
  X509_set_pubkey(c->leaf_, c->key_);
  X509_NAME* name = X509_get_subject_name(c->leaf_);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(c->leaf_, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, c->leaf_, c->leaf_, nullptr, nullptr, 0);
  if (X509_EXTENSION* ext =
          X509V3_EXT_conf_nid(nullptr, &ctx, NID_key_usage, "critical,digitalSignature")) {
    X509_add_ext(c->leaf_, ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_ext_key_usage, "serverAuth")) {
    X509_add_ext(c->leaf_, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(c->leaf_, c->key_, EVP_sha256());
  c->chain_ = sk_X509_new_null();
  c->not_after_ = to_unix(X509_get0_notAfter(c->leaf_));
  // No name: the default certificate is served when nothing else matches, never chosen by name.
  return c;
}

Result<std::string> read_pem_source(const std::string& value) {
  if (value.find("-----BEGIN") != std::string::npos)
    return Result<std::string>(boost::system::in_place_value, value);
  std::ifstream in(value, std::ios::binary);
  if (!in) {
    return Result<std::string>(boost::system::in_place_error, Error{"cannot read `" + value + "`"});
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return Result<std::string>(boost::system::in_place_value, ss.str());
}

}  // namespace portier::tls
