// Mutual TLS through the real proxy: tls.options clientAuth (RequireAndVerifyClientCert and
// VerifyClientCertIfGiven with caFiles), passTLSClientCert's fields as whoami receives them, a
// client's own values of those fields dropped, routers with clientAuth unreachable through a
// handshake made under other options (no SNI, another name), and session resumption that keeps
// the client certificate but never skips its verification.
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <fstream>
#include <sstream>

#include "support/certs.h"
#include "support/net.h"
#include "support/process.h"

namespace portier::test {
namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The PEM's certificates without BEGIN/END lines and newlines, joined with ',' (Traefik's
// X-Forwarded-Tls-Client-Cert).
std::string sanitized(const std::string& pem) {
  std::string out;
  std::istringstream in(pem);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("-----BEGIN", 0) == 0) {
      if (!out.empty()) out += ',';
      continue;
    }
    if (line.rfind("-----END", 0) == 0) continue;
    out += line;
  }
  return out;
}

std::int64_t not_after(const std::filesystem::path& cert) {
  FILE* f = std::fopen(cert.c_str(), "r");
  X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  std::tm tm{};
  ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm);
  X509_free(x);
  return timegm(&tm);
}

// `host` may end with a path ("open.test/admin").
std::string request(const std::string& host, const std::string& extra = "") {
  std::size_t slash = host.find('/');
  std::string path = slash == std::string::npos ? "/" : host.substr(slash);
  return "GET " + path + " HTTP/1.1\r\nHost: " + host.substr(0, slash) + "\r\n" + extra + "\r\n";
}

struct Exchange {
  TlsInfo info;
  std::optional<Response> response;
  void* session = nullptr;  // SSL_SESSION*, when asked for (the caller frees it)
  bool failed() const { return !info.ok || !response; }
};

// One request on a new TLS connection. With TLS 1.3 a refused client certificate shows after
// the client's side of the handshake is done: the server's alert ends the first read instead.
Exchange exchange(int port, const TlsClientOptions& o, const std::string& host,
                  const std::string& extra = "", bool keep_session = false) {
  Conn c(port);
  Exchange ex;
  ex.info = c.start_tls(o);
  if (ex.info.ok && c.send(request(host, extra))) ex.response = c.read_response();
  if (keep_session && ex.response) ex.session = c.tls_session();
  return ex;
}

std::string body_field(const std::string& body, const std::string& name) {
  std::size_t p = body.find("\n" + name + ": ");
  if (p == std::string::npos) return "<absent>";
  p += name.size() + 3;
  return body.substr(p, body.find('\n', p) - p);
}

class MtlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    server_ca_ = make_ca(*dir_, "server-ca", "server CA");
    server_ = make_leaf(*dir_, server_ca_, "server", {"mtls.test", "opt.test", "open.test"});
    client_ca_ = make_ca(*dir_, "client-ca", "client CA");
    other_ca_ = make_ca(*dir_, "other-ca", "other CA");
    alice_ = make_client(*dir_, client_ca_, "alice", "/C=FR/O=Cheese/OU=Dev/CN=alice",
                         "DNS:alice.test,email:alice@example.test,IP:10.0.0.1");
    mallory_ = make_client(*dir_, other_ca_, "mallory", "/CN=mallory");
    // Alice's certificate followed by her CA's: the chain a client may send.
    alice_chain_ =
        dir_->write("alice-chain.crt", read_file(alice_.cert) + read_file(client_ca_.cert));
    whoami_ = new Whoami(start_whoami(*dir_, "mtls"));
    portier_ = new Portier(start_portier_static(*dir_, static_yaml(), dynamic(), {"web"}));
  }
  static void TearDownTestSuite() {
    delete portier_;
    delete whoami_;
    delete dir_;
  }
  static std::string static_yaml() {
    // The loopback peer is trusted, so its X-Forwarded-* would pass: only passTLSClientCert
    // keeps a client's X-Forwarded-Tls-Client-Cert out.
    return "entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\n    forwardedHeaders:\n"
           "      trustedIPs: [\"127.0.0.1\"]\n"
           "providers:\n  file:\n    filename: dynamic.yml\n";
  }
  static std::string dynamic() {
    return "http:\n  routers:\n"
           "    mtls:\n      rule: \"Host(`mtls.test`)\"\n      service: s\n"
           "      middlewares: [pass]\n      tls:\n        options: mtls\n"
           "    optional:\n      rule: \"Host(`opt.test`)\"\n      service: s\n"
           "      middlewares: [pass]\n      tls:\n        options: optional\n"
           "    open:\n      rule: \"Host(`open.test`)\"\n      service: s\n"
           "      middlewares: [pass]\n      tls: {}\n"
           // No Host: its options apply to no name, so no handshake is made under them.
           "    admin:\n      rule: \"PathPrefix(`/admin`)\"\n      service: s\n"
           "      tls:\n        options: mtls\n"
           "  middlewares:\n    pass:\n      passTLSClientCert:\n        pem: true\n"
           "        info:\n          notAfter: true\n          sans: true\n"
           "          subject:\n            country: true\n            organization: true\n"
           "            commonName: true\n          issuer:\n            commonName: true\n"
           "  services:\n    s:\n      loadBalancer:\n        servers:\n          - url: \"" +
           whoami_->url() +
           "\"\n"
           "tls:\n  options:\n"
           "    mtls:\n      clientAuth:\n        caFiles: [" +
           client_ca_.cert.string() +
           "]\n        clientAuthType: RequireAndVerifyClientCert\n"
           "    optional:\n      clientAuth:\n        caFiles: [" +
           client_ca_.cert.string() +
           "]\n        clientAuthType: VerifyClientCertIfGiven\n"
           "  certificates:\n    - certFile: " +
           server_.cert.string() + "\n      keyFile: " + server_.key.string() + "\n";
  }
  static TlsClientOptions as(const std::string& sni, const CertFiles* client,
                             const std::filesystem::path& chain = {}) {
    TlsClientOptions o{sni, server_ca_.cert.string()};
    if (client != nullptr) {
      o.cert_file = chain.empty() ? client->cert.string() : chain.string();
      o.key_file = client->key.string();
    }
    return o;
  }
  int web() { return portier_->port; }

  static TempDir* dir_;
  static CertFiles server_ca_, server_, client_ca_, other_ca_, alice_, mallory_;
  static std::filesystem::path alice_chain_;
  static Whoami* whoami_;
  static Portier* portier_;
};
TempDir* MtlsTest::dir_;
CertFiles MtlsTest::server_ca_, MtlsTest::server_, MtlsTest::client_ca_, MtlsTest::other_ca_,
    MtlsTest::alice_, MtlsTest::mallory_;
std::filesystem::path MtlsTest::alice_chain_;
Whoami* MtlsTest::whoami_;
Portier* MtlsTest::portier_;

TEST_F(MtlsTest, RequireAndVerifyRefusesNoCertificateAndOtherCas) {
  for (int max : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    SCOPED_TRACE(max);
    TlsClientOptions none = as("mtls.test", nullptr);
    none.max_version = max;
    EXPECT_TRUE(exchange(web(), none, "mtls.test").failed());
    TlsClientOptions other = as("mtls.test", &mallory_);
    other.max_version = max;
    EXPECT_TRUE(exchange(web(), other, "mtls.test").failed());
    TlsClientOptions alice = as("mtls.test", &alice_);
    alice.max_version = max;
    auto ok = exchange(web(), alice, "mtls.test");
    ASSERT_FALSE(ok.failed()) << ok.info.error;
    EXPECT_EQ(ok.response->status, 200);
  }
}

TEST_F(MtlsTest, ServerGetsTheCertificateAndItsDetailsNeverTheClientsOwnValues) {
  auto r = exchange(web(), as("mtls.test", &alice_), "mtls.test",
                    "X-Forwarded-Tls-Client-Cert: forged\r\n"
                    "X-Forwarded-Tls-Client-Cert-Info: forged\r\n");
  ASSERT_FALSE(r.failed()) << r.info.error;
  ASSERT_EQ(r.response->status, 200);
  const std::string& body = r.response->body;
  EXPECT_EQ(body.find("forged"), std::string::npos) << body;
  EXPECT_EQ(body_field(body, "X-Forwarded-Tls-Client-Cert"), sanitized(read_file(alice_.cert)));
  // Subject="C=FR,O=Cheese,CN=alice";Issuer="CN=client CA";NA="...";SAN="..." url-escaped.
  EXPECT_EQ(body_field(body, "X-Forwarded-Tls-Client-Cert-Info"),
            "Subject%3D%22C%3DFR%2CO%3DCheese%2CCN%3Dalice%22%3BIssuer%3D%22CN%3Dclient+CA%22%3B"
            "NA%3D%22" +
                std::to_string(not_after(alice_.cert)) +
                "%22%3BSAN%3D%22alice.test%2Calice%40example.test%2C10.0.0.1%22");
}

TEST_F(MtlsTest, TheChainTheClientSentIsPassedLeafFirst) {
  auto r = exchange(web(), as("mtls.test", &alice_, alice_chain_), "mtls.test");
  ASSERT_FALSE(r.failed()) << r.info.error;
  ASSERT_EQ(r.response->status, 200);
  const std::string pem = body_field(r.response->body, "X-Forwarded-Tls-Client-Cert");
  EXPECT_EQ(pem, sanitized(read_file(alice_.cert)) + "," + sanitized(read_file(client_ca_.cert)));
  // Two certificates: two Info entries, the CA's own one (no SAN) after a ','.
  const std::string info = body_field(r.response->body, "X-Forwarded-Tls-Client-Cert-Info");
  EXPECT_NE(info.find("%22%2CSubject%3D%22CN%3Dclient+CA%22%3BIssuer%3D%22CN%3Dclient+CA%22"),
            std::string::npos)
      << info;
}

TEST_F(MtlsTest, VerifyIfGivenTakesNoCertificateButRefusesABadOne) {
  auto none = exchange(web(), as("opt.test", nullptr), "opt.test",
                       "X-Forwarded-Tls-Client-Cert: forged\r\n");
  ASSERT_FALSE(none.failed()) << none.info.error;
  EXPECT_EQ(none.response->status, 200);
  EXPECT_EQ(body_field(none.response->body, "X-Forwarded-Tls-Client-Cert"), "<absent>");
  EXPECT_EQ(body_field(none.response->body, "X-Forwarded-Tls-Client-Cert-Info"), "<absent>");

  auto alice = exchange(web(), as("opt.test", &alice_), "opt.test");
  ASSERT_FALSE(alice.failed()) << alice.info.error;
  EXPECT_EQ(body_field(alice.response->body, "X-Forwarded-Tls-Client-Cert"),
            sanitized(read_file(alice_.cert)));

  EXPECT_TRUE(exchange(web(), as("opt.test", &mallory_), "opt.test").failed());

  // Without clientAuth no certificate is asked for, so none is passed on.
  auto open = exchange(web(), as("open.test", &alice_), "open.test");
  ASSERT_FALSE(open.failed()) << open.info.error;
  EXPECT_EQ(body_field(open.response->body, "X-Forwarded-Tls-Client-Cert"), "<absent>");
}

TEST_F(MtlsTest, ARouterWithClientAuthIsNotReachedThroughAnotherHandshake) {
  // Another name's handshake (no certificate asked), or none at all (no SNI: the defaults).
  for (const std::string sni : {"open.test", ""}) {
    SCOPED_TRACE(sni);
    TlsClientOptions o{sni, ""};
    auto r = exchange(web(), o, "mtls.test");
    ASSERT_FALSE(r.failed()) << r.info.error;
    EXPECT_EQ(r.response->status, 421);
    EXPECT_EQ(body_field(r.response->body, "X-Forwarded-Tls-Client-Cert"), "<absent>");
  }
  // A router without a Host rule but with clientAuth options: no handshake is made under them
  // (they belong to no name), so it answers 421 rather than serve without a certificate.
  auto admin = exchange(web(), TlsClientOptions{"open.test", ""}, "open.test/admin");
  ASSERT_FALSE(admin.failed()) << admin.info.error;
  EXPECT_EQ(admin.response->status, 421);
  // A verified handshake for opt.test does not open mtls.test either: other options.
  auto r = exchange(web(), as("opt.test", &alice_), "mtls.test");
  ASSERT_FALSE(r.failed()) << r.info.error;
  EXPECT_EQ(r.response->status, 421);
}

TEST_F(MtlsTest, ResumptionKeepsTheCertificateAndNeverSkipsVerification) {
  for (int max : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    SCOPED_TRACE(max);
    TlsClientOptions alice = as("mtls.test", &alice_, alice_chain_);
    alice.max_version = max;
    auto first = exchange(web(), alice, "mtls.test", "", true);
    ASSERT_FALSE(first.failed()) << first.info.error;
    ASSERT_NE(first.session, nullptr);
    TlsClientOptions again = as("mtls.test", nullptr);  // no certificate this time
    again.max_version = max;
    again.session = first.session;
    auto resumed = exchange(web(), again, "mtls.test");
    SSL_SESSION_free(static_cast<SSL_SESSION*>(first.session));
    ASSERT_FALSE(resumed.failed()) << resumed.info.error;
    EXPECT_TRUE(resumed.info.resumed);
    EXPECT_EQ(resumed.response->status, 200);
    // The whole chain, not only the leaf, survives resumption.
    EXPECT_EQ(body_field(resumed.response->body, "X-Forwarded-Tls-Client-Cert"),
              sanitized(read_file(alice_.cert)) + "," + sanitized(read_file(client_ca_.cert)));

    // A session made where no certificate was asked for does not open mtls.test.
    TlsClientOptions open = as("open.test", nullptr);
    open.max_version = max;
    auto lax = exchange(web(), open, "open.test", "", true);
    ASSERT_FALSE(lax.failed()) << lax.info.error;
    ASSERT_NE(lax.session, nullptr);
    again.session = lax.session;
    auto sneak = exchange(web(), again, "mtls.test");
    SSL_SESSION_free(static_cast<SSL_SESSION*>(lax.session));
    EXPECT_FALSE(sneak.info.resumed);
    EXPECT_TRUE(sneak.failed());
  }
}

}  // namespace
}  // namespace portier::test
