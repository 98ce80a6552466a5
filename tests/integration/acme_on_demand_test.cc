// On-demand certificates end to end: a real portier, Pebble, and a real `ask` endpoint (a
// cpp-httplib server in the test). A catch-all TLS router names a resolver with onDemand; a
// handshake for a name no router lists waits while the name is asked for and ordered, and gets
// the certificate on that very first connection; a name the endpoint refuses gets the default
// certificate and no order; and the resolver's rate limit (burst 2 per minute here) holds.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "support/net.h"
#include "support/pebble.h"
#include "support/process.h"

namespace portier::test {
namespace {

using namespace std::chrono_literals;

// GET /check?domain=<name>: 200 for the allowed names, 403 for the others; remembers every ask.
class AskServer {
 public:
  explicit AskServer(std::set<std::string> allowed) : allowed_(std::move(allowed)) {
    svr_.Get("/check", [this](const httplib::Request& req, httplib::Response& res) {
      std::string d = req.get_param_value("domain");
      std::lock_guard lk(mu_);
      asked_.push_back(d);
      res.status = allowed_.count(d) ? 200 : 403;
    });
    port_ = svr_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { svr_.listen_after_bind(); });
    poll_until([&] { return svr_.is_running(); }, 5s);
  }
  ~AskServer() {
    svr_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/check"; }
  int asked(const std::string& d) {
    std::lock_guard lk(mu_);
    return static_cast<int>(std::count(asked_.begin(), asked_.end(), d));
  }

 private:
  std::set<std::string> allowed_;
  httplib::Server svr_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  std::vector<std::string> asked_;
};

int ordered(const std::string& log, const std::string& domain) {
  int n = 0;
  for (std::size_t p = log.find("acme: ordering certificate"); p != std::string::npos;
       p = log.find("acme: ordering certificate", p + 1)) {
    auto eol = log.find('\n', p);
    if (log.substr(p, eol - p).find("domains=" + domain) != std::string::npos) ++n;
  }
  return n;
}

TEST(OnDemandTest, FirstHandshakeGetsACertificateOnlyWhenAskedAndWithinTheRateLimit) {
  TempDir dir;
  const int web = free_port();
  PebbleOptions o;
  o.http_port = web;
  Pebble pebble(o);
  Whoami whoami = start_whoami(dir, "ondemand");
  AskServer ask({"one.test", "two.test", "three.test"});
  std::string static_yaml =
      "entryPoints:\n  web:\n    address: \"127.0.0.1:" + std::to_string(web) +
      "\"\n  websecure:\n    address: \"127.0.0.1:0\"\n"
      "certificatesResolvers:\n  le:\n    acme:\n      email: ops@example.com\n"
      "      storage: " +
      (dir.path() / "acme.json").string() + "\n      caServer: " + pebble.directory_url() +
      "\n      caCertificates: [" + pebble.ca_bundle() +
      "]\n      httpChallenge:\n        entryPoint: web\n"
      "      onDemand:\n        ask: " +
      ask.url() +
      "\n        burst: 2\n        interval: 1m\n        wait: 10s\n"
      "providers:\n  file:\n    filename: dynamic.yml\n";
  // No Host names: the router takes every name, its certificates come on demand.
  std::string dynamic =
      "http:\n  routers:\n    any:\n      rule: \"PathPrefix(`/`)\"\n      service: s\n"
      "      entryPoints: [websecure]\n      tls:\n        certResolver: le\n"
      "  services:\n    s:\n      loadBalancer:\n        servers:\n          - url: \"" +
      whoami.url() + "\"\n";
  Portier portier = start_portier_static(dir, static_yaml, dynamic, {"web", "websecure"});
  const int https = portier.ports.at("websecure");
  const std::string root = dir.write("root.pem", pebble.root_pem()).string();

  // The first handshake for an allowed name waits and gets its certificate.
  {
    auto start = std::chrono::steady_clock::now();
    Conn c(https, 15s);
    TlsInfo info = c.start_tls({"one.test", root});
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    ASSERT_TRUE(info.verified) << info.error << " " << info.subject_cn << "\n"
                               << portier.proc->log();
    EXPECT_EQ(info.subject_cn, "one.test");
    std::printf("first on-demand handshake: %lld ms\n", static_cast<long long>(took.count()));
    ASSERT_TRUE(c.send("GET /x HTTP/1.1\r\nHost: one.test\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  EXPECT_EQ(ask.asked("one.test"), 1);

  // A refused name: the default certificate at once, and nothing ordered.
  {
    Conn c(https, 15s);
    TlsInfo info = c.start_tls({"refused.test", ""});
    ASSERT_TRUE(info.ok) << info.error;
    EXPECT_EQ(info.subject_cn, "PORTIER DEFAULT CERT");
  }
  EXPECT_EQ(ask.asked("refused.test"), 1);
  EXPECT_EQ(ordered(portier.proc->log(), "refused.test"), 0);
  // Refusals are remembered: a second handshake does not ask again.
  {
    Conn c(https, 15s);
    EXPECT_EQ(c.start_tls({"refused.test", ""}).subject_cn, "PORTIER DEFAULT CERT");
  }
  EXPECT_EQ(ask.asked("refused.test"), 1);

  // Burst 2 per minute: two.test is the second order; three.test is allowed by the endpoint but
  // over the limit, so it gets the default certificate and no order.
  {
    Conn c(https, 15s);
    EXPECT_TRUE(c.start_tls({"two.test", root}).verified) << portier.proc->log();
  }
  {
    Conn c(https, 15s);
    TlsInfo info = c.start_tls({"three.test", ""});
    ASSERT_TRUE(info.ok) << info.error;
    EXPECT_EQ(info.subject_cn, "PORTIER DEFAULT CERT");
  }
  EXPECT_EQ(ask.asked("three.test"), 1);
  EXPECT_NE(portier.proc->log().find("rate limit reached"), std::string::npos);
  EXPECT_EQ(ordered(portier.proc->log(), "one.test"), 1);
  EXPECT_EQ(ordered(portier.proc->log(), "two.test"), 1);
  EXPECT_EQ(ordered(portier.proc->log(), "three.test"), 0) << portier.proc->log();

  // Stored like any certificate: in acme.json, served at once after a restart.
  portier = Portier{};
  portier = start_portier_static(dir, static_yaml, dynamic, {"web", "websecure"});
  Conn c(portier.ports.at("websecure"), 5s);
  EXPECT_TRUE(c.start_tls({"one.test", root}).verified);
  EXPECT_EQ(ordered(portier.proc->log(), "one.test"), 0);
}

}  // namespace
}  // namespace portier::test
