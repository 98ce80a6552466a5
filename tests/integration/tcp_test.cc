// TCP routers and the PROXY protocol through a real portier: plain TCP (a server-first protocol),
// weighted round robin, ipAllowList, inFlightConn, failover on a dial error, TLS passthrough (the
// client sees the backend's certificate), TLS termination, HTTPS and TCP routers on one
// entrypoint chosen by SNI, HostSNIRegexp, ALPN, ClientIP, PROXY v1/v2 from trusted and
// untrusted peers (X-Forwarded-For, ClientIP), and PROXY headers sent to a backend.
#include <gtest/gtest.h>

#include "support/certs.h"
#include "support/net.h"
#include "support/process.h"
#include "support/tcp_backend.h"

namespace portier::test {
namespace {

using namespace std::chrono_literals;

class TcpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    ca_ = make_ca(*dir_, "ca", "portier test CA");
    backend_ca_ = make_ca(*dir_, "bca", "backend CA");
    proxy_cert_ = make_leaf(*dir_, ca_, "proxy", {"term.test", "re42.test", "alpn.test", "web.test"});
    pass_cert_ = make_leaf(*dir_, backend_ca_, "pass", {"pass.test"});
    a_ = new TcpBackend("a");
    b_ = new TcpBackend("b");
    c_ = new TcpBackend("c");
    tlsb_ = new TcpBackend("tlsb", {false, pass_cert_.cert.string(), pass_cert_.key.string()});
    pp_ = new TcpBackend("pp", {true, "", ""});
    whoami_ = new Whoami(start_whoami(*dir_, "tcp"));
    dead_port_ = free_port();
    portier_ = new Portier(start_portier_static(
        *dir_, static_yaml(), dynamic(),
        {"plain", "allow", "limit", "failover", "mixed", "clientip", "ppin", "ppout1", "ppout2"}));
  }
  static void TearDownTestSuite() {
    delete portier_;
    delete whoami_;
    delete pp_;
    delete tlsb_;
    delete c_;
    delete b_;
    delete a_;
    delete dir_;
  }
  static std::string static_yaml() {
    std::string s = "entryPoints:\n";
    for (const char* ep : {"plain", "allow", "limit", "failover", "mixed", "clientip", "ppout1",
                           "ppout2"}) {
      s += std::string("  ") + ep + ":\n    address: \"127.0.0.1:0\"\n";
    }
    s += "  ppin:\n    address: \"127.0.0.1:0\"\n    proxyProtocol:\n"
         "      trustedIPs: [\"127.0.0.1\"]\n";
    s += "providers:\n  file:\n    filename: dynamic.yml\n";
    return s;
  }
  static std::string dynamic() {
    auto lb = [](const std::string& addr) {
      return "      loadBalancer:\n        servers:\n          - address: \"" + addr + "\"\n";
    };
    std::string s = "tcp:\n  routers:\n";
    auto router = [&](const std::string& name, const std::string& ep, const std::string& rule,
                      const std::string& svc, const std::string& extra = "") {
      s += "    " + name + ":\n      entryPoints: [" + ep + "]\n      rule: \"" + rule +
           "\"\n      service: " + svc + "\n" + extra;
    };
    router("plain", "plain", "HostSNI(`*`)", "wrr");
    router("allow", "allow", "HostSNI(`*`)", "a", "      middlewares: [only2]\n");
    router("limit", "limit", "HostSNI(`*`)", "a", "      middlewares: [two]\n");
    router("failover", "failover", "HostSNI(`*`)", "deadthenb");
    router("pass", "mixed", "HostSNI(`pass.test`)", "tlsb", "      tls:\n        passthrough: true\n");
    router("term", "mixed", "HostSNI(`term.test`)", "a", "      tls: {}\n");
    router("re", "mixed", "HostSNIRegexp(`^re[0-9]+\\\\.test$`)", "b", "      tls: {}\n");
    router("alpn", "mixed", "HostSNI(`alpn.test`) && ALPN(`x-custom`)", "c", "      tls: {}\n");
    router("clientip", "clientip", "ClientIP(`127.0.0.3`)", "a");
    router("ppin", "ppin", "ClientIP(`203.0.113.9`)", "a");
    router("ppout1", "ppout1", "HostSNI(`*`)", "ppv1");
    router("ppout2", "ppout2", "HostSNI(`*`)", "ppv2");
    router("broken", "plain", "HostSNI(`x.test`)", "a");  // HostSNI without tls: disabled
    s += "  services:\n";
    s += "    a:\n" + lb(a_->address());
    s += "    b:\n" + lb(b_->address());
    s += "    c:\n" + lb(c_->address());
    s += "    tlsb:\n" + lb(tlsb_->address());
    s += "    wrr:\n      weighted:\n        services:\n          - name: a\n            weight: 3\n"
         "          - name: b\n            weight: 1\n";
    s += "    deadthenb:\n      loadBalancer:\n        servers:\n          - address: \"127.0.0.1:" +
         std::to_string(dead_port_) + "\"\n          - address: \"" + b_->address() + "\"\n";
    s += "    ppv1:\n" + lb(pp_->address()) + "        proxyProtocol:\n          version: 1\n";
    s += "    ppv2:\n" + lb(pp_->address()) + "        serversTransport: v2\n";
    s += "  middlewares:\n    only2:\n      ipAllowList:\n        sourceRange: [\"127.0.0.2\"]\n"
         "    two:\n      inFlightConn:\n        amount: 2\n";
    s += "  serversTransports:\n    v2:\n      proxyProtocol:\n        version: 2\n";
    s += "http:\n  routers:\n"
         "    web:\n      entryPoints: [mixed]\n      rule: \"Host(`web.test`)\"\n"
         "      service: w\n      tls: {}\n"
         "    plainweb:\n      entryPoints: [mixed]\n      rule: \"Host(`plain.test`)\"\n"
         "      service: w\n"
         "    all:\n      entryPoints: [clientip, ppin]\n      rule: \"PathPrefix(`/`)\"\n"
         "      service: w\n";
    s += "  services:\n    w:\n      loadBalancer:\n        servers:\n          - url: \"" +
         whoami_->url() + "\"\n";
    s += "tls:\n  certificates:\n    - certFile: " + proxy_cert_.cert.string() +
         "\n      keyFile: " + proxy_cert_.key.string() + "\n";
    return s;
  }
  static int port(const std::string& ep) { return portier_->ports.at(ep); }

  static inline TempDir* dir_ = nullptr;
  static inline CertFiles ca_, backend_ca_, proxy_cert_, pass_cert_;
  static inline TcpBackend *a_ = nullptr, *b_ = nullptr, *c_ = nullptr, *tlsb_ = nullptr,
                           *pp_ = nullptr;
  static inline Whoami* whoami_ = nullptr;
  static inline Portier* portier_ = nullptr;
  static inline int dead_port_ = 0;
};

// The backend speaks first: portier must connect without waiting for the client's bytes; then
// an echo, and the client's half-close travels through (the backend then closes).
TEST_F(TcpTest, PlainTcpServerFirstEchoAndHalfClose) {
  Conn c(port("plain"));
  auto banner = c.read_bytes(2);
  ASSERT_TRUE(banner);
  EXPECT_TRUE(*banner == "a\n" || *banner == "b\n") << *banner;
  ASSERT_TRUE(c.send("ping"));
  EXPECT_EQ(c.read_bytes(4).value_or(""), "ping");
  c.shutdown_write();
  EXPECT_EQ(c.read_all(), "");
  EXPECT_TRUE(c.wait_closed(2s));
}

TEST_F(TcpTest, WeightedRoundRobin) {
  std::map<std::string, int> got;
  for (int i = 0; i < 8; ++i) {
    Conn c(port("plain"));
    ++got[c.read_bytes(2).value_or("none")];
  }
  EXPECT_EQ(got["a\n"], 6);
  EXPECT_EQ(got["b\n"], 2);
}

TEST_F(TcpTest, IpAllowListClosesOthers) {
  Conn ok(port("allow"), 10s, "127.0.0.2");
  EXPECT_EQ(ok.read_bytes(2).value_or(""), "a\n");
  Conn refused(port("allow"));
  EXPECT_TRUE(refused.wait_closed(3s));
}

TEST_F(TcpTest, InFlightConnLimitsPerClientIp) {
  auto c1 = std::make_unique<Conn>(port("limit"));
  ASSERT_EQ(c1->read_bytes(2).value_or(""), "a\n");
  Conn c2(port("limit"));
  ASSERT_EQ(c2.read_bytes(2).value_or(""), "a\n");
  {
    Conn c3(port("limit"));
    EXPECT_TRUE(c3.wait_closed(3s));
  }
  Conn other_ip(port("limit"), 10s, "127.0.0.4");  // counted apart
  EXPECT_EQ(other_ip.read_bytes(2).value_or(""), "a\n");
  c1.reset();  // its slot is given back when its session ends
  EXPECT_TRUE(poll_until(
      [&] {
        Conn c4(port("limit"), 2s);
        return c4.read_bytes(2).value_or("") == "a\n";
      },
      5s));
}

TEST_F(TcpTest, DialFailureTriesTheNextServer) {
  for (int i = 0; i < 4; ++i) {
    Conn c(port("failover"));
    EXPECT_EQ(c.read_bytes(2).value_or(""), "b\n");
  }
}

TEST_F(TcpTest, PassthroughShowsTheBackendsCertificate) {
  Conn c(port("mixed"));
  TlsClientOptions o;
  o.sni = "pass.test";
  o.ca_file = backend_ca_.cert.string();
  TlsInfo info = c.start_tls(o);
  ASSERT_TRUE(info.ok) << info.error;
  EXPECT_TRUE(info.verified);
  EXPECT_EQ(info.subject_cn, "pass.test");
  EXPECT_EQ(info.issuer_cn, "backend CA");
  EXPECT_EQ(c.read_bytes(5).value_or(""), "tlsb\n");
  ASSERT_TRUE(c.send("secret"));
  EXPECT_EQ(c.read_bytes(6).value_or(""), "secret");
}

TEST_F(TcpTest, TerminationUsesPortiersCertificates) {
  Conn c(port("mixed"));
  TlsClientOptions o;
  o.sni = "term.test";
  o.ca_file = ca_.cert.string();
  TlsInfo info = c.start_tls(o);
  ASSERT_TRUE(info.ok) << info.error;
  EXPECT_TRUE(info.verified);
  EXPECT_EQ(info.issuer_cn, "portier test CA");
  EXPECT_EQ(c.read_bytes(2).value_or(""), "a\n");  // plaintext from the backend, encrypted here
  ASSERT_TRUE(c.send("hello"));
  EXPECT_EQ(c.read_bytes(5).value_or(""), "hello");
}

TEST_F(TcpTest, HttpsAndHttpRoutersShareTheEntrypoint) {
  Conn c(port("mixed"));
  TlsClientOptions o;
  o.sni = "web.test";
  o.ca_file = ca_.cert.string();
  ASSERT_TRUE(c.start_tls(o).ok);
  ASSERT_TRUE(c.send("GET /x HTTP/1.1\r\nHost: web.test\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("GET /x"), std::string::npos) << r->body;
  auto plain = http_get(port("mixed"), "plain.test", "/p");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->status, 200);
}

TEST_F(TcpTest, HostSniRegexp) {
  Conn c(port("mixed"));
  TlsClientOptions o;
  o.sni = "re42.test";
  o.ca_file = ca_.cert.string();
  ASSERT_TRUE(c.start_tls(o).ok);
  EXPECT_EQ(c.read_bytes(2).value_or(""), "b\n");
}

TEST_F(TcpTest, AlpnMatcher) {
  TlsClientOptions o;
  o.sni = "alpn.test";
  o.ca_file = ca_.cert.string();
  o.alpn = {"x-custom"};
  {
    Conn c(port("mixed"));
    ASSERT_TRUE(c.start_tls(o).ok);
    EXPECT_EQ(c.read_bytes(2).value_or(""), "c\n");
  }
  // Without the protocol the connection is not the TCP router's: HTTPS answers (no router: 404).
  o.alpn = {"http/1.1"};
  Conn c(port("mixed"));
  ASSERT_TRUE(c.start_tls(o).ok);
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: alpn.test\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
}

TEST_F(TcpTest, ClientIpRouterAndHttpOnOneEntrypoint) {
  Conn tcp(port("clientip"), 10s, "127.0.0.3");
  EXPECT_EQ(tcp.read_bytes(2).value_or(""), "a\n");
  auto r = http_get(port("clientip"), "any.test", "/h");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("GET /h"), std::string::npos);
}

std::string v2_header(const std::string& src4, int sport, int dport) {
  std::string s("\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c", 16);
  unsigned a, b, c, d;
  std::sscanf(src4.c_str(), "%u.%u.%u.%u", &a, &b, &c, &d);
  for (unsigned x : {a, b, c, d, 127u, 0u, 0u, 1u}) s.push_back(static_cast<char>(x));
  for (int p : {sport, dport}) {
    s.push_back(static_cast<char>(p >> 8));
    s.push_back(static_cast<char>(p & 0xff));
  }
  return s;
}

TEST_F(TcpTest, ProxyProtocolFromTrustedPeersGivesTheClient) {
  {
    Conn c(port("ppin"));
    ASSERT_TRUE(c.send("PROXY TCP4 198.51.100.7 127.0.0.1 5555 80\r\n"
                       "GET /v1 HTTP/1.1\r\nHost: pp.test\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_NE(r->body.find("X-Forwarded-For: 198.51.100.7\n"), std::string::npos) << r->body;
  }
  {
    Conn c(port("ppin"));
    ASSERT_TRUE(c.send(v2_header("198.51.100.8", 5555, 80) +
                       "GET /v2 HTTP/1.1\r\nHost: pp.test\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_NE(r->body.find("X-Forwarded-For: 198.51.100.8\n"), std::string::npos) << r->body;
  }
  // The header's client is what ClientIP sees too.
  Conn c(port("ppin"));
  ASSERT_TRUE(c.send("PROXY TCP4 203.0.113.9 127.0.0.1 5555 80\r\n"));
  EXPECT_EQ(c.read_bytes(2).value_or(""), "a\n");
}

TEST_F(TcpTest, ProxyProtocolFromUntrustedPeersIsRefused) {
  for (const std::string& header :
       {std::string("PROXY TCP4 198.51.100.7 127.0.0.1 5555 80\r\n"),
        v2_header("198.51.100.7", 5555, 80)}) {
    Conn c(port("ppin"), 10s, "127.0.0.2");
    ASSERT_TRUE(c.send(header + "GET / HTTP/1.1\r\nHost: pp.test\r\n\r\n"));
    std::string all = c.read_all();
    EXPECT_EQ(all.find("HTTP/1.1"), std::string::npos) << all;
  }
  // Without a header, an untrusted peer is served as itself.
  Conn c(port("ppin"), 10s, "127.0.0.2");
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: pp.test\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("X-Forwarded-For: 127.0.0.2\n"), std::string::npos) << r->body;
}

TEST_F(TcpTest, ProxyProtocolSentToTheBackend) {
  const std::size_t before = pp_->headers().size();
  {
    Conn c(port("ppout1"));
    EXPECT_EQ(c.read_bytes(3).value_or(""), "pp\n");
  }
  {
    Conn c(port("ppout2"));
    EXPECT_EQ(c.read_bytes(3).value_or(""), "pp\n");
  }
  auto h = pp_->headers();
  ASSERT_EQ(h.size(), before + 2);
  const std::string& v1 = h[before];
  EXPECT_EQ(v1.rfind("PROXY TCP4 127.0.0.1 127.0.0.1 ", 0), 0u) << v1;
  EXPECT_NE(v1.find(" " + std::to_string(port("ppout1")) + "\r\n"), std::string::npos) << v1;
  const std::string& v2 = h[before + 1];
  ASSERT_EQ(v2.size(), 28u);
  EXPECT_EQ(v2.substr(0, 12), std::string("\r\n\r\n\0\r\nQUIT\n", 12));
  EXPECT_EQ(static_cast<unsigned char>(v2[12]), 0x21);
  EXPECT_EQ(static_cast<unsigned char>(v2[13]), 0x11);
  const int dport = (static_cast<unsigned char>(v2[26]) << 8) | static_cast<unsigned char>(v2[27]);
  EXPECT_EQ(dport, port("ppout2"));
}

TEST_F(TcpTest, BrokenRouterIsReported) {
  EXPECT_TRUE(portier_->proc->wait_for_log("(tcp router broken@file)", 5s).has_value())
      << portier_->proc->log();
}

}  // namespace
}  // namespace portier::test
