// The DNS wire code of DNS-01: queries, decoding (compression, bounds), UPDATE, TSIG; the
// TLS-ALPN-01 certificate; the providers' settings parsing.
#include "acme/dns_wire.h"

#include <gtest/gtest.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include <map>

#include "acme/dns_client.h"
#include "acme/dns_provider.h"
#include "acme/solver.h"

namespace portier::acme {
namespace {

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s += static_cast<char>(c);
  return s;
}

TEST(DnsWire, QueryRoundTrip) {
  auto q = dns::encode_query(0x1234, "Example.COM", dns::kTXT, true);
  auto m = dns::decode(q);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->id, 0x1234);
  EXPECT_EQ(m->flags, 0x0100);
  ASSERT_EQ(m->question.size(), 1u);
  EXPECT_EQ(m->question[0].name, "example.com.");
  EXPECT_EQ(m->question[0].type, dns::kTXT);
  ASSERT_EQ(m->additional.size(), 1u);  // EDNS0
  EXPECT_EQ(m->additional[0].type, dns::kOPT);
}

TEST(DnsWire, DecodesCompressedAnswers) {
  // example.com. TXT query, answered with a compressed owner and a CNAME target pointing back.
  std::string msg = bytes({0, 1, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0});
  msg += bytes({7}) + "example" + bytes({3}) + "com" + bytes({0, 0, 16, 0, 1});
  // answer 1: ptr to 12, TXT, IN, ttl 60, rdata "ab" "cd"
  msg += bytes({0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 60, 0, 6, 2}) + "ab" + bytes({2}) + "cd";
  // answer 2: ptr to 12, CNAME, rdata "x" + ptr to 12
  msg += bytes({0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 4, 1}) + "x" + bytes({0xc0, 12});
  auto m = dns::decode(msg);
  ASSERT_TRUE(m) << m.error().message;
  ASSERT_EQ(m->answer.size(), 2u);
  EXPECT_EQ(m->answer[0].name, "example.com.");
  EXPECT_EQ(m->answer[0].text, "abcd");
  EXPECT_EQ(m->answer[1].text, "x.example.com.");
}

TEST(DnsWire, RejectsMalformedMessages) {
  struct Case {
    std::string name;
    std::string wire;
  };
  std::string header = bytes({0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0});
  std::vector<Case> cases = {
      {"short header", bytes({0, 1, 2})},
      {"pointer loop", header + bytes({0xc0, 12, 0, 1, 0, 1})},
      {"label past the end", header + bytes({9}) + "abc"},
      {"reserved label type", header + bytes({0x80, 1, 0, 0, 1, 0, 1})},
      {"rdata past the end",
       bytes({0, 1, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 16, 0, 1, 0, 0, 0, 1, 0, 9, 1})},
      {"count larger than the message", bytes({0, 1, 0x81, 0x80, 0, 0, 0, 3, 0, 0, 0, 0})},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_FALSE(dns::decode(c.wire));
  }
}

TEST(DnsWire, UpdateAndTsigVerifyEachOther) {
  dns::Record add;
  add.name = "_acme-challenge.a.example.com.";
  add.type = dns::kTXT;
  add.ttl = 120;
  add.rdata = dns::txt_rdata("value");
  auto update = dns::encode_update(7, "example.com", {add});
  auto m = dns::decode(update);
  ASSERT_TRUE(m);
  EXPECT_EQ((m->flags >> 11) & 0xf, 5);  // opcode UPDATE
  EXPECT_EQ(m->question[0].name, "example.com.");
  EXPECT_EQ(m->question[0].type, dns::kSOA);
  ASSERT_EQ(m->authority.size(), 1u);  // the update section
  EXPECT_EQ(m->authority[0].text, "value");

  for (const char* alg : {"hmac-md5", "hmac-sha1.", "hmac-sha256", "HMAC-SHA512."}) {
    SCOPED_TRACE(alg);
    auto canonical = dns::tsig_algorithm(alg);
    ASSERT_TRUE(canonical);
    dns::TsigKey key{"key.", *canonical, "secret bytes"};
    std::string mac;
    auto signed_msg = dns::tsig_sign(update, key, 1700000000, &mac);
    ASSERT_TRUE(signed_msg);
    auto sm = dns::decode(*signed_msg);
    ASSERT_TRUE(sm);
    ASSERT_EQ(sm->additional.size(), 1u);
    EXPECT_EQ(sm->additional[0].type, dns::kTSIG);
    EXPECT_EQ(mac.size(), std::string_view(alg).find("sha512") != std::string_view::npos ||
                                  std::string_view(alg).find("SHA512") != std::string_view::npos
                              ? 64u
                              : mac.size());
    // An empty request MAC verifies a request (named's answers are checked in acme_dns_test).
    EXPECT_TRUE(dns::tsig_verify(*signed_msg, key, "", 1700000010));
    EXPECT_FALSE(dns::tsig_verify(*signed_msg, key, "", 1700009999));  // outside the fudge
    dns::TsigKey wrong = key;
    wrong.secret = "other";
    EXPECT_FALSE(dns::tsig_verify(*signed_msg, wrong, "", 1700000010));
  }
  EXPECT_FALSE(dns::tsig_algorithm("gss-tsig"));
}

TEST(DnsClient, ServerAddresses) {
  EXPECT_EQ(dns::with_port("10.0.0.1"), "10.0.0.1:53");
  EXPECT_EQ(dns::with_port("10.0.0.1:5353"), "10.0.0.1:5353");
  EXPECT_EQ(dns::with_port("::1"), "[::1]:53");
  EXPECT_EQ(dns::with_port("[::1]:54"), "[::1]:54");
  EXPECT_EQ(dns::with_port("ns.example.com"), "ns.example.com:53");
}

TEST(DnsProviders, DurationsAndSettings) {
  EXPECT_EQ(parse_seconds("60"), std::chrono::seconds(60));
  EXPECT_EQ(parse_seconds("0.5"), std::chrono::milliseconds(500));
  EXPECT_EQ(parse_seconds("2m"), std::chrono::minutes(2));
  EXPECT_FALSE(parse_seconds("soon"));
  EXPECT_FALSE(parse_seconds(""));

  dns::Lookup lookup({"127.0.0.1:1"});
  auto env_of = [](std::map<std::string, std::string> vars) -> Env {
    return [vars](std::string_view k) -> std::optional<std::string> {
      auto it = vars.find(std::string(k));
      if (it == vars.end()) return std::nullopt;
      return it->second;
    };
  };
  struct Case {
    std::string provider;
    std::map<std::string, std::string> env;
    std::string error;  // "" when it must be accepted
  };
  std::vector<Case> cases = {
      {"rfc2136", {}, "RFC2136_NAMESERVER is not set"},
      {"rfc2136", {{"RFC2136_NAMESERVER", "127.0.0.1"}}, ""},
      {"dnsupdate", {{"DNSUPDATE_NAMESERVER", "127.0.0.1"}}, ""},
      {"rfc2136",
       {{"RFC2136_NAMESERVER", "127.0.0.1"},
        {"RFC2136_TSIG_KEY", "k"},
        {"RFC2136_TSIG_SECRET", "c2VjcmV0"},
        {"RFC2136_TSIG_ALGORITHM", "gss-tsig."}},
       "is not supported"},
      {"rfc2136",
       {{"RFC2136_NAMESERVER", "x"}, {"RFC2136_POLLING_INTERVAL", "often"}},
       "RFC2136_POLLING_INTERVAL"},
      {"exec", {}, "EXEC_PATH is not set"},
      {"exec", {{"EXEC_PATH", "/nonexistent/script"}}, "is not executable"},
      {"exec", {{"EXEC_PATH", "/bin/true"}}, ""},
      {"httpreq", {}, "HTTPREQ_ENDPOINT is not set"},
      {"httpreq", {{"HTTPREQ_ENDPOINT", "ftp://x"}}, "http:// or https://"},
      {"httpreq", {{"HTTPREQ_ENDPOINT", "https://dns.example.com"}}, ""},
      {"cloudflare", {}, "CF_DNS_API_TOKEN"},
      {"cloudflare", {{"CF_DNS_API_TOKEN", "t"}}, ""},
      {"cloudflare", {{"CLOUDFLARE_EMAIL", "a@b.c"}, {"CLOUDFLARE_API_KEY", "k"}}, ""},
      {"cloudflare", {{"CF_DNS_API_TOKEN", "t"}, {"CLOUDFLARE_TTL", "60"}}, "TTL"},
      {"route53", {}, "supported: cloudflare, exec, httpreq, rfc2136"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.provider + " " + c.error);
    auto p = make_dns_provider(c.provider, env_of(c.env), lookup);
    if (c.error.empty()) {
      EXPECT_TRUE(p) << p.error().message;
    } else {
      ASSERT_FALSE(p);
      EXPECT_NE(p.error().message.find(c.error), std::string::npos) << p.error().message;
    }
  }
}

TEST(TlsAlpn, ChallengeCertificateCarriesTheKeyAuthorizationDigest) {
  auto cert = make_alpn_certificate("a.example.com", "token.thumbprint");
  ASSERT_TRUE(cert);
  X509* x = (*cert)->cert;
  ASSERT_EQ(X509_check_private_key(x, (*cert)->key), 1);
  EXPECT_EQ(X509_check_host(x, "a.example.com", 0, 0, nullptr), 1);
  ASN1_OBJECT* oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
  int idx = X509_get_ext_by_OBJ(x, oid, -1);
  ASN1_OBJECT_free(oid);
  ASSERT_GE(idx, 0);
  X509_EXTENSION* ext = X509_get_ext(x, idx);
  EXPECT_EQ(X509_EXTENSION_get_critical(ext), 1);
  ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(ext);
  ASSERT_EQ(ASN1_STRING_length(data), 34);
  const unsigned char* p = ASN1_STRING_get0_data(data);
  EXPECT_EQ(p[0], 0x04);
  EXPECT_EQ(p[1], 32);
  unsigned char digest[32];
  std::string ka = "token.thumbprint";
  SHA256(reinterpret_cast<const unsigned char*>(ka.data()), ka.size(), digest);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(p + 2), 32),
            std::string(reinterpret_cast<const char*>(digest), 32));
}

}  // namespace
}  // namespace portier::acme
