// HTTPS end to end through a real portier and a real Pebble (Let's Encrypt's test CA): a router
// with tls.certResolver gets a certificate by HTTP-01 (answered by portier's plain entrypoint,
// ahead of its HTTP->HTTPS redirect) and serves a chain that verifies against Pebble's root;
// file certificates, ACME certificates and the default are chosen by SNI; acme.json is reused
// across restarts; renewal swaps the certificate under an open connection; a CA outage is
// retried with backoff; bad storage files are refused or kept aside.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "support/certs.h"
#include "support/metrics.h"
#include "support/named.h"
#include "support/net.h"
#include "support/pebble.h"
#include "support/process.h"
#include "support/text.h"

namespace portier::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string get(const std::string& host, const std::string& path) {
  return "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n";
}

// One world: Pebble, a whoami, and (started by each test) portier with entrypoints `web` (plain
// HTTP on Pebble's httpPort, redirecting to websecure) and `websecure`.
class HttpsTest : public ::testing::Test {
 protected:
  void start_pebble(std::uint64_t validity_seconds = 0) {
    web_port_ = free_port();
    PebbleOptions o;
    o.http_port = web_port_;
    o.validity_seconds = validity_seconds;
    pebble_ = std::make_unique<Pebble>(o);
    whoami_ = std::make_unique<Whoami>(start_whoami(dir_, "https"));
  }
  // TLS-ALPN-01 only: Pebble validates on its tlsPort, where portier's websecure listens;
  // nothing listens on Pebble's httpPort, so HTTP-01 could not succeed.
  void start_pebble_for_tls_alpn() {
  web_port_ = free_port();
  websecure_port_ = free_port();
  pebble_ = std::make_unique<Pebble>(
      PebbleOptions{.http_port = free_port(), .tls_port = websecure_port_});
  whoami_ = std::make_unique<Whoami>(start_whoami(dir_, "https"));
  challenge_ = "      tlsChallenge: {}\n";
  }
  std::string static_yaml(const std::string& extra = "") const {
    return "entryPoints:\n"
           "  web:\n    address: \"127.0.0.1:" +
           std::to_string(web_port_) +
           "\"\n"
           "    http:\n      redirections:\n        entryPoint:\n          to: websecure\n"
           "  websecure:\n    address: \"127.0.0.1:" +
           std::to_string(websecure_port_) +
           "\"\n"
           // The API (api.insecure) on a port of its own, not the default 127.0.0.1:8080.
           "  traefik:\n    address: \"127.0.0.1:0\"\n"
           "certificatesResolvers:\n  le:\n    acme:\n      email: ops@example.com\n"
           "      storage: " +
           (dir_.path() / "acme.json").string() + "\n      caServer: " + pebble_->directory_url() +
           "\n      caCertificates: [" + pebble_->ca_bundle() + "]\n" + challenge_ +
           "providers:\n  file:\n    filename: dynamic.yml\n" + extra;
  }
  std::string dynamic(const std::string& extra_routers = "") const {
    return "http:\n  routers:\n"
           "    a:\n      rule: \"Host(`a.test`)\"\n      service: s\n"
           "      entryPoints: [websecure]\n      tls:\n        certResolver: le\n" +
           extra_routers +
           "  services:\n    s:\n      loadBalancer:\n        servers:\n          - url: \"" +
           whoami_->url() + "\"\n";
  }
  void start_portier(const std::string& static_extra = "", const std::string& dynamic_text = "") {
    portier_ = std::make_unique<Portier>(start_portier_static(
        dir_, static_yaml(static_extra), dynamic_text.empty() ? dynamic() : dynamic_text,
        {"web", "websecure"}));
  }
  int https() { return portier_->ports.at("websecure"); }
  std::string root_file() {
    auto root = pebble_->root_pem();
    EXPECT_FALSE(root.empty());
    return dir_.write("pebble-root.pem", root).string();
  }
  // Polls until a handshake for `sni` presents a chain that verifies against Pebble's root.
  TlsInfo wait_for_acme_certificate(const std::string& sni, std::chrono::seconds limit = 30s) {
    std::string root = root_file();
    TlsInfo info;
    poll_until(
        [&] {
          Conn c(https());
          info = c.start_tls({sni, root});
          return info.ok && info.verified;
        },
        limit);
    return info;
  }

  TempDir dir_;
  int web_port_ = 0;
  int websecure_port_ = 0;  // 0: any
  std::string challenge_ = "      httpChallenge:\n        entryPoint: web\n";
  std::unique_ptr<Pebble> pebble_;
  std::unique_ptr<Whoami> whoami_;
  std::unique_ptr<Portier> portier_;
};

TEST_F(HttpsTest, CertificateIssuedServedBesideFileCertificatesAndReusedAfterRestart) {
  start_pebble();
  CertFiles ca = make_ca(dir_, "ca", "file CA");
  CertFiles b = make_leaf(dir_, ca, "b", {"b.test"});
  start_portier("", dynamic("    b:\n      rule: \"Host(`b.test`)\"\n      service: s\n"
                            "      entryPoints: [websecure]\n      tls: {}\n") +
                        "tls:\n  certificates:\n    - certFile: " + b.cert.string() +
                        "\n      keyFile: " + b.key.string() + "\n");

  TlsInfo acme = wait_for_acme_certificate("a.test");
  ASSERT_TRUE(acme.verified) << acme.error << "\n" << portier_->proc->log();
  EXPECT_EQ(acme.subject_cn, "a.test");
  {
    Conn c(https());
    ASSERT_TRUE(c.start_tls({"a.test", root_file()}).ok);
    ASSERT_TRUE(c.send(get("a.test", "/x")));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  // SNI picks the file certificate, the ACME one, or the default.
  ASSERT_TRUE(poll_until(
      [&] {
        Conn c(https());
        return c.start_tls({"b.test", ca.cert.string()}).verified;
      },
      10s));
  {
    Conn c(https());
    EXPECT_EQ(c.start_tls({"unknown.test", ""}).subject_cn, "PORTIER DEFAULT CERT");
  }
  // Plain HTTP is redirected; the challenge path is not (an unknown token is a 404).
  auto plain = http_get(web_port_, "a.test", "/x?y=1");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->status, 301);
  EXPECT_EQ(plain->header("location"), "https://a.test:" + std::to_string(https()) + "/x?y=1");
  auto token = http_get(web_port_, "a.test", "/.well-known/acme-challenge/nope");
  ASSERT_TRUE(token);
  EXPECT_EQ(token->status, 404);

  // acme.json: private to its owner, in Traefik's layout.
  struct stat st {};
  ASSERT_EQ(::stat((dir_.path() / "acme.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  std::ifstream in(dir_.path() / "acme.json");
  auto stored = nlohmann::json::parse(in);
  ASSERT_TRUE(stored.contains("le"));
  ASSERT_EQ(stored["le"]["Certificates"].size(), 1u);
  EXPECT_EQ(stored["le"]["Certificates"][0]["domain"]["main"], "a.test");
  EXPECT_TRUE(stored["le"]["Account"].contains("PrivateKey"));

  // A second router for the same name shares the certificate: no second order.
  const int idle_before = count_in(portier_->proc->log(), "acme: no order due");
  dir_.write("dynamic.yml",
             dynamic("    a2:\n      rule: \"Host(`a.test`) && PathPrefix(`/two`)\"\n"
                     "      service: s\n      entryPoints: [websecure]\n"
                     "      tls:\n        certResolver: le\n"));
  ASSERT_TRUE(poll_until(
      [&] {
        Conn c(https());
        if (!c.start_tls({"a.test", ""}).ok || !c.send(get("a.test", "/two"))) return false;
        auto two = c.read_response();
        return two && two->status == 200 && two->body.find("GET /two") != std::string::npos;
      },
      10s));
  // The resolver looked at the new routers and found nothing to order (a wrong second order
  // would have been logged before this).
  ASSERT_TRUE(poll_until(
      [&] { return count_in(portier_->proc->log(), "acme: no order due") > idle_before; }, 5s))
      << portier_->proc->log();
  EXPECT_EQ(count_in(portier_->proc->log(), "acme: ordering certificate"), 1) << portier_->proc->log();

  // Restart: the stored certificate is served at once, nothing is asked of the CA.
  portier_.reset();
  start_portier();
  Conn c(https());
  TlsInfo again = c.start_tls({"a.test", root_file()});
  ASSERT_TRUE(again.ok) << again.error;
  EXPECT_TRUE(again.verified);
  EXPECT_EQ(again.serial, acme.serial);
  EXPECT_EQ(count_in(portier_->proc->log(), "acme: ordering certificate"), 0) << portier_->proc->log();
}

TEST_F(HttpsTest, RenewalSwapsTheCertificateWithoutDroppingOpenConnections) {
  start_pebble(12);  // 12 s certificates: renewed when 4 s are left
  start_portier();
  TlsInfo first = wait_for_acme_certificate("a.test");
  ASSERT_TRUE(first.verified) << first.error << "\n" << portier_->proc->log();
  Conn open(https());
  ASSERT_TRUE(open.start_tls({"a.test", root_file()}).ok);
  ASSERT_TRUE(open.send(get("a.test", "/before")));
  ASSERT_TRUE(open.read_response());

  std::string serial;
  ASSERT_TRUE(poll_until(
      [&] {
        Conn c(https());
        TlsInfo i = c.start_tls({"a.test", ""});
        serial = i.serial;
        return i.ok && serial != first.serial;
      },
      40s))
      << portier_->proc->log();
  EXPECT_NE(portier_->proc->log().find("acme: certificate renewed"), std::string::npos);
  ASSERT_TRUE(open.send(get("a.test", "/after")));
  auto r = open.read_response();
  ASSERT_TRUE(r) << "the connection opened before the renewal was dropped";
  EXPECT_EQ(r->status, 200);
}

TEST_F(HttpsTest, CaOutageIsRetriedWithBackoffAndShownOnTheRouter) {
  start_pebble();
  pebble_->stop();
  ::setenv("PORTIER_ACME_RETRY_BASE_MS", "500", 1);
  start_portier("api:\n  insecure: true\nmetrics:\n  prometheus: {}\n");
  ::unsetenv("PORTIER_ACME_RETRY_BASE_MS");
  ASSERT_TRUE(portier_->proc->wait_for_log("(certificate order failed; retrying)", 20s))
      << portier_->proc->log();
  // The default certificate is served meanwhile, and the API shows why.
  {
    Conn c(https());
    EXPECT_EQ(c.start_tls({"a.test", ""}).subject_cn, "PORTIER DEFAULT CERT");
  }
  auto api_port = portier_->proc->wait_for_log(
      "msg=\"api listening\" entrypoint=traefik address=127\\.0\\.0\\.1:([0-9]+)", 5s);
  ASSERT_TRUE(api_port);
  nlohmann::json router;
  ASSERT_TRUE(poll_until(
      [&] {
        auto r = http_get(std::stoi(*api_port), "api", "/api/http/routers/a@file");
        if (!r || r->status != 200) return false;
        router = nlohmann::json::parse(r->body);
        return router.value("status", "") == "warning";
      },
      10s))
      << router.dump();
  EXPECT_NE(router["error"][0].get<std::string>().find("certificate for a.test"),
            std::string::npos);

  pebble_->start();
  TlsInfo ok = wait_for_acme_certificate("a.test", 30s);
  EXPECT_TRUE(ok.verified) << ok.error << "\n" << portier_->proc->log();
  EXPECT_TRUE(poll_until(
      [&] {
        auto r = http_get(std::stoi(*api_port), "api", "/api/http/routers/a@file");
        return r && nlohmann::json::parse(r->body).value("status", "") == "enabled";
      },
      10s))
      << "the router still shows the old failure";
  // Backoff, not hammering: 500 ms, then 5 s, ... so only a few attempts in this time.
  EXPECT_LE(count_in(portier_->proc->log(), "certificate order failed"), 4);
  // The metrics (on api.insecure's listener) count the orders and show the new certificate.

  const int api = std::stoi(*api_port);
  auto m = scrape_metrics(api);
  const double failures = metric_value(m, "portier_acme_order_failures_total");
  EXPECT_GE(failures, 1);
  EXPECT_GE(metric_value(m, "portier_acme_orders_total"), failures + 1);
  EXPECT_TRUE(poll_until(
      [&] {
        return metric_value(scrape_metrics(api), "traefik_tls_certs_not_after", {{"cn", "a.test"}}) >
               static_cast<double>(std::time(nullptr));
      },
      5s));
}

TEST_F(HttpsTest, TlsAlpnChallengeAnsweredOnTheTlsEntrypoint) {
  start_pebble_for_tls_alpn();
  start_portier("log:\n  level: DEBUG\n");
  TlsInfo acme = wait_for_acme_certificate("a.test");
  ASSERT_TRUE(acme.verified) << acme.error << "\n" << portier_->proc->log() << pebble_->log();
  EXPECT_GE(count_in(portier_->proc->log(), "acme-tls/1 challenge answered"), 1)
      << portier_->proc->log();
  // Once the order is done, a handshake asking for acme-tls/1 finds no challenge certificate.
  Conn c(https());
  TlsClientOptions o{"a.test", ""};
  o.alpn = {"acme-tls/1"};
  EXPECT_FALSE(c.start_tls(o).ok);
  // Ordinary handshakes are untouched.
  Conn d(https());
  EXPECT_EQ(d.start_tls({"a.test", ""}).alpn, "http/1.1");
}

TEST_F(HttpsTest, TlsAlpnChallengeOnAnEntrypointWithOnlyATcpRouter) {
  // A TCP router terminating TLS with a certResolver, and no HTTPS router on that entrypoint:
  // the CA's acme-tls/1 handshake still reaches the challenge certificate (docs/tcp.md).
  start_pebble_for_tls_alpn();
  start_portier("", "tcp:\n  routers:\n    t:\n      rule: \"HostSNI(`t.test`)\"\n"
                    "      service: ts\n      entryPoints: [websecure]\n"
                    "      tls:\n        certResolver: le\n"
                    "  services:\n    ts:\n      loadBalancer:\n        servers:\n"
                    "          - address: \"127.0.0.1:" +
                        std::to_string(whoami_->port) + "\"\n");
  TlsInfo t = wait_for_acme_certificate("t.test");
  ASSERT_TRUE(t.verified) << t.error << "\n" << portier_->proc->log() << pebble_->log();
  Conn c(https());
  ASSERT_TRUE(c.start_tls({"t.test", root_file()}).verified);
  ASSERT_TRUE(c.send(get("t.test", "/through-tcp")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("GET /through-tcp"), std::string::npos);
}

TEST_F(HttpsTest, WildcardCertificateByDns01IsServedForMatchingNames) {
  Named named;
  web_port_ = free_port();
  pebble_ = std::make_unique<Pebble>(
      PebbleOptions{.http_port = free_port(), .dns_server = named.address()});
  whoami_ = std::make_unique<Whoami>(start_whoami(dir_, "https"));
  challenge_ = "      dnsChallenge:\n        provider: rfc2136\n        resolvers: [\"" +
               named.address() +
               "\"]\n"
               // A second resolver without DNS-01, for the wildcard warning below.
               "  web:\n    acme:\n      email: ops@example.com\n      storage: " +
               (dir_.path() / "acme-web.json").string() +
               "\n      caServer: " + pebble_->directory_url() + "\n      caCertificates: [" +
               pebble_->ca_bundle() + "]\n      httpChallenge:\n        entryPoint: web\n";
  {
    // Without the provider's variables, start-up stops and names the missing one.
    dir_.write("dynamic.yml", dynamic());
    auto cfg = dir_.write("portier.yml", static_yaml());
    auto proc =
        Process::start({PORTIER_BIN, "--configFile=" + cfg.string()}, dir_.path() / "env.log");
    auto code = proc->wait_exit(10s);
    ASSERT_TRUE(code);
    EXPECT_NE(*code, 0);
    EXPECT_NE(proc->log().find("certificatesResolvers.le.acme.dnsChallenge: rfc2136: "
                               "RFC2136_NAMESERVER is not set"),
              std::string::npos)
        << proc->log();
  }
  const std::vector<std::pair<std::string, std::string>> env = {
      {"RFC2136_NAMESERVER", named.address()},
      {"RFC2136_TSIG_KEY", named.key_name()},
      {"RFC2136_TSIG_SECRET", named.key_secret()},
      {"RFC2136_TSIG_ALGORITHM", "hmac-sha256."},
      {"RFC2136_POLLING_INTERVAL", "0.2"},
      {"PORTIER_ACME_AUTHORITATIVE_DNS_PORT", std::to_string(named.port())}};
  for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
  start_portier("api:\n  insecure: true\n",
                "http:\n  routers:\n"
                "    w:\n      rule: \"Host(`*.dns.test`) || Host(`dns.test`)\"\n      service: s\n"
                "      entryPoints: [websecure]\n      tls:\n        certResolver: le\n"
                "        domains:\n          - main: \"*.dns.test\"\n            sans: [dns.test]\n"
                // A wildcard from a Host rule is ordered too (as Traefik's ParseDomains).
                "    r:\n      rule: \"Host(`*.rule.dns.test`)\"\n      service: s\n"
                "      entryPoints: [websecure]\n      tls:\n        certResolver: le\n"
                "    h:\n      rule: \"Host(`*.other.test`)\"\n      service: s\n"
                "      entryPoints: [websecure]\n      tls:\n        certResolver: web\n"
                "  services:\n    s:\n      loadBalancer:\n        servers:\n          - url: \"" +
                    whoami_->url() + "\"\n");
  for (const auto& [k, v] : env) ::unsetenv(k.c_str());

  TlsInfo wild = wait_for_acme_certificate("x.dns.test");
  ASSERT_TRUE(wild.verified) << wild.error << "\n" << portier_->proc->log() << pebble_->log();
  EXPECT_EQ(wild.subject_cn, "*.dns.test");
  for (const char* sni : {"other.dns.test", "dns.test"}) {
    Conn c(https());
    TlsInfo info = c.start_tls({sni, root_file()});
    EXPECT_TRUE(info.verified) << sni << ": " << info.error;
    EXPECT_EQ(info.serial, wild.serial) << sni;
  }
  {
    Conn c(https());
    ASSERT_TRUE(c.start_tls({"y.dns.test", root_file()}).verified);
    ASSERT_TRUE(c.send(get("y.dns.test", "/w")));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  TlsInfo rule = wait_for_acme_certificate("a.rule.dns.test");
  EXPECT_TRUE(rule.verified) << rule.error;
  EXPECT_EQ(rule.subject_cn, "*.rule.dns.test");
  EXPECT_EQ(named.txt("_acme-challenge.dns.test."), "");  // cleaned up
  // A wildcard for a resolver without DNS-01 is not ordered; the router says why.
  auto api_port = portier_->proc->wait_for_log(
      "msg=\"api listening\" entrypoint=traefik address=127\\.0\\.0\\.1:([0-9]+)", 5s);
  ASSERT_TRUE(api_port);
  auto r = http_get(std::stoi(*api_port), "api", "/api/http/routers/h@file");
  ASSERT_TRUE(r && r->status == 200);
  auto router = nlohmann::json::parse(r->body);
  EXPECT_EQ(router.value("status", ""), "warning") << router.dump();
  EXPECT_NE(router.dump().find("need the DNS-01 challenge"), std::string::npos) << router.dump();
  EXPECT_EQ(count_in(portier_->proc->log(), "acme: ordering certificate"), 2) << portier_->proc->log();
}

TEST_F(HttpsTest, WorldReadableStorageIsRefusedAndCorruptStorageIsKeptAside) {
  start_pebble();
  auto storage = dir_.write("acme.json", "{}");
  ::chmod(storage.c_str(), 0644);
  dir_.write("dynamic.yml", dynamic());
  auto cfg = dir_.write("portier.yml", static_yaml());
  auto proc =
      Process::start({PORTIER_BIN, "--configFile=" + cfg.string()}, dir_.path() / "refused.log");
  auto code = proc->wait_exit(10s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 2);
  EXPECT_NE(proc->log().find("chmod 600"), std::string::npos) << proc->log();

  const std::string corrupt = "{\"le\": {\"Account\": trunc";
  dir_.write("acme.json", corrupt);
  ::chmod(storage.c_str(), 0600);
  start_portier();
  TlsInfo ok = wait_for_acme_certificate("a.test");
  EXPECT_TRUE(ok.verified) << ok.error << "\n" << portier_->proc->log();
  bool kept = false;
  for (const auto& e : fs::directory_iterator(dir_.path())) {
    if (e.path().filename().string().rfind("acme.json.corrupt-", 0) == 0) {
      std::ifstream in(e.path());
      std::stringstream ss;
      ss << in.rdbuf();
      kept = ss.str() == corrupt;
    }
  }
  EXPECT_TRUE(kept) << "the corrupt file was not kept aside as it was";
}

}  // namespace
}  // namespace portier::test
