// Servers over TLS through a real portier: https:// server URLs verified against a
// serversTransport's rootCAs (and refused against the system's bundle), insecureSkipVerify,
// serverName as the SNI the server sees, client certificates for mutual TLS, peerCertURI, one
// pooled TLS connection for a run of keep-alive requests and session resumption when a new one
// is dialled, WebSocket over a TLS server, health checks over TLS, and a broken transport shown
// in the API. The servers are whoami in its --tls-cert mode, which reports the SNI, resumption
// and client certificate of the connection it answers on.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <stdlib.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "support/certs.h"
#include "support/net.h"
#include "support/process.h"

namespace portier::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

class UpstreamTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    ca_ = make_ca(*dir_, "backend-ca", "backend CA");
    leaf_ = make_leaf(*dir_, ca_, "backend", {"backend.test", "alt.test", "127.0.0.1"});
    client_ca_ = make_ca(*dir_, "client-ca", "client CA");
    client_ = make_client(*dir_, client_ca_, "portier-client", "/O=portier/CN=portier-client",
                          "URI:spiffe://test/portier");
    tls_ = new Whoami(start_whoami(
        *dir_, "tls", {"--tls-cert", leaf_.cert.string(), "--tls-key", leaf_.key.string()}));
    mtls_ = new Whoami(start_whoami(*dir_, "mtls",
                                    {"--tls-cert", leaf_.cert.string(), "--tls-key",
                                     leaf_.key.string(), "--client-ca", client_ca_.cert.string()}));
    portier_ =
        new Portier(start_portier(*dir_, dynamic(), "  traefik:\n    address: \"127.0.0.1:0\"\n",
                                  "api:\n  insecure: true\n", 1));
    auto api = portier_->proc->wait_for_log(
        "api listening\" entrypoint=traefik address=127\\.0\\.0\\.1:([0-9]+)", 5s);
    if (!api) throw std::runtime_error("no api: " + portier_->proc->log());
    api_port_ = std::stoi(*api);
  }
  static void TearDownTestSuite() {
    delete portier_;
    delete mtls_;
    delete tls_;
    delete dir_;
  }
  static std::string https(const Whoami& w) {
    return "https://127.0.0.1:" + std::to_string(w.port);
  }
  static std::string router(const std::string& name) {
    return "    " + name + ":\n      rule: \"Host(`" + name + ".test`)\"\n      service: " + name +
           "\n";
  }
  static std::string service(const std::string& name, const std::string& url,
                             const std::string& transport, const std::string& extra = "") {
    return "    " + name + ":\n      loadBalancer:\n" +
           (transport.empty() ? "" : "        serversTransport: " + transport + "\n") + extra +
           "        servers:\n          - url: \"" + url + "\"\n";
  }
  static std::string dynamic() {
    const std::string ca = ca_.cert.string();
    std::string routers, services;
    auto add = [&](const std::string& name, const std::string& url, const std::string& transport,
                   const std::string& extra = "") {
      routers += router(name);
      services += service(name, url, transport, extra);
    };
    add("trusted", https(*tls_), "trusted");
    add("system", https(*tls_), "");  // the system's CA bundle does not know the test CA
    add("insecure", https(*tls_), "insecure");
    add("named", https(*tls_), "named");
    add("mutual", https(*mtls_), "mutual");
    add("nocert", https(*mtls_), "trusted");
    add("uriok", https(*tls_), "uriok");
    add("uribad", https(*tls_), "uribad");
    add("broken", https(*tls_), "broken");
    add("missing", https(*tls_), "nosuch");
    add("checked", https(*tls_), "trusted",
        "        healthCheck:\n          path: /health\n          interval: 200ms\n"
        "          timeout: 1s\n");
    add("uncheckable", https(*tls_), "",
        "        healthCheck:\n          path: /health\n          interval: 200ms\n"
        "          timeout: 1s\n");
    // Sub-requests and copies to TLS servers: the errors middleware's page comes from an
    // https:// service; a mirroring service copies to one (the mutual-TLS whoami).
    routers +=
        "    errpage:\n      rule: \"Host(`errpage.test`)\"\n      service: trusted\n"
        "      middlewares: [pages]\n"
        "    mirrored:\n      rule: \"Host(`mirrored.test`)\"\n      service: mirrored\n";
    services +=
        "    mirrored:\n      mirroring:\n        service: trusted\n"
        "        mirrors:\n          - name: mutual\n            percent: 100\n";
    return "http:\n  routers:\n" + routers + "  services:\n" + services +
           "  middlewares:\n    pages:\n      errors:\n        status: [\"500-599\"]\n"
           "        service: named\n        query: /page\n" +
           "  serversTransports:\n"
           "    trusted:\n      rootCAs: [\"" +
           ca +
           "\"]\n"
           "    insecure:\n      insecureSkipVerify: true\n"
           "    named:\n      rootCAs: [\"" +
           ca +
           "\"]\n      serverName: alt.test\n"
           "      disableHTTP2: true\n"
           "      forwardingTimeouts:\n        dialTimeout: 5s\n"
           "        responseHeaderTimeout: 10s\n        idleConnTimeout: 30s\n"
           "    mutual:\n      rootCAs: [\"" +
           ca +
           "\"]\n      certificates:\n"
           "        - certFile: " +
           client_.cert.string() + "\n          keyFile: " + client_.key.string() +
           "\n"
           // whoami's certificate has DNS SANs and no URI SAN.
           "    uriok:\n      rootCAs: [\"" +
           ca +
           "\"]\n      peerCertSANs:\n"
           "        - type: DNSName\n          value: alt.test\n"
           "    uribad:\n      rootCAs: [\"" +
           ca +
           "\"]\n"
           "      peerCertURI: spiffe://test/backend\n"
           "    broken:\n      rootCAs: [\"" +
           (dir_->path() / "no-such-ca.pem").string() + "\"]\n";
  }
  static std::optional<Response> get(const std::string& host, const std::string& path = "/") {
    return http_get(portier_->port, host, path);
  }
  static json api(const std::string& path) {
    auto r = http_get(api_port_, "x", path);
    if (!r) return {};
    return json::parse(r->body, nullptr, false);
  }

  static TempDir* dir_;
  static CertFiles ca_, leaf_, client_ca_, client_;
  static Whoami* tls_;
  static Whoami* mtls_;
  static Portier* portier_;
  static int api_port_;
};
TempDir* UpstreamTlsTest::dir_;
CertFiles UpstreamTlsTest::ca_, UpstreamTlsTest::leaf_, UpstreamTlsTest::client_ca_,
    UpstreamTlsTest::client_;
Whoami* UpstreamTlsTest::tls_;
Whoami* UpstreamTlsTest::mtls_;
Portier* UpstreamTlsTest::portier_;
int UpstreamTlsTest::api_port_;

TEST_F(UpstreamTlsTest, HttpsServerVerifiedWithRootCAs) {
  auto r = get("trusted.test");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body << portier_->proc->log();
  // An IP literal in the URL: no SNI (as Go), the certificate's IP SAN is what is checked.
  EXPECT_EQ(r->header("x-whoami-tls-sni"), "-");
  EXPECT_NE(r->body.find("TLS: TLSv1.3"), std::string::npos) << r->body;
}

TEST_F(UpstreamTlsTest, UntrustedServerIs502AndInsecureSkipVerifyReachesIt) {
  auto r = get("system.test");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
  EXPECT_TRUE(portier_->proc->wait_for_log(
      "upstream TLS handshake failed.*service=system@file.*certificate verify failed", 5s))
      << portier_->proc->log();
  auto ok = get("insecure.test");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

TEST_F(UpstreamTlsTest, ServerNameIsTheSniTheServerSees) {
  auto r = get("named.test");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->header("x-whoami-tls-sni"), "alt.test");
}

TEST_F(UpstreamTlsTest, ClientCertificateForMutualTls) {
  auto r = get("mutual.test");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_NE(r->header("x-whoami-client-cert").find("CN=portier-client"), std::string::npos)
      << r->header("x-whoami-client-cert");
  // The same server through a transport without certificates: the server refuses it.
  auto refused = get("nocert.test");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 502);
}

TEST_F(UpstreamTlsTest, PeerSansMustBeInTheServerCertificate) {
  auto ok = get("uriok.test");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  auto bad = get("uribad.test");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 502);
  EXPECT_TRUE(portier_->proc->wait_for_log(
      "upstream TLS handshake failed.*service=uribad@file.*peerCertURI", 5s));
}

TEST_F(UpstreamTlsTest, KeepAliveRequestsShareOneTlsConnectionAndNewOnesResume) {
  Conn c(portier_->port);
  std::string first_conn;
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: named.test\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200);
    if (i == 0) first_conn = r->header("x-whoami-conn");
    EXPECT_EQ(r->header("x-whoami-conn"), first_conn) << "request " << i;
  }
  // The server closes after this answer (no framing): the next request dials again and
  // resumes the session the pool kept.
  ASSERT_TRUE(c.send("GET /data?size=10&close=1 HTTP/1.1\r\nHost: named.test\r\n\r\n"));
  auto closing = c.read_response();
  ASSERT_TRUE(closing);
  Conn c2(portier_->port);
  ASSERT_TRUE(c2.send("GET / HTTP/1.1\r\nHost: named.test\r\n\r\n"));
  auto r = c2.read_response();
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  EXPECT_NE(r->header("x-whoami-conn"), first_conn);
  EXPECT_EQ(r->header("x-whoami-tls-resumed"), "yes");
}

TEST_F(UpstreamTlsTest, WebSocketThroughATlsServer) {
  Conn c(portier_->port);
  c.send(
      "GET /ws HTTP/1.1\r\nHost: trusted.test\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "Sec-WebSocket-Version: 13\r\n\r\n");
  auto r = c.read_response(true);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 101);
  const std::string msg = "over tls";
  std::string f;
  f.push_back(static_cast<char>(0x81));
  f.push_back(static_cast<char>(0x80 | msg.size()));
  const char mask[4] = {0x11, 0x22, 0x33, 0x44};
  f.append(mask, 4);
  for (std::size_t i = 0; i < msg.size(); ++i) f.push_back(msg[i] ^ mask[i % 4]);
  ASSERT_TRUE(c.send(f));
  std::string got;
  char buf[256];
  while (got.size() < 2 + msg.size()) {
    ssize_t n = ::recv(c.fd(), buf, sizeof buf, 0);
    ASSERT_GT(n, 0);
    got.append(buf, static_cast<std::size_t>(n));
  }
  EXPECT_EQ(got.substr(2), msg);
}

TEST_F(UpstreamTlsTest, HealthChecksSpeakTls) {
  const std::string url = https(*tls_);
  auto status = [&](const std::string& svc) {
    json j = api("/api/http/services/" + svc);
    return j.is_object() && j.contains("serverStatus") && j["serverStatus"].contains(url)
               ? j["serverStatus"][url].get<std::string>()
               : std::string();
  };
  EXPECT_TRUE(poll_until([&] { return status("checked@file") == "UP"; }, 5s))
      << status("checked@file");
  // Verified against the system's bundle, the check fails the handshake: the server is down.
  EXPECT_TRUE(poll_until([&] { return status("uncheckable@file") == "DOWN"; }, 5s))
      << status("uncheckable@file");
  EXPECT_TRUE(portier_->proc->wait_for_log(
      "server unhealthy.*service=uncheckable@file.*TLS handshake: certificate verify failed", 5s));
}

TEST_F(UpstreamTlsTest, ErrorPagesAndMirrorsReachTlsServers) {
  auto r = get("errpage.test", "/status?code=503");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  // The page is the named transport's whoami dump: over TLS, with its SNI.
  EXPECT_NE(r->body.find("GET /page HTTP/1.1"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("sni=alt.test"), std::string::npos) << r->body;

  // The mutual-TLS whoami's request count, read through portier (it speaks only TLS).
  auto mtls_requests = [] {
    auto s = get("mutual.test", "/stats");
    if (!s || s->status != 200) return -1L;
    json j = json::parse(s->body, nullptr, false);
    return j.is_object() ? j["requests"].get<long>() : -1L;
  };
  const long before = mtls_requests();
  ASSERT_GE(before, 1);
  auto m = get("mirrored.test", "/mirrored");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 200);
  long polls = 0;
  EXPECT_TRUE(poll_until(
      [&] {
        ++polls;
        return mtls_requests() >= before + 1 + polls;  // each /stats call counts itself
      },
      5s))
      << portier_->proc->log();
}

TEST_F(UpstreamTlsTest, BrokenOrMissingTransportDisablesItsServicesInTheApi) {
  json broken = api("/api/http/services/broken@file");
  ASSERT_TRUE(broken.is_object());
  EXPECT_EQ(broken["status"], "disabled");
  ASSERT_TRUE(broken["error"].is_array());
  EXPECT_NE(broken["error"][0].get<std::string>().find("serversTransport `broken@file`: rootCAs"),
            std::string::npos)
      << broken.dump();
  json missing = api("/api/http/services/missing@file");
  EXPECT_NE(missing["error"][0].get<std::string>().find("`nosuch@file` does not exist"),
            std::string::npos)
      << missing.dump();
  auto r = get("broken.test");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);  // its router is disabled with its service
}

// The static serversTransport: its rootCAs (here as a flag) verify servers of services naming
// no transport; a file reload that changes a named transport applies to new connections at
// once (its servers get fresh pools); an unreadable static rootCAs stops portier at start-up.
TEST(UpstreamTlsStatic, RootCAsFlagAndTransportReload) {
  TempDir dir;
  CertFiles ca = make_ca(dir, "ca", "static CA");
  CertFiles leaf = make_leaf(dir, ca, "leaf", {"127.0.0.1"});
  Whoami w = start_whoami(dir, "static-tls",
                          {"--tls-cert", leaf.cert.string(), "--tls-key", leaf.key.string()});
  const std::string url = "https://127.0.0.1:" + std::to_string(w.port);
  auto dynamic = [&](bool insecure) {
    return "http:\n  routers:\n"
           "    d:\n      rule: \"Host(`d.test`)\"\n      service: d\n"
           "    n:\n      rule: \"Host(`n.test`)\"\n      service: n\n"
           "  services:\n"
           "    d:\n      loadBalancer:\n        servers:\n          - url: \"" +
           url +
           "\"\n"
           "    n:\n      loadBalancer:\n        serversTransport: t\n"
           "        servers:\n          - url: \"" +
           url +
           "\"\n"
           "  serversTransports:\n    t:\n      insecureSkipVerify: " +
           (insecure ? "true" : "false") + "\n";
  };
  // In a directory of its own: portier's log, written next to it on every failed request,
  // would keep the provider's debounce from ever settling.
  std::filesystem::create_directory(dir.path() / "conf");
  dir.write("conf/dynamic.yml", dynamic(false));
  auto cfg = dir.write("portier.yml",
                       "entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\n"
                       "providers:\n  file:\n    filename: conf/dynamic.yml\n");
  auto p = Process::start({PORTIER_BIN, "--configFile=" + cfg.string(), "--workers=1",
                           "--log.level=debug", "--serversTransport.rootCAs=" + ca.cert.string()},
                          dir.path() / "portier.log");
  auto port = p->wait_for_log(
      "msg=\"entrypoint listening\" entrypoint=web address=127\\.0\\.0\\.1:([0-9]+)", 10s);
  ASSERT_TRUE(port) << p->log();
  ASSERT_TRUE(p->wait_for_log("configuration applied", 10s));
  const int web = std::stoi(*port);
  auto d = http_get(web, "d.test", "/");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->status, 200) << p->log();
  // `t` trusts the system's bundle only: refused, until the file says insecureSkipVerify.
  auto refused = http_get(web, "n.test", "/");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 502);
  dir.write("conf/dynamic.yml", dynamic(true));
  EXPECT_TRUE(poll_until(
      [&] {
        auto r = http_get(web, "n.test", "/");
        return r && r->status == 200;
      },
      10s))
      << p->log();

  // A static rootCAs that cannot be read: a start-up error, with the reason.
  auto bad = Process::start({PORTIER_BIN, "--configFile=" + cfg.string(),
                             "--serversTransport.rootCAs=" + (dir.path() / "none.pem").string()},
                            dir.path() / "bad.log");
  auto code = bad->wait_exit(10s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 2);
  EXPECT_NE(bad->log().find("serversTransport: rootCAs: cannot read"), std::string::npos)
      << bad->log();
}

// A serversTransport offers Go's TLS 1.2 suites unless its cipherSuites say otherwise, as
// Traefik's does: a server with only CBC suites with SHA-256 MACs (in OpenSSL's DEFAULT, left
// out by Go) is refused, one with CBC-SHA (which Go keeps) is reached. The servers are
// `openssl s_server -www`, each limited to one suite.
TEST(UpstreamTlsStatic, DefaultTls12SuitesAreGos) {
  TempDir dir;
  CertFiles ca = make_ca(dir, "ca", "suites CA");
  CertFiles leaf = make_leaf(dir, ca, "leaf", {"127.0.0.1"});
  auto server = [&](const std::string& name, const std::string& cipher, int port) {
    return Process::start({"/usr/bin/openssl", "s_server", "-accept",
                           "127.0.0.1:" + std::to_string(port), "-cert", leaf.cert.string(),
                           "-key", leaf.key.string(), "-tls1_2", "-cipher", cipher, "-www",
                           "-quiet"},
                          dir.path() / (name + ".log"));
  };
  const int sha256_port = free_port(), sha1_port = free_port();
  auto sha256 = server("sha256", "ECDHE-ECDSA-AES128-SHA256", sha256_port);
  auto sha1 = server("sha1", "ECDHE-ECDSA-AES128-SHA", sha1_port);
  for (int port : {sha256_port, sha1_port}) {
    ASSERT_TRUE(poll_until(
        [&] {
          try {
            Conn c(port, 1s);
            return true;
          } catch (const std::exception&) {
            return false;
          }
        },
        10s));
  }
  auto service = [&](const std::string& name, int port, const std::string& transport) {
    return "    " + name + ":\n      loadBalancer:\n        serversTransport: " + transport +
           "\n        servers:\n          - url: \"https://127.0.0.1:" + std::to_string(port) +
           "\"\n";
  };
  const std::string dyn =
      "http:\n  routers:\n"
      "    a:\n      rule: \"Host(`sha256.test`)\"\n      service: a\n"
      "    b:\n      rule: \"Host(`sha1.test`)\"\n      service: b\n"
      "    c:\n      rule: \"Host(`named.test`)\"\n      service: c\n"
      "  services:\n" +
      service("a", sha256_port, "t") + service("b", sha1_port, "t") +
      service("c", sha256_port, "named") +
      "  serversTransports:\n"
      "    t:\n      rootCAs: [\"" + ca.cert.string() + "\"]\n"
      "    named:\n      rootCAs: [\"" + ca.cert.string() + "\"]\n"
      "      cipherSuites: [TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256]\n";
  Portier p = start_portier_static(
      dir,
      "entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\n"
      "providers:\n  file:\n    filename: dynamic.yml\n",
      dyn, {"web"}, 1);
  auto refused = http_get(p.port, "sha256.test", "/");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 502) << p.proc->log();
  auto reached = http_get(p.port, "sha1.test", "/");
  ASSERT_TRUE(reached);
  EXPECT_EQ(reached->status, 200) << p.proc->log();
  EXPECT_NE(reached->body.find("ECDHE-ECDSA-AES128-SHA"), std::string::npos) << reached->body;
  auto named = http_get(p.port, "named.test", "/");
  ASSERT_TRUE(named);
  EXPECT_EQ(named->status, 200) << p.proc->log();
}

// The system's CA bundle (no rootCAs) is read by the first handshake that needs it, not at
// start-up: a portier with no https:// server never holds it (docs/performance.md). The bundle
// here is SSL_CERT_FILE, written only after portier has loaded its configuration.
TEST(UpstreamTlsStatic, SystemBundleIsReadWhenFirstNeeded) {
  TempDir dir;
  CertFiles ca = make_ca(dir, "ca", "late CA");
  CertFiles leaf = make_leaf(dir, ca, "leaf", {"127.0.0.1"});
  Whoami w = start_whoami(dir, "late-tls",
                          {"--tls-cert", leaf.cert.string(), "--tls-key", leaf.key.string()});
  const std::string url = "https://127.0.0.1:" + std::to_string(w.port);
  const auto bundle = dir.path() / "bundle.pem";
  ::setenv("SSL_CERT_FILE", bundle.c_str(), 1);
  ::setenv("SSL_CERT_DIR", (dir.path() / "no-such-dir").c_str(), 1);
  Portier p = start_portier(dir, route_to(url), "", "", 1);
  ::unsetenv("SSL_CERT_FILE");
  ::unsetenv("SSL_CERT_DIR");
  std::filesystem::copy_file(ca.cert, bundle);
  auto r = http_get(p.port, "x", "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << p.proc->log();
}

}  // namespace
}  // namespace portier::test
