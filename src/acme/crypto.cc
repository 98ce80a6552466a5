#include "acme/crypto.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acme/ok.h"

namespace portier::acme {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using Bio = std::unique_ptr<BIO, BioFree>;
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

Bio mem_bio(std::string_view data) {
  return Bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

std::string bio_string(BIO* b) {
  char* p = nullptr;
  long n = BIO_get_mem_data(b, &p);
  return std::string(p, static_cast<std::size_t>(n));
}

X509Ptr read_cert(std::string_view pem) {
  auto b = mem_bio(pem);
  return X509Ptr(PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
}

std::int64_t asn1_unix(const ASN1_TIME* t) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<std::int64_t>(timegm(&tm));
}

}  // namespace

Result<Pkey> generate_key(std::string_view key_type) {
  EVP_PKEY* k = nullptr;
  if (key_type == "EC256") {
    k = EVP_EC_gen("P-256");
  } else if (key_type == "EC384") {
    k = EVP_EC_gen("P-384");
  } else if (key_type == "RSA2048" || key_type == "RSA4096" || key_type == "RSA8192") {
    unsigned bits = static_cast<unsigned>(std::stoul(std::string(key_type.substr(3))));
    k = EVP_RSA_gen(bits);
  } else {
    return Error{"unknown key type `" + std::string(key_type) +
                 "` (EC256, EC384, RSA2048, RSA4096, RSA8192)"};
  }
  if (k == nullptr) return Error{"cannot generate a " + std::string(key_type) + " key"};
  return Pkey(k);
}

std::string lego_key_type(std::string_view key_type) {
  if (key_type == "EC256") return "P256";
  if (key_type == "EC384") return "P384";
  if (key_type.starts_with("RSA")) return std::string(key_type.substr(3));
  return std::string(key_type);
}

Result<Pkey> parse_private_key_der(std::string_view der) {
  // d2i_AutoPrivateKey recognises PKCS#8, and guesses SEC1 or PKCS#1 from the ASN.1 shape.
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  if (EVP_PKEY* k = d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(der.size()))) {
    return Pkey(k);
  }
  for (int type : {EVP_PKEY_EC, EVP_PKEY_RSA}) {
    p = reinterpret_cast<const unsigned char*>(der.data());
    if (EVP_PKEY* k = d2i_PrivateKey(type, nullptr, &p, static_cast<long>(der.size()))) {
      return Pkey(k);
    }
  }
  return Error{"the private key is neither PKCS#8, SEC1 nor PKCS#1 DER"};
}

Result<Pkey> parse_private_key_pem(std::string_view pem) {
  auto b = mem_bio(pem);
  EVP_PKEY* k = PEM_read_bio_PrivateKey(b.get(), nullptr, nullptr, nullptr);
  if (k == nullptr) return Error{"cannot parse the PEM private key"};
  return Pkey(k);
}

std::string private_key_der(EVP_PKEY* key) {
  unsigned char* out = nullptr;
  int n = 0;
  // The "type-specific" encoding: ECPrivateKey (SEC1, with curve and public key) or PKCS#1.
  n = i2d_PrivateKey(key, &out);
  if (n <= 0) return {};
  std::string der(reinterpret_cast<char*>(out), static_cast<std::size_t>(n));
  OPENSSL_clear_free(out, static_cast<std::size_t>(n));
  return der;
}

std::string private_key_pem(EVP_PKEY* key) {
  Bio b(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey_traditional(b.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  return bio_string(b.get());
}

Result<std::string> make_csr_der(EVP_PKEY* key, const std::vector<std::string>& domains) {
  if (domains.empty()) return Error{"a CSR needs at least one domain"};
  std::unique_ptr<X509_REQ, decltype(&X509_REQ_free)> req(X509_REQ_new(), X509_REQ_free);
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(domains[0].c_str()), -1, -1, 0);
  std::string san;
  for (const auto& d : domains) san += (san.empty() ? "DNS:" : ",DNS:") + d;
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san.c_str());
  if (ext == nullptr) return Error{"cannot build the subjectAltName extension"};
  STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
  sk_X509_EXTENSION_push(exts, ext);
  X509_REQ_add_extensions(req.get(), exts);
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  X509_REQ_set_version(req.get(), 0);
  X509_REQ_set_pubkey(req.get(), key);
  if (X509_REQ_sign(req.get(), key, EVP_sha256()) <= 0) return Error{"cannot sign the CSR"};
  unsigned char* out = nullptr;
  int n = i2d_X509_REQ(req.get(), &out);
  if (n <= 0) return Error{"cannot encode the CSR"};
  std::string der(reinterpret_cast<char*>(out), static_cast<std::size_t>(n));
  OPENSSL_free(out);
  return ok<std::string>(std::move(der));
}

std::vector<std::string> split_pem_chain(std::string_view pem) {
  constexpr std::string_view kBegin = "-----BEGIN CERTIFICATE-----";
  constexpr std::string_view kEnd = "-----END CERTIFICATE-----";
  std::vector<std::string> out;
  std::size_t pos = 0;
  while ((pos = pem.find(kBegin, pos)) != std::string_view::npos) {
    std::size_t end = pem.find(kEnd, pos);
    if (end == std::string_view::npos) break;
    end += kEnd.size();
    out.emplace_back(pem.substr(pos, end - pos));
    out.back() += '\n';
    pos = end;
  }
  return out;
}

Result<CertInfo> parse_leaf(std::string_view pem_chain) {
  auto x = read_cert(pem_chain);
  if (!x) return Error{"cannot parse the certificate PEM"};
  CertInfo info;
  info.not_before = asn1_unix(X509_get0_notBefore(x.get()));
  info.not_after = asn1_unix(X509_get0_notAfter(x.get()));
  // The serial's DER content octets (with the leading 0x00 a high bit needs), as RFC 9773 wants;
  // ASN1_STRING_get0_data would give the bare magnitude.
  unsigned char* der = nullptr;
  int n = i2d_ASN1_INTEGER(X509_get0_serialNumber(x.get()), &der);
  if (n > 2) {
    std::size_t hdr = 2;
    if (der[1] & 0x80) hdr += der[1] & 0x7f;  // long-form length
    if (static_cast<std::size_t>(n) > hdr) {
      info.serial.assign(reinterpret_cast<char*>(der) + hdr, static_cast<std::size_t>(n) - hdr);
    }
  }
  OPENSSL_free(der);
  if (const ASN1_OCTET_STRING* aki = X509_get0_authority_key_id(x.get())) {
    info.authority_key_id.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(aki)),
                                 static_cast<std::size_t>(ASN1_STRING_length(aki)));
  }
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(x.get(), NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(names, i);
    if (g->type != GEN_DNS) continue;
    info.dns_names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(g->d.dNSName)),
                                static_cast<std::size_t>(ASN1_STRING_length(g->d.dNSName)));
  }
  GENERAL_NAMES_free(names);
  return info;
}

std::string top_issuer_cn(std::string_view pem_chain) {
  auto blocks = split_pem_chain(pem_chain);
  if (blocks.empty()) return {};
  auto x = read_cert(blocks.back());
  if (!x) return {};
  char buf[256] = {0};
  int n = X509_NAME_get_text_by_NID(X509_get_issuer_name(x.get()), NID_commonName, buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

}  // namespace portier::acme
