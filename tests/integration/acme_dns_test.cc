// DNS-01 against a real Pebble and a real BIND 9 (named): Pebble resolves every name through the
// test's named, so it validates the TXT records the providers put there. Each provider is driven
// for real: rfc2136 sends TSIG-signed UPDATEs to named; exec runs a shell script that calls
// nsupdate; httpreq and cloudflare talk to small HTTP servers in the test that speak lego's
// httpreq protocol and Cloudflare's v4 API and write the records into named with nsupdate.
// Propagation is checked as lego does (recursive and authoritative servers), with named as both.
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "acme/crypto.h"
#include "acme/dns_lookup.h"
#include "acme/dns_solver.h"
#include "acme/manager.h"
#include "support/named.h"
#include "support/pebble.h"
#include "support/process.h"

namespace portier::test {
namespace {

using namespace std::chrono_literals;

// Environment variables set for one test, removed after it.
class ScopedEnv {
 public:
  ~ScopedEnv() {
    for (const auto& k : keys_) ::unsetenv(k.c_str());
  }
  void set(const std::string& k, const std::string& v) {
    ::setenv(k.c_str(), v.c_str(), 1);
    keys_.push_back(k);
  }

 private:
  std::vector<std::string> keys_;
};

// An HTTP server on 127.0.0.1 running on its own thread.
class Server {
 public:
  explicit Server(const std::function<void(httplib::Server&)>& routes) {
    routes(svr_);
    port_ = svr_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { svr_.listen_after_bind(); });
    poll_until([&] { return svr_.is_running(); }, 5s);
  }
  ~Server() {
    svr_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  httplib::Server svr_;
  std::thread thread_;
  int port_ = 0;
};

class AcmeDnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pebble_ = std::make_unique<Pebble>(
        PebbleOptions{.http_port = free_port(), .dns_server = named_.address()});
    // named is the recursive resolver (resolvers) and the zone's authoritative server (its NS
    // is localhost.; the test hook moves the authoritative queries off port 53).
    env_.set("PORTIER_ACME_AUTHORITATIVE_DNS_PORT", std::to_string(named_.port()));
  }

  acme::ResolverConfig config(const std::string& provider) const {
    acme::ResolverConfig c;
    c.name = "le";
    c.email = "ops@example.com";
    c.storage = (dir_.path() / "acme.json").string();
    c.ca_server = pebble_->directory_url();
    c.ca_certificates = {pebble_->ca_bundle()};
    c.dns.provider = provider;
    c.dns.resolvers = {named_.address()};
    return c;
  }

  // Orders `domains` with a manager for `cfg`; the certificate's DNS names, or the failure.
  std::vector<std::string> order(const acme::ResolverConfig& cfg,
                                 const std::vector<std::string>& domains, std::string& error) {
    acme::Manager m(cfg, tokens_, nullptr);
    EXPECT_TRUE(m.load());
    m.start();
    m.set_domains({domains});
    poll_until(
        [&] {
          auto st = m.status();
          return !m.certificates().empty() || (!st.empty() && st[0].state == "failed");
        },
        25s);
    auto st = m.status();
    error = st.empty() ? "no status" : st[0].last_error;
    auto certs = m.certificates();
    if (certs.empty()) return {};
    auto info = acme::parse_leaf(certs[0].cert_pem);
    return info ? info->dns_names : std::vector<std::string>{};
  }

  std::string fqdn(const std::string& name) const { return "_acme-challenge." + name + "."; }

  Named named_;
  std::unique_ptr<Pebble> pebble_;
  ScopedEnv env_;
  TempDir dir_;
  tls::ChallengeTokens tokens_;
};

TEST_F(AcmeDnsTest, Rfc2136WildcardAndApexWithTsig) {
  env_.set("RFC2136_NAMESERVER", named_.address());
  env_.set("RFC2136_TSIG_KEY", named_.key_name());
  env_.set("RFC2136_TSIG_SECRET", named_.key_secret());
  env_.set("RFC2136_TSIG_ALGORITHM", "hmac-sha256.");
  env_.set("RFC2136_POLLING_INTERVAL", "0.2");
  std::string error;
  auto names = order(config("rfc2136"), {"*.dns.test", "dns.test"}, error);
  ASSERT_FALSE(names.empty()) << error << "\n" << pebble_->log() << named_.log();
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"*.dns.test", "dns.test"}));
  // Both challenge records (same name, two values in turn) were removed.
  EXPECT_EQ(named_.txt(fqdn("dns.test")), "");
  EXPECT_NE(named_.log().find("updating zone 'dns.test/IN': adding an RR"), std::string::npos)
      << named_.log();
}

TEST_F(AcmeDnsTest, Rfc2136KeyFileAndAWrongSecretIsReported) {
  dir_.write("key.conf", named_.key_file());
  env_.set("RFC2136_NAMESERVER", named_.address());
  env_.set("RFC2136_TSIG_FILE", (dir_.path() / "key.conf").string());
  env_.set("RFC2136_POLLING_INTERVAL", "0.2");
  std::string error;
  EXPECT_FALSE(order(config("rfc2136"), {"k.dns.test"}, error).empty()) << error;

  ::unsetenv("RFC2136_TSIG_FILE");
  env_.set("RFC2136_TSIG_KEY", named_.key_name());
  env_.set("RFC2136_TSIG_SECRET", "d3Jvbmcgc2VjcmV0IHdyb25nIHNlY3JldA==");
  env_.set("RFC2136_TSIG_ALGORITHM", "hmac-sha256");
  auto cfg = config("rfc2136");
  cfg.storage = (dir_.path() / "other.json").string();
  EXPECT_TRUE(order(cfg, {"w.dns.test"}, error).empty());
  EXPECT_NE(error.find("NOTAUTH"), std::string::npos) << error;
}

TEST_F(AcmeDnsTest, ExecRawModeRunsTheProgram) {
  // lego's RAW mode: present|cleanup -- <domain> <token> <key_auth>; the script computes the
  // record itself and writes it with nsupdate.
  auto script = dir_.write(
      "dns.sh",
      "#!/bin/sh\nset -e\necho \"$@\" >> " + (dir_.path() / "calls.log").string() +
          "\n[ \"$2\" = -- ] || exit 3\n"
          "value=$(printf %s \"$5\" | openssl dgst -sha256 -binary | basenc --base64url | tr -d "
          "=)\n"
          "if [ \"$1\" = present ]; then op=\"add _acme-challenge.$3. 60\"; else "
          "op=\"delete _acme-challenge.$3.\"; fi\n"
          "printf 'server 127.0.0.1 " +
          std::to_string(named_.port()) +
          "\\nupdate %s TXT \"%s\"\\nsend\\n' \"$op\" \"$value\" | nsupdate -y hmac-sha256:" +
          named_.key_name() + ":" + named_.key_secret() + "\n");
  ::chmod(script.c_str(), 0755);
  env_.set("EXEC_PATH", script.string());
  env_.set("EXEC_MODE", "RAW");
  env_.set("EXEC_POLLING_INTERVAL", "0.2");
  std::string error;
  auto names = order(config("exec"), {"e.dns.test"}, error);
  ASSERT_EQ(names, (std::vector<std::string>{"e.dns.test"})) << error << pebble_->log();
  std::ifstream in(dir_.path() / "calls.log");
  std::string present, cleanup;
  std::getline(in, present);
  std::getline(in, cleanup);
  EXPECT_TRUE(present.starts_with("present -- e.dns.test ")) << present;
  EXPECT_TRUE(cleanup.starts_with("cleanup -- e.dns.test ")) << cleanup;
  EXPECT_EQ(named_.txt(fqdn("e.dns.test")), "");
}

TEST_F(AcmeDnsTest, ExecFailureIsReportedWithItsOutput) {
  auto script = dir_.write("fail.sh", "#!/bin/sh\necho \"no API key for $2\" >&2\nexit 4\n");
  ::chmod(script.c_str(), 0755);
  env_.set("EXEC_PATH", script.string());
  std::string error;
  EXPECT_TRUE(order(config("exec"), {"f.dns.test"}, error).empty());
  EXPECT_NE(error.find("exit status 4"), std::string::npos) << error;
  EXPECT_NE(error.find("no API key for _acme-challenge.f.dns.test."), std::string::npos) << error;
}

TEST_F(AcmeDnsTest, HttpreqWithBasicAuth) {
  std::vector<std::string> calls;
  std::mutex mu;
  Server api([&](httplib::Server& s) {
    for (const char* path : {"/present", "/cleanup"}) {
      s.Post(path, [&, path](const httplib::Request& req, httplib::Response& res) {
        // Basic portier:s3cret
        if (req.get_header_value("Authorization") != "Basic cG9ydGllcjpzM2NyZXQ=") {
          res.status = 401;
          return;
        }
        auto j = nlohmann::json::parse(req.body);
        bool ok = named_.update_txt(std::string(path) == "/present", j["fqdn"], j["value"]);
        std::lock_guard lk(mu);
        calls.push_back(std::string(path) + " " + j["fqdn"].get<std::string>());
        res.status = ok ? 200 : 500;
      });
    }
  });
  env_.set("HTTPREQ_ENDPOINT", api.url() + "/");
  env_.set("HTTPREQ_USERNAME", "portier");
  env_.set("HTTPREQ_PASSWORD", "s3cret");
  env_.set("HTTPREQ_POLLING_INTERVAL", "0.2");
  std::string error;
  auto names = order(config("httpreq"), {"h.dns.test"}, error);
  ASSERT_EQ(names, (std::vector<std::string>{"h.dns.test"})) << error;
  std::lock_guard lk(mu);
  EXPECT_EQ(calls, (std::vector<std::string>{"/present _acme-challenge.h.dns.test.",
                                             "/cleanup _acme-challenge.h.dns.test."}));
}

TEST_F(AcmeDnsTest, CloudflareApiStandIn) {
  // Cloudflare's v4 API as documented: zone lookup by name, TXT records created and deleted by
  // id, token authentication; the records really go into named.
  std::map<std::string, std::pair<std::string, std::string>> records;  // id -> fqdn, value
  std::mutex mu;
  int next_id = 0;
  auto authorized = [](const httplib::Request& req, httplib::Response& res) {
    if (req.get_header_value("Authorization") == "Bearer cf-token") return true;
    res.status = 403;
    res.set_content(
        R"({"success":false,"errors":[{"code":9109,"message":"Invalid access token"}]})",
        "application/json");
    return false;
  };
  Server api([&](httplib::Server& s) {
    s.Get("/client/v4/zones", [&](const httplib::Request& req, httplib::Response& res) {
      if (!authorized(req, res)) return;
      nlohmann::json result = nlohmann::json::array();
      if (req.get_param_value("name") == "dns.test") {
        result.push_back({{"id", "zone-1"}, {"name", "dns.test"}});
      }
      res.set_content(nlohmann::json{{"success", true}, {"result", result}}.dump(),
                      "application/json");
    });
    s.Post("/client/v4/zones/zone-1/dns_records",
           [&](const httplib::Request& req, httplib::Response& res) {
             if (!authorized(req, res)) return;
             auto j = nlohmann::json::parse(req.body);
             std::string content = j["content"];
             if (j["type"] != "TXT" || content.size() < 2 || content.front() != '"') {
               res.status = 400;
               return;
             }
             std::string value = content.substr(1, content.size() - 2);
             std::string name = j["name"].get<std::string>() + ".";
             named_.update_txt(true, name, value);
             std::lock_guard lk(mu);
             std::string id = "rec-" + std::to_string(++next_id);
             records[id] = {name, value};
             res.set_content(nlohmann::json{{"success", true}, {"result", {{"id", id}}}}.dump(),
                             "application/json");
           });
    s.Delete(R"(/client/v4/zones/zone-1/dns_records/([a-z0-9-]+))",
             [&](const httplib::Request& req, httplib::Response& res) {
               if (!authorized(req, res)) return;
               std::lock_guard lk(mu);
               auto it = records.find(req.matches[1]);
               if (it == records.end()) {
                 res.status = 404;
                 return;
               }
               named_.update_txt(false, it->second.first, it->second.second);
               records.erase(it);
               res.set_content(R"({"success":true,"result":{}})", "application/json");
             });
  });
  env_.set("CF_DNS_API_TOKEN", "cf-token");
  env_.set("CLOUDFLARE_BASE_URL", api.url() + "/client/v4");
  env_.set("CLOUDFLARE_POLLING_INTERVAL", "0.2");
  std::string error;
  auto names = order(config("cloudflare"), {"c.dns.test"}, error);
  ASSERT_EQ(names, (std::vector<std::string>{"c.dns.test"})) << error;
  std::lock_guard lk(mu);
  EXPECT_EQ(next_id, 1);
  EXPECT_TRUE(records.empty());  // deleted after validation
  EXPECT_EQ(named_.txt(fqdn("c.dns.test")), "");
}

TEST_F(AcmeDnsTest, HttpAndDnsChallengesTogetherEachAnswerWhatTheCaOffers) {
  // As Traefik (lego): the apex is offered http-01 and dns-01, and http-01 comes first; the
  // wildcard is offered dns-01 only.
  std::atomic<int> http_hits{0};
  Server web([&](httplib::Server& s) {
    s.Get(R"(/\.well-known/acme-challenge/([A-Za-z0-9_-]+))",
          [&](const httplib::Request& req, httplib::Response& res) {
            ++http_hits;
            auto ka = tokens_.find(req.matches[1].str());
            if (ka) res.set_content(*ka, "application/octet-stream");
            if (!ka) res.status = 404;
          });
  });
  const int web_port = std::stoi(web.url().substr(web.url().rfind(':') + 1));
  pebble_ = std::make_unique<Pebble>(
      PebbleOptions{.http_port = web_port, .dns_server = named_.address()});
  env_.set("RFC2136_NAMESERVER", named_.address());
  env_.set("RFC2136_TSIG_KEY", named_.key_name());
  env_.set("RFC2136_TSIG_SECRET", named_.key_secret());
  env_.set("RFC2136_TSIG_ALGORITHM", "hmac-sha256");
  env_.set("RFC2136_POLLING_INTERVAL", "0.2");
  auto cfg = config("rfc2136");
  cfg.http_entrypoint = "web";
  std::string error;
  auto names = order(cfg, {"*.mix.dns.test", "mix.dns.test"}, error);
  ASSERT_EQ(names.size(), 2u) << error;
  EXPECT_GE(http_hits, 1);
  const std::string log = named_.log();
  std::size_t adds = 0;
  for (std::size_t p = log.find("adding an RR at '_acme-challenge.mix.dns.test' TXT");
       p != std::string::npos; p = log.find("adding an RR at '_acme-challenge.mix", p + 1)) {
    ++adds;
  }
  EXPECT_EQ(adds, 1u) << log;  // the wildcard's record only
}

TEST_F(AcmeDnsTest, LookupsAndPropagationChecksAskTheServers) {
  acme::dns::Lookup lookup({named_.address()}, 2s);
  const int port = named_.port();
  auto zone = lookup.find_zone("_acme-challenge.a.b.dns.test.");
  ASSERT_TRUE(zone) << zone.error().message;
  EXPECT_EQ(*zone, "dns.test.");
  EXPECT_FALSE(lookup.find_zone("_acme-challenge.elsewhere.example."));  // REFUSED
  const std::string name = "_acme-challenge.p.dns.test.";
  auto rns = lookup.check_recursive(name, "v1");
  ASSERT_FALSE(rns);
  EXPECT_NE(rns.error().message.find("did not return the expected TXT record"), std::string::npos)
      << rns.error().message;
  EXPECT_FALSE(lookup.check_authoritative(name, "v1", port));
  ASSERT_TRUE(named_.update_txt(true, name, "v0"));
  ASSERT_TRUE(named_.update_txt(true, name, "v1"));
  EXPECT_TRUE(lookup.check_recursive(name, "v1"));
  EXPECT_TRUE(lookup.check_authoritative(name, "v1", port));
  EXPECT_FALSE(lookup.check_authoritative(name, "v2", port));
  // The NS (localhost.) is asked on the port given: elsewhere nothing answers.
  EXPECT_FALSE(lookup.check_authoritative(name, "v1", free_port()));
  // lego's CNAME support: the record is looked up (and set) at the end of the chain.
  ASSERT_TRUE(named_.update("add _acme-challenge.c.dns.test. 60 CNAME c1.dns.test."));
  ASSERT_TRUE(named_.update("add c1.dns.test. 60 CNAME target.dns.test."));
  EXPECT_EQ(lookup.follow_cname("_acme-challenge.c.dns.test"), "target.dns.test.");
  EXPECT_EQ(lookup.follow_cname(name), name);
}

TEST(AcmeDnsProviders, UnknownProviderAndMissingVariablesAreClearErrors) {
  acme::DnsChallengeConfig cfg;
  cfg.provider = "route53";
  auto s = acme::make_dns_solver(cfg, [](auto) { return true; });
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("supported: cloudflare, exec, httpreq, rfc2136"),
            std::string::npos);
  cfg.provider = "rfc2136";
  ::unsetenv("RFC2136_NAMESERVER");
  s = acme::make_dns_solver(cfg, [](auto) { return true; });
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("RFC2136_NAMESERVER"), std::string::npos);
}

}  // namespace
}  // namespace portier::test
