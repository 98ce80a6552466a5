// tls.options compiled for OpenSSL: Traefik's (Go's) names in, OpenSSL's out, bad values named.
#include "tls/store.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

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
  EXPECT_EQ(d->alpn_wire, std::string("\x08http/1.1"));

  std::vector<Case> bad(4);
  bad[0].in.min_version = "TLS1.2";
  bad[0].error_part = "minVersion";
  bad[1].in.cipher_suites = {"TLS_NOT_A_SUITE"};
  bad[1].error_part = "TLS_NOT_A_SUITE";
  bad[2].in.curve_preferences = {"CurveP999"};
  bad[2].error_part = "CurveP999";
  bad[3].in.client_auth = config::ClientAuth{{}, "RequireAndVerifyClientCert"};
  bad[3].error_part = "clientAuth";
  for (const auto& b : bad) {
    SCOPED_TRACE(b.error_part);
    auto r = compile_options("x", b.in);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find(b.error_part), std::string::npos) << r.error().message;
  }
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
