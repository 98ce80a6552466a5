// passTLSClientCert's header values against Traefik's own test vectors
// (pkg/middlewares/passtlsclientcert/pass_tls_client_cert_test.go: the certificates and the
// expected strings), plus SAN and escaping cases made here.
#include "proxy/middlewares/client_cert.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <memory>

namespace portier::proxy::mw {
namespace {

// Traefik's test certificates (PEM blocks only).
const char* const kMinimalCheese = R"pem(-----BEGIN CERTIFICATE-----
MIIEQDCCAygCFFRY0OBk/L5Se0IZRj3CMljawL2UMA0GCSqGSIb3DQEBCwUAMIIB
hDETMBEGCgmSJomT8ixkARkWA29yZzEWMBQGCgmSJomT8ixkARkWBmNoZWVzZTEP
MA0GA1UECgwGQ2hlZXNlMREwDwYDVQQKDAhDaGVlc2UgMjEfMB0GA1UECwwWU2lt
cGxlIFNpZ25pbmcgU2VjdGlvbjEhMB8GA1UECwwYU2ltcGxlIFNpZ25pbmcgU2Vj
dGlvbiAyMRowGAYDVQQDDBFTaW1wbGUgU2lnbmluZyBDQTEcMBoGA1UEAwwTU2lt
cGxlIFNpZ25pbmcgQ0EgMjELMAkGA1UEBhMCRlIxCzAJBgNVBAYTAlVTMREwDwYD
VQQHDAhUT1VMT1VTRTENMAsGA1UEBwwETFlPTjEWMBQGA1UECAwNU2lnbmluZyBT
dGF0ZTEYMBYGA1UECAwPU2lnbmluZyBTdGF0ZSAyMSEwHwYJKoZIhvcNAQkBFhJz
aW1wbGVAc2lnbmluZy5jb20xIjAgBgkqhkiG9w0BCQEWE3NpbXBsZTJAc2lnbmlu
Zy5jb20wHhcNMTgxMjA2MTExMDM2WhcNMjEwOTI1MTExMDM2WjAzMQswCQYDVQQG
EwJGUjETMBEGA1UECAwKU29tZS1TdGF0ZTEPMA0GA1UECgwGQ2hlZXNlMIIBIjAN
BgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAskX/bUtwFo1gF2BTPNaNcTUMaRFu
FMZozK8IgLjccZ4kZ0R9oFO6Yp8Zl/IvPaf7tE26PI7XP7eHriUdhnQzX7iioDd0
RZa68waIhAGc+xPzRFrP3b3yj3S2a9Rve3c0K+SCV+EtKAwsxMqQDhoo9PcBfo5B
RHfht07uD5MncUcGirwN+/pxHV5xzAGPcc7On0/5L7bq/G+63nhu78zw9XyuLaHC
PM5VbOUvpyIESJHbMMzTdFGL8ob9VKO+Kr1kVGdEA9i8FLGl3xz/GBKuW/JD0xyW
DrU29mri5vYWHmkuv7ZWHGXnpXjTtPHwveE9/0/ArnmpMyR9JtqFr1oEvQIDAQAB
MA0GCSqGSIb3DQEBCwUAA4IBAQBHta+NWXI08UHeOkGzOTGRiWXsOH2dqdX6gTe9
xF1AIjyoQ0gvpoGVvlnChSzmlUj+vnx/nOYGIt1poE3hZA3ZHZD/awsvGyp3GwWD
IfXrEViSCIyF+8tNNKYyUcEO3xdAsAUGgfUwwF/mZ6MBV5+A/ZEEILlTq8zFt9dV
vdKzIt7fZYxYBBHFSarl1x8pDgWXlf3hAufevGJXip9xGYmznF0T5cq1RbWJ4be3
/9K7yuWhuBYC3sbTbCneHBa91M82za+PIISc1ygCYtWSBoZKSAqLk0rkZpHaekDP
WqeUSNGYV//RunTeuRDAf5OxehERb1srzBXhRZ3cZdzXbgR/
-----END CERTIFICATE-----
)pem";
const char* const kCompleteCheese = R"pem(-----BEGIN CERTIFICATE-----
MIIGWjCCBUKgAwIBAgIBATANBgkqhkiG9w0BAQUFADCCAYQxEzARBgoJkiaJk/Is
ZAEZFgNvcmcxFjAUBgoJkiaJk/IsZAEZFgZjaGVlc2UxDzANBgNVBAoMBkNoZWVz
ZTERMA8GA1UECgwIQ2hlZXNlIDIxHzAdBgNVBAsMFlNpbXBsZSBTaWduaW5nIFNl
Y3Rpb24xITAfBgNVBAsMGFNpbXBsZSBTaWduaW5nIFNlY3Rpb24gMjEaMBgGA1UE
AwwRU2ltcGxlIFNpZ25pbmcgQ0ExHDAaBgNVBAMME1NpbXBsZSBTaWduaW5nIENB
IDIxCzAJBgNVBAYTAkZSMQswCQYDVQQGEwJVUzERMA8GA1UEBwwIVE9VTE9VU0Ux
DTALBgNVBAcMBExZT04xFjAUBgNVBAgMDVNpZ25pbmcgU3RhdGUxGDAWBgNVBAgM
D1NpZ25pbmcgU3RhdGUgMjEhMB8GCSqGSIb3DQEJARYSc2ltcGxlQHNpZ25pbmcu
Y29tMSIwIAYJKoZIhvcNAQkBFhNzaW1wbGUyQHNpZ25pbmcuY29tMB4XDTE4MTIw
NjExMTAxNloXDTIwMTIwNTExMTAxNlowggF2MRMwEQYKCZImiZPyLGQBGRYDb3Jn
MRYwFAYKCZImiZPyLGQBGRYGY2hlZXNlMQ8wDQYDVQQKDAZDaGVlc2UxETAPBgNV
BAoMCENoZWVzZSAyMR8wHQYDVQQLDBZTaW1wbGUgU2lnbmluZyBTZWN0aW9uMSEw
HwYDVQQLDBhTaW1wbGUgU2lnbmluZyBTZWN0aW9uIDIxFTATBgNVBAMMDCouY2hl
ZXNlLm9yZzEVMBMGA1UEAwwMKi5jaGVlc2UuY29tMQswCQYDVQQGEwJGUjELMAkG
A1UEBhMCVVMxETAPBgNVBAcMCFRPVUxPVVNFMQ0wCwYDVQQHDARMWU9OMRkwFwYD
VQQIDBBDaGVlc2Ugb3JnIHN0YXRlMRkwFwYDVQQIDBBDaGVlc2UgY29tIHN0YXRl
MR4wHAYJKoZIhvcNAQkBFg9jZXJ0QGNoZWVzZS5vcmcxHzAdBgkqhkiG9w0BCQEW
EGNlcnRAc2NoZWVzZS5jb20wggEiMA0GCSqGSIb3DQEBAQUAA4IBDwAwggEKAoIB
AQDed/qNA3AwOd1RG8xg26laE7Gv/izGOJuICg+O2RuhHa8NZuQTW7xdNpLXXtD6
iCnTeOGB3piyqSI/v4qvEpJj1KnD8uR+0tyixTkceuvXEnBjLkFH4PAI6Ny+CQHs
KAmvNdd5nFA10Wvlh3s09tIxZR0YQmlsBBGD/kSukJItC3U5V2LmFy9HK8dT3RAt
yeMGE9K5umMuPH2Da9aJycydTb+f6KN72siZK7pm1o74QUGgydBeyBGkVUqTg4dj
BGNBnPtoBGfCcS/yZR0CXRXbLNkEaYXCfQ3qO6yF+NSPD8VwskXh7LJUC+n3grSb
Gy25JdSryo9bRD4V3bh/t+75AgMBAAGjgeAwgd0wDgYDVR0PAQH/BAQDAgWgMAkG
A1UdEwQCMAAwHQYDVR0lBBYwFAYIKwYBBQUHAwEGCCsGAQUFBwMCMB0GA1UdDgQW
BBSUunN4oof7WCgoz5g7wkVwFm4pLzAfBgNVHSMEGDAWgBQeUqLoVNU369WoHeTC
BB034vdwAzBhBgNVHREEWjBYggwqLmNoZWVzZS5vcmeCDCouY2hlZXNlLm5ldIIM
Ki5jaGVlc2UuY29thwQKAAEAhwQKAAECgQ90ZXN0QGNoZWVzZS5vcmeBD3Rlc3RA
Y2hlZXNlLm5ldDANBgkqhkiG9w0BAQUFAAOCAQEAdmsFsA40EbGDmZHcrhviCBWL
FrKbJxwCrLXfG9DQdaQrLFxl7Zmr983+OD/DmiIxG6yMHML5XdR1ei5yx4WpBK+f
KszTlnXwjsfGdkisRaS5Ah4vwBXEBwiSyydQZ6HIBcU6s6ZIvuvVWauiG5UwcRNb
CppzO2DMENBqx+XXiy/5Lpjy/4EUJAnjS1VXCRoidPH2QBMxQ4lxCpYaBYIfgzqH
mxcl71pV8i3NDU3kgVi2440JYpoMveTlXPCV2svHNCw0X238YHsSW4b93yGJO0gI
ML9n/4zmm1PMhzZHcEA72ZAq0tKCxpz10djg5v2qL5V+Oaz8TtTOZbPsxpiKMQ==
-----END CERTIFICATE-----
)pem";
const char* const kMinimal = R"pem(-----BEGIN CERTIFICATE-----
MIIDGTCCAgECCQCqLd75YLi2kDANBgkqhkiG9w0BAQsFADBYMQswCQYDVQQGEwJG
UjETMBEGA1UECAwKU29tZS1TdGF0ZTERMA8GA1UEBwwIVG91bG91c2UxITAfBgNV
BAoMGEludGVybmV0IFdpZGdpdHMgUHR5IEx0ZDAeFw0xODA3MTgwODI4MTZaFw0x
ODA4MTcwODI4MTZaMEUxCzAJBgNVBAYTAkZSMRMwEQYDVQQIDApTb21lLVN0YXRl
MSEwHwYDVQQKDBhJbnRlcm5ldCBXaWRnaXRzIFB0eSBMdGQwggEiMA0GCSqGSIb3
DQEBAQUAA4IBDwAwggEKAoIBAQC/+frDMMTLQyXG34F68BPhQq0kzK4LIq9Y0/gl
FjySZNn1C0QDWA1ubVCAcA6yY204I9cxcQDPNrhC7JlS5QA8Y5rhIBrqQlzZizAi
Rj3NTrRjtGUtOScnHuJaWjLy03DWD+aMwb7q718xt5SEABmmUvLwQK+EjW2MeDwj
y8/UEIpvrRDmdhGaqv7IFpIDkcIF7FowJ/hwDvx3PMc+z/JWK0ovzpvgbx69AVbw
ZxCimeha65rOqVi+lEetD26le+WnOdYsdJ2IkmpPNTXGdfb15xuAc+gFXfMCh7Iw
3Ynl6dZtZM/Ok2kiA7/OsmVnRKkWrtBfGYkI9HcNGb3zrk6nAgMBAAEwDQYJKoZI
hvcNAQELBQADggEBAC/R+Yvhh1VUhcbK49olWsk/JKqfS3VIDQYZg1Eo+JCPbwgS
I1BSYVfMcGzuJTX6ua3m/AHzGF3Tap4GhF4tX12jeIx4R4utnjj7/YKkTvuEM2f4
xT56YqI7zalGScIB0iMeyNz1QcimRl+M/49au8ow9hNX8C2tcA2cwd/9OIj/6T8q
SBRHc6ojvbqZSJCO0jziGDT1L3D+EDgTjED4nd77v/NRdP+egb0q3P0s4dnQ/5AV
aQlQADUn61j3ScbGJ4NSeZFFvsl38jeRi/MEzp0bGgNBcPj6JHi7qbbauZcZfQ05
jECvgAY7Nfd9mZ1KtyNaW31is+kag7NsvjxU/kM=
-----END CERTIFICATE-----
)pem";

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;

X509Ptr parse(const char* pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem, -1), BIO_free);
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), X509_free);
}

// Traefik's sanitize: the PEM without its BEGIN/END lines and newlines.
std::string sanitized(std::string pem) {
  for (const char* cut : {"-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----", "\n"}) {
    for (std::size_t p; (p = pem.find(cut)) != std::string::npos;)
      pem.erase(p, std::string(cut).size());
  }
  return pem;
}

config::TlsClientCertificateDnInfo all_dn() {
  config::TlsClientCertificateDnInfo d;
  d.country = d.province = d.locality = d.organization = d.organizational_unit = d.common_name =
      d.serial_number = d.domain_component = true;
  return d;
}

config::TlsClientCertificateInfo all_info() {
  config::TlsClientCertificateInfo i;
  i.not_after = i.not_before = i.sans = i.serial_number = true;
  i.subject = all_dn();
  i.issuer = all_dn();
  i.issuer->organizational_unit = false;  // Traefik's issuer has no such option
  return i;
}

const std::string kMinimalCheeseAllInfo =
    "Subject=\"C=FR,ST=Some-State,O=Cheese\";"
    "Issuer=\"DC=org,DC=cheese,C=FR,C=US,ST=Signing State,ST=Signing State 2,L=TOULOUSE,L=LYON,"
    "O=Cheese,O=Cheese 2,CN=Simple Signing CA 2\";"
    "SerialNumber=\"481535886039632329873080491016862977516759989652\";"
    "NB=\"1544094636\";NA=\"1632568236\"";
const std::string kCompleteAllInfo =
    "Subject=\"DC=org,DC=cheese,C=FR,C=US,ST=Cheese org state,ST=Cheese com state,L=TOULOUSE,"
    "L=LYON,O=Cheese,O=Cheese 2,OU=Simple Signing Section,OU=Simple Signing Section 2,"
    "CN=*.cheese.com\";"
    "Issuer=\"DC=org,DC=cheese,C=FR,C=US,ST=Signing State,ST=Signing State 2,L=TOULOUSE,L=LYON,"
    "O=Cheese,O=Cheese 2,CN=Simple Signing CA 2\";"
    "SerialNumber=\"1\";NB=\"1544094616\";NA=\"1607166616\";"
    "SAN=\"*.cheese.org,*.cheese.net,*.cheese.com,test@cheese.org,test@cheese.net,10.0.1.0,"
    "10.0.1.2\"";

TEST(ClientCertPem, IsTheSanitizedPemOfEachCertificateJoinedWithComma) {
  struct Case {
    std::string desc;
    std::vector<const char*> pems;
  };
  const std::vector<Case> cases = {
      {"none", {}},
      {"simple certificate", {kMinimalCheese}},
      {"complete certificate", {kCompleteCheese}},
      {"two certificates", {kMinimal, kMinimalCheese}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.desc);
    std::vector<X509Ptr> owned;
    std::vector<X509*> certs;
    std::string expected;
    for (const char* p : c.pems) {
      owned.push_back(parse(p));
      ASSERT_NE(owned.back(), nullptr);
      certs.push_back(owned.back().get());
      expected += (expected.empty() ? "" : ",") + sanitized(p);
    }
    EXPECT_EQ(client_cert_pem(certs), expected);
  }
}

TEST(ClientCertInfo, MatchesTraefiksFormat) {
  config::TlsClientCertificateInfo some;
  some.not_after = true;
  some.sans = true;
  some.subject.emplace().organization = true;
  some.issuer.emplace().country = true;
  config::TlsClientCertificateInfo absent = some;  // OU is not in that certificate
  absent.subject->organizational_unit = true;
  config::TlsClientCertificateInfo empty_subject;
  empty_subject.subject.emplace();

  struct Case {
    std::string desc;
    std::vector<const char*> pems;
    config::TlsClientCertificateInfo info;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"simple certificate, all info", {kMinimalCheese}, all_info(), kMinimalCheeseAllInfo},
      {"simple certificate, some info",
       {kMinimalCheese},
       some,
       "Subject=\"O=Cheese\";Issuer=\"C=FR,C=US\";NA=\"1632568236\""},
      {"requesting non-existent info",
       {kMinimalCheese},
       absent,
       "Subject=\"O=Cheese\";Issuer=\"C=FR,C=US\";NA=\"1632568236\""},
      {"complete certificate, all info", {kCompleteCheese}, all_info(), kCompleteAllInfo},
      {"two certificates, all info",
       {kMinimalCheese, kCompleteCheese},
       all_info(),
       kMinimalCheeseAllInfo + "," + kCompleteAllInfo},
      {"an empty subject selection gives nothing", {kMinimalCheese}, empty_subject, ""},
      {"no certificate", {}, all_info(), ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.desc);
    std::vector<X509Ptr> owned;
    std::vector<X509*> certs;
    for (const char* p : c.pems) {
      owned.push_back(parse(p));
      ASSERT_NE(owned.back(), nullptr);
      certs.push_back(owned.back().get());
    }
    EXPECT_EQ(client_cert_info(certs, c.info), c.expected);
  }
}

// A self-signed certificate with this subjectAltName (OpenSSL's config syntax).
X509Ptr with_sans(const std::string& san) {
  X509Ptr x(X509_new(), X509_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 7);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 3600);
  X509_set_pubkey(x.get(), key.get());
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x.get(), x.get(), nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str());
  if (ext == nullptr) return X509Ptr(nullptr, X509_free);
  X509_add_ext(x.get(), ext, -1);
  X509_EXTENSION_free(ext);
  X509_sign(x.get(), key.get(), EVP_sha256());
  return x;
}

TEST(ClientCertInfo, SansAreGroupedAndIpsPrintedAsGoDoes) {
  struct Case {
    std::string san;
    std::string expected;
  };
  const std::vector<Case> cases = {
      // Traefik's Test_getSANs: DNS names, e-mails, IPs, URIs, whatever the certificate's order.
      {"URI:my.foo.com,DNS:foo,IP:10.0.0.1,email:test@test.com,DNS:bar,email:test2@test.com,"
       "IP:10.0.0.2,URI:my.bar.com",
       "foo,bar,test@test.com,test2@test.com,10.0.0.1,10.0.0.2,my.foo.com,my.bar.com"},
      {"IP:::ffff:1.2.3.4", "1.2.3.4"},
      {"IP:::1", "::1"},
      {"IP:2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},
      {"IP:2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},
      {"IP:fe80:0:0:0:0:0:0:0", "fe80::"},
      {"IP:2001:DB8:0:0:0:0:ABCD:1", "2001:db8::abcd:1"},
  };
  config::TlsClientCertificateInfo info;
  info.sans = true;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.san);
    X509Ptr x = with_sans(c.san);
    ASSERT_NE(x, nullptr);
    EXPECT_EQ(client_cert_info({x.get()}, info), "SAN=\"" + c.expected + "\"");
  }
}

TEST(QueryEscape, IsGosUrlQueryEscape) {
  struct Case {
    std::string in, out;
  };
  const std::vector<Case> cases = {
      {"", ""},
      {"abcXYZ019-_.~", "abcXYZ019-_.~"},
      {"a b", "a+b"},
      {"Subject=\"O=Cheese\";NA=\"1\",x", "Subject%3D%22O%3DCheese%22%3BNA%3D%221%22%2Cx"},
      {"/?#&+@:$*", "%2F%3F%23%26%2B%40%3A%24%2A"},
      {"\xc3\xa9", "%C3%A9"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.in);
    EXPECT_EQ(query_escape(c.in), c.out);
  }
}

}  // namespace
}  // namespace portier::proxy::mw
