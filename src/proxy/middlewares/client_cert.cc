// Formatting follows Traefik's pass_tls_client_cert.go field by field; where Go's x509 package
// decides a value (pkix.Name keeps the last CN and serialNumber but every C, ST, L, O and OU;
// net.IP prints IPv4-mapped addresses as IPv4), the code below does the same with OpenSSL.
#include "proxy/middlewares/client_cert.h"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <ctime>

namespace portier::proxy::mw {
namespace {

// An attribute value as Go's parser gives it (its string types decoded to UTF-8).
std::string utf8(const ASN1_STRING* v) {
  unsigned char* out = nullptr;
  int n = ASN1_STRING_to_UTF8(&out, v);
  if (n < 0) return {};
  std::string s(reinterpret_cast<const char*>(out), static_cast<std::size_t>(n));
  OPENSSL_free(out);
  return s;
}

// Traefik's getSubjectDNInfo/getIssuerDNInfo: DC (every one, in order), C, ST, L, O, OU
// (subject only), SN and CN (the last of each, as pkix.Name keeps them), each "K=v,".
std::string dn_info(const X509_NAME* name, const config::TlsClientCertificateDnInfo& o,
                    bool subject) {
  std::vector<std::string> dc, c, st, l, org, ou;
  std::string sn, cn;
  const int count = X509_NAME_entry_count(name);
  for (int i = 0; i < count; ++i) {
    const X509_NAME_ENTRY* e = X509_NAME_get_entry(name, i);
    std::string v = utf8(X509_NAME_ENTRY_get_data(e));
    switch (OBJ_obj2nid(X509_NAME_ENTRY_get_object(e))) {
      case NID_domainComponent:
        dc.push_back(std::move(v));
        break;
      case NID_countryName:
        c.push_back(std::move(v));
        break;
      case NID_stateOrProvinceName:
        st.push_back(std::move(v));
        break;
      case NID_localityName:
        l.push_back(std::move(v));
        break;
      case NID_organizationName:
        org.push_back(std::move(v));
        break;
      case NID_organizationalUnitName:
        ou.push_back(std::move(v));
        break;
      case NID_serialNumber:
        sn = std::move(v);
        break;
      case NID_commonName:
        cn = std::move(v);
        break;
      default:
        break;
    }
  }
  std::string out;
  // Traefik writes every DC as found, even an empty one; the other parts skip empty values.
  if (o.domain_component) {
    for (const auto& v : dc) out += "DC=" + v + ",";
  }
  auto parts = [&out](bool on, const std::vector<std::string>& values, const char* key) {
    if (!on) return;
    for (const auto& v : values) {
      if (!v.empty()) out += std::string(key) + "=" + v + ",";
    }
  };
  parts(o.country, c, "C");
  parts(o.province, st, "ST");
  parts(o.locality, l, "L");
  parts(o.organization, org, "O");
  parts(subject && o.organizational_unit, ou, "OU");
  parts(o.serial_number, {sn}, "SN");
  parts(o.common_name, {cn}, "CN");
  if (!out.empty()) out.pop_back();  // the trailing ','
  return out;
}

std::int64_t unix_time(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<std::int64_t>(timegm(&tm));
}

// Go's net.IP.String for the 4 or 16 bytes of an iPAddress SAN: IPv4 (also when mapped),
// else RFC 5952 (the first longest run of two or more zero groups as "::", lower-case hex).
std::string ip_string(const unsigned char* b, int len) {
  static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (len == 16 && std::equal(kMapped, kMapped + 12, b)) {
    b += 12;
    len = 4;
  }
  if (len == 4) {
    return std::to_string(b[0]) + "." + std::to_string(b[1]) + "." + std::to_string(b[2]) + "." +
           std::to_string(b[3]);
  }
  if (len != 16) return "?";  // Go refuses such a certificate; OpenSSL took it
  std::array<unsigned, 8> w{};
  for (int i = 0; i < 8; ++i) w[i] = static_cast<unsigned>(b[2 * i]) << 8 | b[2 * i + 1];
  int best = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    if (w[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && w[j] == 0) ++j;
    if (j - i > best_len && j - i >= 2) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 8; ++i) {
    if (i == best) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    bool started = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
      unsigned d = (w[i] >> shift) & 0xf;
      if (d != 0 || started || shift == 0) {
        out += kHex[d];
        started = true;
      }
    }
  }
  return out;
}

// Traefik's getSANs: the DNS names, then the e-mail addresses, the IP addresses and the URIs,
// each group in the certificate's order.
std::vector<std::string> sans(X509* cert) {
  std::vector<std::string> dns, email, ip, uri;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return {};
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    switch (n->type) {
      case GEN_DNS:
        dns.push_back(utf8(n->d.dNSName));
        break;
      case GEN_EMAIL:
        email.push_back(utf8(n->d.rfc822Name));
        break;
      case GEN_URI:
        uri.push_back(utf8(n->d.uniformResourceIdentifier));
        break;
      case GEN_IPADD:
        ip.push_back(
            ip_string(ASN1_STRING_get0_data(n->d.iPAddress), ASN1_STRING_length(n->d.iPAddress)));
        break;
      default:
        break;
    }
  }
  GENERAL_NAMES_free(names);
  std::vector<std::string> out;
  for (auto* group : {&dns, &email, &ip, &uri}) out.insert(out.end(), group->begin(), group->end());
  return out;
}

std::string serial_decimal(X509* cert) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  if (bn == nullptr) return {};
  char* dec = BN_bn2dec(bn);
  std::string s = dec ? dec : "";
  OPENSSL_free(dec);
  BN_free(bn);
  return s;
}

std::string one_info(X509* cert, const config::TlsClientCertificateInfo& info) {
  std::vector<std::string> values;
  if (info.subject) {
    std::string s = dn_info(X509_get_subject_name(cert), *info.subject, true);
    if (!s.empty()) values.push_back("Subject=\"" + s + "\"");
  }
  if (info.issuer) {
    std::string s = dn_info(X509_get_issuer_name(cert), *info.issuer, false);
    if (!s.empty()) values.push_back("Issuer=\"" + s + "\"");
  }
  if (info.serial_number) {
    std::string sn = serial_decimal(cert);
    if (!sn.empty()) values.push_back("SerialNumber=\"" + sn + "\"");
  }
  // Go prints uint64(t.Unix()): a date before 1970 wraps around, and so does this.
  if (info.not_before) {
    values.push_back(
        "NB=\"" + std::to_string(static_cast<std::uint64_t>(unix_time(X509_get0_notBefore(cert)))) +
        "\"");
  }
  if (info.not_after) {
    values.push_back(
        "NA=\"" + std::to_string(static_cast<std::uint64_t>(unix_time(X509_get0_notAfter(cert)))) +
        "\"");
  }
  if (info.sans) {
    std::vector<std::string> list = sans(cert);
    if (!list.empty()) {
      std::string joined;
      for (const auto& v : list) joined += (joined.empty() ? "" : ",") + v;
      values.push_back("SAN=\"" + joined + "\"");
    }
  }
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : ";") + v;
  return out;
}

}  // namespace

std::string client_cert_pem(const std::vector<X509*>& certs) {
  std::string out;
  for (std::size_t i = 0; i < certs.size(); ++i) {
    if (i > 0) out += ',';
    unsigned char* der = nullptr;
    int n = i2d_X509(certs[i], &der);
    if (n <= 0) continue;  // Traefik logs and passes "" for that certificate
    std::string b64(4 * ((static_cast<std::size_t>(n) + 2) / 3) + 1, '\0');
    int m = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), der, n);
    OPENSSL_free(der);
    b64.resize(m > 0 ? static_cast<std::size_t>(m) : 0);
    out += b64;
  }
  return out;
}

std::string client_cert_info(const std::vector<X509*>& certs,
                             const config::TlsClientCertificateInfo& info) {
  std::string out;
  for (std::size_t i = 0; i < certs.size(); ++i) {
    if (i > 0) out += ',';
    out += one_info(certs[i], info);
  }
  return out;
}

}  // namespace portier::proxy::mw
