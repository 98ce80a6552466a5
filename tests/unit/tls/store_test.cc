// tls.options compiled for OpenSSL: Traefik's (Go's) names in, OpenSSL's out, bad values named.
#include "tls/store.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <fstream>

namespace portier::tls {
namespace {

TEST(CompileOptions, TranslatesGoNamesAndRejectsUnknownOnes) {
  struct Case {
    config::TlsOptions in;
    bool ok;
    std::string error_part;  // when !ok
  };
  config::TlsOptions full;
  full.min_version = "VersionTLS13";
  full.max_version = "VersionTLS13";
  full.cipher_suites = {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", "TLS_AES_256_GCM_SHA384"};
  full.curve_preferences = {"CurveP256", "X25519"};
  full.sni_strict = true;
  auto c = compile_options("full", full);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->min_version, TLS1_3_VERSION);
  EXPECT_EQ(c->max_version, TLS1_3_VERSION);
  EXPECT_EQ(c->cipher_list, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305");
  EXPECT_EQ(c->ciphersuites, "TLS_AES_256_GCM_SHA384");
  EXPECT_EQ(c->groups, "P-256:X25519");
  EXPECT_TRUE(c->sni_strict);
  EXPECT_FALSE(c->is_default);

  auto d = compile_options("default", {});
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->is_default);
  EXPECT_EQ(d->min_version, TLS1_2_VERSION);
  EXPECT_EQ(d->alpn_wire, std::string("\x02h2\x08http/1.1"));  // Traefik's default order

  std::vector<Case> bad(3);
  bad[0].in.min_version = "TLS1.2";
  bad[0].error_part = "minVersion";
  bad[1].in.cipher_suites = {"TLS_NOT_A_SUITE"};
  bad[1].error_part = "TLS_NOT_A_SUITE";
  bad[2].in.curve_preferences = {"CurveP999"};
  bad[2].error_part = "CurveP999";
  for (const auto& b : bad) {
    SCOPED_TRACE(b.error_part);
    auto r = compile_options("x", b.in);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find(b.error_part), std::string::npos) << r.error().message;
  }
}

std::string pem_of(X509* x) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_X509(bio.get(), x);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string write_file(const std::string& name, const std::string& content) {
  std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << content;
  return path;
}

// alpnProtocols: HTTPS handshakes offer what portier speaks (h2, http/1.1), a TCP router's
// handshakes every protocol named, in order (its backend speaks them).
TEST(CompileOptions, AlpnForHttpsAndForTcpRouters) {
  config::TlsOptions o;
  o.alpn_protocols = {"mqtt", "h2", "x-proto"};
  auto c = compile_options("mixed", o);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->alpn_wire, std::string("\x02h2"));
  EXPECT_EQ(c->alpn_wire_any, std::string("\x04mqtt\x02h2\x07x-proto"));
  auto d = compile_options("default", {});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->alpn_wire_any, d->alpn_wire);  // h2, http/1.1
}

TEST(CompileOptions, ClientAuthTypesAsGoDefinesThem) {
  const std::string ca1 = pem_of(Certificate::self_signed("client CA 1")->leaf());
  const std::string ca2 = pem_of(Certificate::self_signed("client CA 2")->leaf());
  const std::string ca_file = write_file("client-ca.pem", ca1 + ca2);
  constexpr int kAsk = SSL_VERIFY_PEER;
  constexpr int kRequire = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  struct Case {
    std::string desc;
    config::ClientAuth in;
    int mode;
    bool verify;
    std::size_t ca_names;  // names sent in the CertificateRequest
  };
  const std::vector<Case> cases = {
      {"empty clientAuth", {{}, ""}, SSL_VERIFY_NONE, false, 0},
      {"NoClientCert", {{}, "NoClientCert"}, SSL_VERIFY_NONE, false, 0},
      {"NoClientCert keeps its (checked) CAs unused",
       {{ca1}, "NoClientCert"},
       SSL_VERIFY_NONE,
       false,
       1},
      {"RequestClientCert", {{}, "RequestClientCert"}, kAsk, false, 0},
      {"RequireAnyClientCert", {{}, "RequireAnyClientCert"}, kRequire, false, 0},
      {"RequireAnyClientCert with CAs sends their names",
       {{ca1}, "RequireAnyClientCert"},
       kRequire,
       false,
       1},
      {"caFiles alone mean RequireAndVerifyClientCert", {{ca1}, ""}, kRequire, true, 1},
      {"VerifyClientCertIfGiven", {{ca1}, "VerifyClientCertIfGiven"}, kAsk, true, 1},
      {"RequireAndVerifyClientCert from a file of two and inline PEM",
       {{ca_file, ca2}, "RequireAndVerifyClientCert"},
       kRequire,
       true,
       3},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.desc);
    config::TlsOptions o;
    o.client_auth = c.in;
    auto r = compile_options("mtls", o);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->client_verify_mode, c.mode);
    EXPECT_EQ(r->client_verify_chain, c.verify);
    EXPECT_EQ(r->is_default, c.mode == SSL_VERIFY_NONE);
    EXPECT_EQ(r->client_cas != nullptr, !c.in.ca_files.empty());
    EXPECT_EQ(r->client_ca_names
                  ? static_cast<std::size_t>(sk_X509_NAME_num(r->client_ca_names.get()))
                  : 0u,
              c.ca_names);
    // A session id context exactly when a certificate is asked for (OpenSSL wants one then).
    EXPECT_EQ(r->session_id_context.size(), c.mode == SSL_VERIFY_NONE ? 0u : 32u);
  }
}

TEST(CompileOptions, ClientAuthErrorsNameTheProblem) {
  const std::string not_pem = write_file("not-a-ca.pem", "hello\n");
  struct Case {
    std::string desc;
    config::ClientAuth in;
    std::vector<std::string> parts;
  };
  const std::vector<Case> cases = {
      {"unknown type",
       {{}, "Bogus"},
       {"`Bogus` is unknown", "NoClientCert", "RequestClientCert", "RequireAnyClientCert",
        "VerifyClientCertIfGiven", "RequireAndVerifyClientCert"}},
      {"case matters, as in Traefik", {{}, "requireandverifyclientcert"}, {"is unknown"}},
      {"verify without CAs", {{}, "RequireAndVerifyClientCert"}, {"needs caFiles"}},
      {"verify if given without CAs", {{}, "VerifyClientCertIfGiven"}, {"needs caFiles"}},
      {"missing file", {{"/nonexistent/ca.pem"}, ""}, {"/nonexistent/ca.pem"}},
      {"file without a certificate", {{not_pem}, ""}, {"invalid certificate(s) in", not_pem}},
      {"inline PEM without a certificate",
       {{"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"}, ""},
       {"invalid certificate(s) content"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.desc);
    config::TlsOptions o;
    o.client_auth = c.in;
    auto r = compile_options("mtls", o);
    ASSERT_FALSE(r);
    for (const auto& p : c.parts) {
      EXPECT_NE(r.error().message.find(p), std::string::npos) << r.error().message;
    }
  }
}

TEST(CompileOptions, SessionIdContextChangesWithNameTypeAndCas) {
  const std::string ca1 = pem_of(Certificate::self_signed("client CA 1")->leaf());
  const std::string ca2 = pem_of(Certificate::self_signed("client CA 2")->leaf());
  auto sid = [](const std::string& name, config::ClientAuth ca) {
    config::TlsOptions o;
    o.client_auth = std::move(ca);
    return compile_options(name, o)->session_id_context;
  };
  const std::string base = sid("a", {{ca1}, ""});
  EXPECT_EQ(sid("a", {{ca1}, ""}), base);
  EXPECT_EQ(sid("a", {{ca1}, "RequireAndVerifyClientCert"}), base);
  EXPECT_NE(sid("b", {{ca1}, ""}), base);
  EXPECT_NE(sid("a", {{ca2}, ""}), base);
  EXPECT_NE(sid("a", {{ca1}, "VerifyClientCertIfGiven"}), base);
  EXPECT_NE(sid("a", {{ca1}, "RequireAnyClientCert"}), base);
}

TEST(Store, DefaultCertificateIsGeneratedAndUnnamed) {
  std::vector<StoreError> errors;
  StoreBuilder b;
  auto store = b.build(errors);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(store->find("a.test"), nullptr);
  EXPECT_TRUE(store->default_certificate().names().empty());
  EXPECT_EQ(store->options_for("a.test").name, "default");
}

TEST(Store, BadFilesAreReportedWithTheirIndex) {
  config::Tls tls;
  tls.certificates.push_back({"/nonexistent.crt", "/nonexistent.key", {}});
  tls.certificates.push_back(
      {"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
       "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n",
       {}});
  std::vector<StoreError> errors;
  StoreBuilder b;
  b.tls = &tls;
  auto store = b.build(errors);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].object, "tls.certificates[0]");
  EXPECT_NE(errors[0].message.find("/nonexistent.crt"), std::string::npos);
  EXPECT_EQ(errors[1].object, "tls.certificates[1]");
  EXPECT_EQ(store->size(), 0u);
}

}  // namespace
}  // namespace portier::tls
