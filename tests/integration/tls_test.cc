// TLS termination through the real proxy: certificate selection by SNI, TLS-only and plain-only
// routers on one entrypoint, tls.options, ALPN, session resumption, certificate swaps under an
// open connection, and entrypoint redirections with their exemptions.
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <fstream>

#include "support/certs.h"
#include "support/net.h"
#include "support/process.h"

namespace portier::test {
namespace {

using namespace std::chrono_literals;

std::string get(const std::string& host, const std::string& path) {
  return "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n";
}

// One request on a new TLS connection.
struct TlsExchange {
  TlsInfo info;
  std::optional<Response> response;
};
TlsExchange tls_get(int port, const TlsClientOptions& o, const std::string& host,
                    const std::string& path) {
  Conn c(port);
  TlsExchange ex;
  ex.info = c.start_tls(o);
  if (ex.info.ok && c.send(get(host, path))) ex.response = c.read_response();
  return ex;
}

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    ca_ = make_ca(*dir_, "ca", "portier test CA");
    a_ = make_leaf(*dir_, ca_, "a", {"a.test"});
    wild_ = make_leaf(*dir_, ca_, "wild", {"*.w.test"});
    m_ = make_leaf(*dir_, ca_, "m", {"m.test"});
    whoami_ = new Whoami(start_whoami(*dir_, "tls"));
    portier_ = new Portier(start_portier_static(*dir_, static_yaml(), dynamic(), {"web", "plain"}));
  }
  static void TearDownTestSuite() {
    delete portier_;
    delete whoami_;
    delete dir_;
  }
  static std::string static_yaml() {
    return R"yaml(entryPoints:
  web:
    address: "127.0.0.1:0"
  plain:
    address: "127.0.0.1:0"
    http:
      redirections:
        entryPoint:
          to: web
    forwardedHeaders:
      trustedIPs: ["127.0.0.1"]
providers:
  file:
    filename: dynamic.yml
)yaml";
  }
  static std::string dynamic(const std::string& a_cert = "") {
    return "http:\n  routers:\n"
           "    secure:\n      rule: \"(Host(`a.test`) || Host(`x.w.test`) || Host(`m.test`)) && "
           "PathPrefix(`/s`)\"\n      service: s\n      entryPoints: [web]\n      tls: {}\n"
           "    modern:\n      rule: \"Host(`m.test`) && PathPrefix(`/m`)\"\n      service: s\n"
           "      entryPoints: [web]\n      tls:\n        options: modern\n"
           "    open:\n      rule: \"Host(`a.test`) && PathPrefix(`/p`)\"\n      service: s\n"
           "    stream:\n      rule: \"Host(`y.w.test`)\"\n      service: s\n      tls: {}\n"
           "    legacy:\n      rule: \"Host(`l.test`)\"\n      service: s\n      tls:\n"
           "        options: legacy\n"
           "    broken:\n      rule: \"Host(`b.test`)\"\n      service: s\n      tls:\n"
           "        options: broken\n"
           "  services:\n    s:\n      loadBalancer:\n        servers:\n          - url: \"" +
           whoami_->url() +
           "\"\n"
           "tls:\n  options:\n    modern:\n      minVersion: VersionTLS13\n"
           "    broken:\n      cipherSuites: [TLS_NOT_A_SUITE]\n"
           "    legacy:\n      minVersion: VersionTLS10\n"
           "  certificates:\n"
           "    - certFile: " +
           (a_cert.empty() ? a_.cert.string() : a_cert) + "\n      keyFile: " +
           (a_cert.empty() ? a_.key.string() : a_cert.substr(0, a_cert.size() - 3) + "key") +
           "\n"
           "    - certFile: " +
           wild_.cert.string() + "\n      keyFile: " + wild_.key.string() +
           "\n"
           "    - certFile: " +
           m_.cert.string() + "\n      keyFile: " + m_.key.string() + "\n";
  }
  TlsClientOptions verify(const std::string& sni) { return {sni, ca_.cert.string()}; }
  int web() { return portier_->ports["web"]; }
  int plain() { return portier_->ports["plain"]; }

  static TempDir* dir_;
  static CertFiles ca_, a_, wild_, m_;
  static Whoami* whoami_;
  static Portier* portier_;
};
TempDir* TlsTest::dir_;
CertFiles TlsTest::ca_, TlsTest::a_, TlsTest::wild_, TlsTest::m_;
Whoami* TlsTest::whoami_;
Portier* TlsTest::portier_;

TEST_F(TlsTest, SniPicksExactThenWildcardThenDefault) {
  auto a = tls_get(web(), verify("a.test"), "a.test", "/s");
  ASSERT_TRUE(a.info.ok) << a.info.error;
  EXPECT_TRUE(a.info.verified);
  EXPECT_EQ(a.info.subject_cn, "a.test");
  ASSERT_TRUE(a.response);
  EXPECT_EQ(a.response->status, 200);

  auto w = tls_get(web(), verify("x.w.test"), "x.w.test", "/s");
  ASSERT_TRUE(w.info.ok) << w.info.error;
  EXPECT_TRUE(w.info.verified);
  EXPECT_EQ(w.info.subject_cn, "*.w.test");

  // A wildcard covers one label only; unknown names and no SNI get the generated default.
  for (const std::string sni : {"y.x.w.test", "nobody.test", ""}) {
    SCOPED_TRACE(sni);
    auto d = tls_get(web(), {sni, ""}, "a.test", "/s");
    ASSERT_TRUE(d.info.ok) << d.info.error;
    EXPECT_EQ(d.info.subject_cn, "PORTIER DEFAULT CERT");
    EXPECT_EQ(d.info.issuer_cn, "PORTIER DEFAULT CERT");
  }
  // Verification against our CA fails for the default certificate, as it must.
  auto bad = tls_get(web(), verify("nobody.test"), "nobody.test", "/s");
  EXPECT_FALSE(bad.info.ok);
}

TEST_F(TlsTest, TlsRoutersAnswerOnlyOnTlsAndPlainOnlyOnPlain) {
  auto s = tls_get(web(), verify("a.test"), "a.test", "/s");
  ASSERT_TRUE(s.response);
  EXPECT_EQ(s.response->status, 200);
  // The backend learns the scheme.
  EXPECT_NE(s.response->body.find("X-Forwarded-Proto: https"), std::string::npos)
      << s.response->body;
  auto p_over_tls = tls_get(web(), verify("a.test"), "a.test", "/p");
  ASSERT_TRUE(p_over_tls.response);
  EXPECT_EQ(p_over_tls.response->status, 404);

  // The same entrypoint takes plain HTTP too, where only the router without tls answers.
  auto p = http_get(web(), "a.test", "/p");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->status, 200);
  EXPECT_NE(p->body.find("X-Forwarded-Proto: http"), std::string::npos);
  EXPECT_EQ(p->body.find("X-Forwarded-Proto: https"), std::string::npos);
  auto s_plain = http_get(web(), "a.test", "/s");
  ASSERT_TRUE(s_plain);
  EXPECT_EQ(s_plain->status, 404);
}

TEST_F(TlsTest, OptionsFollowTheRouterThatNamesTheHost) {
  TlsClientOptions tls12 = verify("m.test");
  tls12.max_version = TLS1_2_VERSION;
  auto refused = tls_get(web(), tls12, "m.test", "/m");
  EXPECT_FALSE(refused.info.ok) << "TLS 1.2 accepted for a name whose options say minVersion 1.3";
  auto ok13 = tls_get(web(), verify("m.test"), "m.test", "/m");
  ASSERT_TRUE(ok13.info.ok) << ok13.info.error;
  EXPECT_EQ(ok13.info.version, "TLSv1.3");
  ASSERT_TRUE(ok13.response);
  EXPECT_EQ(ok13.response->status, 200);
  // Other names keep the default options (TLS 1.2 allowed).
  TlsClientOptions a12 = verify("a.test");
  a12.max_version = TLS1_2_VERSION;
  auto ok12 = tls_get(web(), a12, "a.test", "/s");
  ASSERT_TRUE(ok12.info.ok) << ok12.info.error;
  EXPECT_EQ(ok12.info.version, "TLSv1.2");
  // TLS 1.1 is below the default minimum, even for a client that would take it.
  Conn c(web());
  TlsClientOptions old = verify("a.test");
  old.max_version = TLS1_1_VERSION;
  old.min_version = TLS1_VERSION;
  old.security_level = 0;
  EXPECT_FALSE(c.start_tls(old).ok);
  // Options that ask for TLS 1.0 get it (OpenSSL's security level lowered for them only).
  TlsClientOptions l11 = old;
  l11.sni = "l.test";
  l11.ca_file.clear();  // no certificate for l.test: the default one is served
  auto legacy = tls_get(web(), l11, "l.test", "/");
  ASSERT_TRUE(legacy.info.ok) << legacy.info.error;
  EXPECT_EQ(legacy.info.version, "TLSv1.1");
  ASSERT_TRUE(legacy.response);
  EXPECT_EQ(legacy.response->status, 200);
}

TEST_F(TlsTest, OptionsThatCannotBeAppliedDisableTheirRouters) {
  ASSERT_TRUE(portier_->proc->wait_for_log(
      R"re(msg="configuration object disabled".*broken.*(TLS_NOT_A_SUITE))re", 5s))
      << portier_->proc->log();
  // b.test is not served under weaker (default) options: its router does not exist.
  auto ex = tls_get(web(), verify("a.test"), "b.test", "/");
  ASSERT_TRUE(ex.response);
  EXPECT_EQ(ex.response->status, 404);
}

TEST_F(TlsTest, HostWithOtherOptionsThanTheSniGets421) {
  // The handshake was for a.test (default options, TLS 1.2 allowed); m.test demands TLS 1.3.
  TlsClientOptions a12 = verify("a.test");
  a12.max_version = TLS1_2_VERSION;
  auto mis = tls_get(web(), a12, "m.test", "/m");
  ASSERT_TRUE(mis.info.ok) << mis.info.error;
  ASSERT_TRUE(mis.response);
  EXPECT_EQ(mis.response->status, 421);
  // Names under the same options share a connection (a.test and x.w.test: both default).
  auto same = tls_get(web(), verify("a.test"), "x.w.test", "/s");
  ASSERT_TRUE(same.response);
  EXPECT_EQ(same.response->status, 200);
  // And the host itself, with a port and in upper case, is the same name.
  auto self = tls_get(web(), verify("m.test"), "M.TEST:443", "/m");
  ASSERT_TRUE(self.response);
  EXPECT_EQ(self.response->status, 200);
}

TEST_F(TlsTest, AlpnAndSessionResumption) {
  auto ex = tls_get(web(), verify("a.test"), "a.test", "/s");
  ASSERT_TRUE(ex.info.ok);
  EXPECT_EQ(ex.info.alpn, "http/1.1");
  TlsClientOptions other = verify("a.test");
  other.alpn = {"spdy/3.1"};
  auto no_alpn = tls_get(web(), other, "a.test", "/s");
  ASSERT_TRUE(no_alpn.info.ok) << no_alpn.info.error;  // no common protocol: no ALPN, not an error
  EXPECT_EQ(no_alpn.info.alpn, "");
  ASSERT_TRUE(no_alpn.response);  // and HTTP/1.1 is spoken
  EXPECT_EQ(no_alpn.response->status, 200);

  for (int max : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    SCOPED_TRACE(max);
    TlsClientOptions o = verify("a.test");
    o.max_version = max;
    void* session = nullptr;
    {
      Conn c(web());
      ASSERT_TRUE(c.start_tls(o).ok);
      ASSERT_TRUE(c.send(get("a.test", "/s")));
      ASSERT_TRUE(c.read_response());  // TLS 1.3 tickets arrive after the handshake
      session = c.tls_session();
      EXPECT_EQ(SSL_SESSION_is_resumable(static_cast<SSL_SESSION*>(session)), 1) << "in scope";
    }
    ASSERT_NE(session, nullptr);
    ASSERT_EQ(SSL_SESSION_is_resumable(static_cast<SSL_SESSION*>(session)), 1);
    o.session = session;
    Conn c2(web());
    TlsInfo again = c2.start_tls(o);
    SSL_SESSION_free(static_cast<SSL_SESSION*>(session));
    ASSERT_TRUE(again.ok) << again.error;
    EXPECT_TRUE(again.resumed);
    ASSERT_TRUE(c2.send(get("a.test", "/s")));
    auto r = c2.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
}

// The suite a client gets by default is the one Go's crypto/tls (and so Traefik) would choose
// on a server with AES instructions: AES-128-GCM over AES-256-GCM, whatever order the client
// sends them in; ChaCha20-Poly1305 for a client that lists it first (one without AES hardware).
TEST_F(TlsTest, SuitesAreChosenAsGoChoosesThem) {
  auto plain = tls_get(web(), verify("a.test"), "a.test", "/s");
  ASSERT_TRUE(plain.info.ok) << plain.info.error;
  EXPECT_EQ(plain.info.version, "TLSv1.3");
  EXPECT_EQ(plain.info.cipher, "TLS_AES_128_GCM_SHA256");  // OpenSSL's client lists AES-256 first
  ASSERT_TRUE(plain.response);
  EXPECT_EQ(plain.response->status, 200);

  TlsClientOptions chacha = verify("a.test");
  chacha.ciphersuites =
      "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384";
  auto c = tls_get(web(), chacha, "a.test", "/s");
  ASSERT_TRUE(c.info.ok) << c.info.error;
  EXPECT_EQ(c.info.cipher, "TLS_CHACHA20_POLY1305_SHA256");

  TlsClientOptions aes256 = verify("a.test");
  aes256.ciphersuites = "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
  auto a = tls_get(web(), aes256, "a.test", "/s");
  ASSERT_TRUE(a.info.ok) << a.info.error;
  EXPECT_EQ(a.info.cipher, "TLS_AES_256_GCM_SHA384");

  TlsClientOptions chacha12 = verify("a.test");
  chacha12.max_version = TLS1_2_VERSION;
  chacha12.cipher_list =
      "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384:"
      "ECDHE-RSA-AES256-GCM-SHA384";  // OpenSSL's server order puts AES-256-GCM first
  auto c12 = tls_get(web(), chacha12, "a.test", "/s");
  ASSERT_TRUE(c12.info.ok) << c12.info.error;
  EXPECT_EQ(c12.info.version, "TLSv1.2");
  EXPECT_NE(c12.info.cipher.find("CHACHA20"), std::string::npos) << c12.info.cipher;
  ASSERT_TRUE(c12.response);
  EXPECT_EQ(c12.response->status, 200);

  // TLS 1.2 with OpenSSL's client defaults: AES-128-GCM, as Go chooses (OpenSSL's server list
  // starts with AES-256-GCM).
  TlsClientOptions tls12 = verify("a.test");
  tls12.max_version = TLS1_2_VERSION;
  auto d12 = tls_get(web(), tls12, "a.test", "/s");
  ASSERT_TRUE(d12.info.ok) << d12.info.error;
  EXPECT_EQ(d12.info.cipher, "ECDHE-ECDSA-AES128-GCM-SHA256");
  // Go's TLS 1.2 defaults keep the CBC suites with SHA-1 MACs and leave out those with
  // SHA-256/384, which OpenSSL's DEFAULT offers: a client with only those is refused.
  TlsClientOptions cbc = tls12;
  cbc.cipher_list = "ECDHE-ECDSA-AES128-SHA";
  auto sha1 = tls_get(web(), cbc, "a.test", "/s");
  ASSERT_TRUE(sha1.info.ok) << sha1.info.error;
  EXPECT_EQ(sha1.info.cipher, "ECDHE-ECDSA-AES128-SHA");
  cbc.cipher_list = "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA384";
  EXPECT_FALSE(tls_get(web(), cbc, "a.test", "/s").info.ok);
}

TEST_F(TlsTest, ClientCloseNotifyIsAnswered) {
  Conn c(web());
  ASSERT_TRUE(c.start_tls(verify("a.test")).ok);
  ASSERT_TRUE(c.send(get("a.test", "/s")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  // The client closes its side cleanly; portier answers with its own close_notify.
  EXPECT_TRUE(c.tls_close());
}

TEST_F(TlsTest, GarbageAfterTheFirstRecordByteIsDroppedQuietly) {
  Conn c(web(), 3s);
  ASSERT_TRUE(c.send(std::string("\x16\x03\x01\x00\x05hello", 10)));
  EXPECT_TRUE(c.wait_closed(3s));
  auto ok = tls_get(web(), verify("a.test"), "a.test", "/s");
  ASSERT_TRUE(ok.response);
  EXPECT_EQ(ok.response->status, 200);
}

TEST_F(TlsTest, EntrypointRedirectKeepsHostPathAndQueryAndAddsThePort) {
  Conn c(plain());
  ASSERT_TRUE(c.send("GET /p/x?q=1&r=2 HTTP/1.1\r\nHost: a.test:8000\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 301);
  EXPECT_EQ(r->header("location"), "https://a.test:" + std::to_string(web()) + "/p/x?q=1&r=2");
  // Other methods keep their method and body: 308.
  ASSERT_TRUE(c.send("POST /form HTTP/1.1\r\nHost: a.test\r\nContent-Length: 0\r\n\r\n"));
  auto post = c.read_response();
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 308);
  // Behind a trusted TLS-terminating proxy the request is already HTTPS: routed, not redirected.
  // (`open` has no entryPoints, so it is on `plain` too.)
  auto proxied = http_get(plain(), "a.test", "/p", "X-Forwarded-Proto: https\r\n");
  ASSERT_TRUE(proxied);
  EXPECT_EQ(proxied->status, 200);
  // Without a router to fall back to, that is a 404, not a loop.
  auto none = http_get(plain(), "zzz.test", "/", "X-Forwarded-Proto: https\r\n");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 404);
}

TEST_F(TlsTest, NewCertificateReachesNewHandshakesWithoutDroppingOpenConnections) {
  Conn old_conn(web());
  TlsInfo before = old_conn.start_tls(verify("a.test"));
  ASSERT_TRUE(before.ok) << before.error;
  ASSERT_TRUE(old_conn.send(get("a.test", "/s")));
  ASSERT_TRUE(old_conn.read_response());

  CertFiles next = make_leaf(*dir_, ca_, "a2", {"a.test"});
  dir_->write("dynamic.yml", dynamic(next.cert.string()));
  std::string serial;
  ASSERT_TRUE(poll_until(
      [&] {
        auto ex = tls_get(web(), verify("a.test"), "a.test", "/s");
        serial = ex.info.serial;
        return ex.info.ok && serial != before.serial;
      },
      10s))
      << "the new certificate was never served";
  // The connection opened before the swap still works.
  ASSERT_TRUE(old_conn.send(get("a.test", "/s")));
  auto r = old_conn.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  dir_->write("dynamic.yml", dynamic());
}

TEST_F(TlsTest, BodiesStreamAndWebSocketsTunnelOverTls) {
  Conn c(web());
  ASSERT_TRUE(c.start_tls(verify("y.w.test")).ok);
  // A large download (Content-Length) and a chunked one, then a chunked upload echoed back.
  ASSERT_TRUE(c.send(get("y.w.test", "/data?size=3000000")));
  auto big = c.read_response();
  ASSERT_TRUE(big);
  EXPECT_EQ(big->body.size(), 3000000u);
  ASSERT_TRUE(c.send(get("y.w.test", "/data?size=200000&chunked=1")));
  auto chunked = c.read_response();
  ASSERT_TRUE(chunked);
  EXPECT_EQ(chunked->body.size(), 200000u);
  std::string payload(1 << 20, 'x');
  std::string req = "POST /echo HTTP/1.1\r\nHost: y.w.test\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (std::size_t off = 0; off < payload.size(); off += 65536) {
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", std::min<std::size_t>(65536, payload.size() - off));
    req += size + payload.substr(off, 65536) + "\r\n";
  }
  req += "0\r\n\r\n";
  ASSERT_TRUE(c.send(req));
  auto echo = c.read_response();
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->status, 200);
  EXPECT_EQ(echo->body, payload);

  // An Upgrade becomes a tunnel through TLS.
  Conn ws(web());
  ASSERT_TRUE(ws.start_tls(verify("y.w.test")).ok);
  ASSERT_TRUE(
      ws.send("GET /ws HTTP/1.1\r\nHost: y.w.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"));
  auto up = ws.read_response(true);
  ASSERT_TRUE(up);
  ASSERT_EQ(up->status, 101);
  const std::string msg = "over tls";
  std::string frame = {static_cast<char>(0x81), static_cast<char>(0x80 | msg.size()), 1, 2, 3, 4};
  for (std::size_t i = 0; i < msg.size(); ++i) frame.push_back(msg[i] ^ (i % 4 + 1));
  ASSERT_TRUE(ws.send(frame));
  auto back = ws.read_bytes(2 + msg.size());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->substr(2), msg);
}

// sniStrict in the default options: no certificate for the name, no handshake.
TEST(TlsStrictTest, SniStrictRefusesUnknownNames) {
  TempDir dir;
  CertFiles ca = make_ca(dir, "ca", "strict CA");
  CertFiles a = make_leaf(dir, ca, "a", {"a.test"});
  Whoami w = start_whoami(dir, "strict");
  Portier p = start_portier(
      dir,
      "http:\n  routers:\n    r:\n      rule: \"Host(`a.test`)\"\n      service: s\n"
      "      tls: {}\n  services:\n    s:\n      loadBalancer:\n        servers:\n"
      "          - url: \"" +
          w.url() + "\"\ntls:\n  options:\n    default:\n" +
          "      sniStrict: true\n  certificates:\n    - certFile: " + a.cert.string() +
          "\n      keyFile: " + a.key.string() + "\n");
  {
    Conn c(p.port);
    TlsInfo ok = c.start_tls({"a.test", ca.cert.string()});
    EXPECT_TRUE(ok.ok) << ok.error;
  }
  for (const std::string sni : {"other.test", ""}) {
    SCOPED_TRACE(sni);
    Conn c(p.port);
    EXPECT_FALSE(c.start_tls({sni, ""}).ok);
  }
}

// With an ACME resolver configured, challenge paths are answered on plain entrypoints before
// the redirect (an unknown token is a 404), and the redirect still covers everything else.
TEST(TlsChallengeTest, ChallengePathsAreExemptFromTheRedirect) {
  TempDir dir;
  Whoami w = start_whoami(dir, "acme");
  Portier p = start_portier_static(dir, R"yaml(entryPoints:
  web:
    address: "127.0.0.1:0"
    http:
      redirections:
        entryPoint:
          to: ":443"
          permanent: false
  websecure:
    address: "127.0.0.1:0"
certificatesResolvers:
  le:
    acme:
      email: ops@example.com
      storage: acme.json
      caServer: https://127.0.0.1:1/dir
      httpChallenge:
        entryPoint: web
providers:
  file:
    filename: dynamic.yml
)yaml",
                                   route_to(w.url(), "a.test"), {"web", "websecure"});
  auto challenge = http_get(p.port, "a.test", "/.well-known/acme-challenge/unknown-token");
  ASSERT_TRUE(challenge);
  EXPECT_EQ(challenge->status, 404);
  auto other = http_get(p.port, "a.test", "/page");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 302);                                // permanent: false
  EXPECT_EQ(other->header("location"), "https://a.test/page");  // :443 is https's default
}

}  // namespace
}  // namespace portier::test
