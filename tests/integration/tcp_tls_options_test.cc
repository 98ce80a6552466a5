// tcp.routers.<r>.tls.options through a real portier: a TCP router that terminates TLS
// handshakes under its own tls.options (minVersion, maxVersion, clientAuth with caFiles,
// alpnProtocols), routers without options under `default`, a HostSNI(`*`) router's options
// (which, unlike an HTTP router's, apply without a name), and a router naming options that do
// not exist is disabled. The backends greet first ("<name>\n"), so a refused handshake shows as
// no greeting.
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include "support/certs.h"
#include "support/net.h"
#include "support/process.h"
#include "support/tcp_backend.h"

namespace portier::test {
namespace {

using namespace std::chrono_literals;

class TcpTlsOptionsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    ca_ = make_ca(*dir_, "ca", "portier test CA");
    client_ca_ = make_ca(*dir_, "cca", "client CA");
    other_ca_ = make_ca(*dir_, "oca", "other CA");
    proxy_cert_ = make_leaf(*dir_, ca_, "proxy",
                            {"modern.test", "legacy.test", "pinned.test", "mtls.test",
                             "alpn.test", "missing.test", "any.test"});
    alice_ = make_client(*dir_, client_ca_, "alice", "/CN=alice");
    mallory_ = make_client(*dir_, other_ca_, "mallory", "/CN=mallory");
    a_ = new TcpBackend("a");
    b_ = new TcpBackend("b");
    portier_ = new Portier(start_portier_static(*dir_, static_yaml(), dynamic(), {"tls", "any"}));
  }
  static void TearDownTestSuite() {
    delete portier_;
    delete b_;
    delete a_;
    delete dir_;
  }
  static std::string static_yaml() {
    return "entryPoints:\n  tls:\n    address: \"127.0.0.1:0\"\n"
           "  any:\n    address: \"127.0.0.1:0\"\n"
           "providers:\n  file:\n    filename: dynamic.yml\n";
  }
  static std::string dynamic() {
    std::string s = "tcp:\n  routers:\n";
    auto router = [&](const std::string& name, const std::string& ep, const std::string& rule,
                      const std::string& svc, const std::string& tls) {
      s += "    " + name + ":\n      entryPoints: [" + ep + "]\n      rule: \"" + rule +
           "\"\n      service: " + svc + "\n      tls:" + tls + "\n";
    };
    router("modern", "tls", "HostSNI(`modern.test`)", "a", "\n        options: modern");
    router("legacy", "tls", "HostSNI(`legacy.test`)", "b", " {}");
    router("pinned", "tls", "HostSNI(`pinned.test`)", "a", "\n        options: tls12@file");
    router("mtls", "tls", "HostSNI(`mtls.test`)", "a", "\n        options: mtls");
    router("alpn", "tls", "HostSNI(`alpn.test`)", "a", "\n        options: proto");
    router("missing", "tls", "HostSNI(`missing.test`)", "a", "\n        options: nope");
    router("any", "any", "HostSNI(`*`)", "b", "\n        options: modern");
    s += "  services:\n";
    s += "    a:\n      loadBalancer:\n        servers:\n          - address: \"" +
         a_->address() + "\"\n";
    s += "    b:\n      loadBalancer:\n        servers:\n          - address: \"" +
         b_->address() + "\"\n";
    s += "tls:\n  options:\n"
         "    modern:\n      minVersion: VersionTLS13\n"
         "    tls12:\n      maxVersion: VersionTLS12\n"
         "    mtls:\n      clientAuth:\n        caFiles: [" + client_ca_.cert.string() + "]\n"
         "        clientAuthType: RequireAndVerifyClientCert\n"
         "    proto:\n      alpnProtocols: [x-proto]\n";
    s += "  certificates:\n    - certFile: " + proxy_cert_.cert.string() +
         "\n      keyFile: " + proxy_cert_.key.string() + "\n";
    return s;
  }
  static int port(const std::string& ep) { return portier_->ports.at(ep); }

  static TlsClientOptions client(const std::string& sni, int max_version = 0) {
    TlsClientOptions o;
    o.sni = sni;
    o.ca_file = ca_.cert.string();
    o.max_version = max_version;
    return o;
  }
  // The backend's greeting through a TLS connection, or "" when the handshake (or, for TLS 1.3
  // client authentication, the first read after it) is refused.
  static std::string greeting(const std::string& ep, const TlsClientOptions& o,
                              TlsInfo* info_out = nullptr) {
    Conn c(port(ep));
    TlsInfo info = c.start_tls(o);
    if (info_out) *info_out = info;
    if (!info.ok) return "";
    return c.read_bytes(2).value_or("");
  }

  static inline TempDir* dir_ = nullptr;
  static inline CertFiles ca_, client_ca_, other_ca_, proxy_cert_, alice_, mallory_;
  static inline TcpBackend *a_ = nullptr, *b_ = nullptr;
  static inline Portier* portier_ = nullptr;
};

TEST_F(TcpTlsOptionsTest, MinVersionRefusesAnOlderClientOnThatRouterOnly) {
  TlsInfo info;
  // minVersion VersionTLS13: a client that stops at TLS 1.2 gets no handshake.
  EXPECT_EQ(greeting("tls", client("modern.test", TLS1_2_VERSION), &info), "");
  EXPECT_FALSE(info.ok);
  // The same client on a router without options (default: TLS 1.2 and up) is served.
  EXPECT_EQ(greeting("tls", client("legacy.test", TLS1_2_VERSION), &info), "b\n");
  EXPECT_EQ(info.version, "TLSv1.2");
  // And a TLS 1.3 client reaches the strict router.
  EXPECT_EQ(greeting("tls", client("modern.test"), &info), "a\n");
  EXPECT_EQ(info.version, "TLSv1.3");
}

TEST_F(TcpTlsOptionsTest, MaxVersionWithAProviderSuffix) {
  TlsInfo info;
  EXPECT_EQ(greeting("tls", client("pinned.test"), &info), "a\n");
  EXPECT_EQ(info.version, "TLSv1.2");  // tls12@file: maxVersion VersionTLS12
  EXPECT_EQ(greeting("tls", client("legacy.test"), &info), "b\n");
  EXPECT_EQ(info.version, "TLSv1.3");
}

TEST_F(TcpTlsOptionsTest, ClientAuthRequiresACertificateFromTheCas) {
  TlsClientOptions o = client("mtls.test");
  EXPECT_EQ(greeting("tls", o), "");  // no certificate
  o.cert_file = mallory_.cert.string();
  o.key_file = mallory_.key.string();
  EXPECT_EQ(greeting("tls", o), "");  // a certificate from another CA
  o.cert_file = alice_.cert.string();
  o.key_file = alice_.key.string();
  EXPECT_EQ(greeting("tls", o), "a\n");
  // A router without clientAuth asks for none.
  EXPECT_EQ(greeting("tls", client("legacy.test")), "b\n");
}

TEST_F(TcpTlsOptionsTest, AlpnProtocolsOfTheRouter) {
  TlsClientOptions o = client("alpn.test");
  o.alpn = {"x-proto", "http/1.1"};
  TlsInfo info;
  EXPECT_EQ(greeting("tls", o, &info), "a\n");
  EXPECT_EQ(info.alpn, "x-proto");
  // The default options offer h2 and http/1.1, not x-proto.
  o.sni = "legacy.test";
  EXPECT_EQ(greeting("tls", o, &info), "b\n");
  EXPECT_EQ(info.alpn, "http/1.1");
}

TEST_F(TcpTlsOptionsTest, ACatchAllRoutersOptionsApplyWithoutAName) {
  EXPECT_EQ(greeting("any", client("any.test", TLS1_2_VERSION)), "");
  TlsClientOptions no_sni = client("", TLS1_2_VERSION);
  no_sni.ca_file.clear();  // the default certificate: not verified
  EXPECT_EQ(greeting("any", no_sni), "");
  EXPECT_EQ(greeting("any", client("any.test")), "b\n");
}

TEST_F(TcpTlsOptionsTest, UnknownOptionsDisableTheRouter) {
  EXPECT_EQ(greeting("tls", client("missing.test")), "");
  EXPECT_TRUE(portier_->proc->wait_for_log("tls.options `nope` does not exist", 5s))
      << portier_->proc->log();
}

}  // namespace
}  // namespace portier::test
