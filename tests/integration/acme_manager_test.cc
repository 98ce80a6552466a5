// The ACME Manager against a real Pebble: issuance, reuse of stored certificates, renewal,
// retries with backoff across a CA outage, EAB, and the failure state across restarts.
// HTTP-01 is answered by a small cpp-httplib server reading the same ChallengeTokens the
// Manager fills (portier's workers do the same on plain-HTTP entrypoints).
#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "common/base64.h"
#include "acme/crypto.h"
#include "acme/manager.h"
#include "support/pebble.h"
#include "support/process.h"

namespace portier::test {
namespace {

using namespace std::chrono_literals;

class Responder {
 public:
  explicit Responder(tls::ChallengeTokens& tokens) {
    svr_.Get(R"(/\.well-known/acme-challenge/([A-Za-z0-9_-]+))",
             [&tokens, this](const httplib::Request& req, httplib::Response& res) {
               ++hits_;
               if (auto ka = tokens.find(req.matches[1].str())) {
                 res.set_content(*ka, "application/octet-stream");
               } else {
                 res.status = 404;
               }
             });
    port_ = svr_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { svr_.listen_after_bind(); });
    poll_until([&] { return svr_.is_running(); }, std::chrono::seconds(5));
  }
  ~Responder() {
    svr_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  int hits() const { return hits_; }

 private:
  httplib::Server svr_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int> hits_{0};
};

std::string read_file(const std::string& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<X509*> read_chain(const std::string& pem) {
  std::vector<X509*> out;
  BIO* b = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  while (X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr)) out.push_back(x);
  BIO_free(b);
  return out;
}

// X509_verify_cert with `root_pem` as the only trust anchor, and the hostname check.
std::string verify_chain(const acme::Certificate& cert, const std::string& root_pem,
                         const std::string& host) {
  auto chain = read_chain(cert.cert_pem);
  auto roots = read_chain(root_pem);
  if (chain.empty() || roots.empty()) return "no certificates";
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, roots[0]);
  STACK_OF(X509)* untrusted = sk_X509_new_null();
  for (std::size_t i = 1; i < chain.size(); ++i) sk_X509_push(untrusted, chain[i]);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, chain[0], untrusted);
  X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(ctx), host.c_str(), host.size());
  std::string result = X509_verify_cert(ctx) == 1
                           ? ""
                           : X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
  // The key matches the leaf.
  BIO* kb = BIO_new_mem_buf(cert.key_pem.data(), static_cast<int>(cert.key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
  if (result.empty() && (key == nullptr || X509_check_private_key(chain[0], key) != 1)) {
    result = "the key does not match the certificate";
  }
  EVP_PKEY_free(key);
  BIO_free(kb);
  X509_STORE_CTX_free(ctx);
  sk_X509_free(untrusted);
  X509_STORE_free(store);
  for (X509* x : chain) X509_free(x);
  for (X509* x : roots) X509_free(x);
  return result;
}

std::string serial_of(const acme::Certificate& c) {
  auto info = acme::parse_leaf(c.cert_pem);
  return info ? info->serial : std::string();
}

class AcmeManagerTest : public ::testing::Test {
 protected:
  void TearDown() override { ::unsetenv("PORTIER_ACME_RETRY_BASE_MS"); }

  acme::ResolverConfig config(const Pebble& pebble) const {
    acme::ResolverConfig c;
    c.name = "le";
    c.email = "ops@example.com";
    c.storage = (dir_.path() / "acme.json").string();
    c.ca_server = pebble.directory_url();
    c.ca_certificates = {pebble.ca_bundle()};
    c.key_type = "EC256";
    c.http_entrypoint = "web";  // HTTP-01, answered by responder_
    return c;
  }
  static std::optional<acme::DomainStatus> status_of(const acme::Manager& m) {
    auto s = m.status();
    if (s.empty()) return std::nullopt;
    return s[0];
  }

  TempDir dir_;
  tls::ChallengeTokens tokens_;
  Responder responder_{tokens_};
};

TEST_F(AcmeManagerTest, IssuesAVerifiableCertificateAndReusesTheStoredOne) {
  Pebble pebble({.http_port = responder_.port()});
  std::atomic<int> changes{0};
  {
    acme::Manager m(config(pebble), tokens_, [&] { ++changes; });
    ASSERT_TRUE(m.load());
    m.start();
    m.set_domains({{"a.test", "www.a.test"}});
    ASSERT_TRUE(poll_until([&] { return !m.certificates().empty(); }, 40s))
        << (status_of(m) ? status_of(m)->last_error : "") << pebble.log();
    auto certs = m.certificates();
    ASSERT_EQ(certs.size(), 1u);
    EXPECT_EQ(certs[0].domains, (std::vector<std::string>{"a.test", "www.a.test"}));
    EXPECT_EQ(verify_chain(certs[0], pebble.root_pem(), "a.test"), "");
    EXPECT_EQ(verify_chain(certs[0], pebble.root_pem(), "www.a.test"), "");
    EXPECT_NE(verify_chain(certs[0], pebble.root_pem(), "b.test"), "");
    EXPECT_GT(certs[0].not_after, certs[0].not_before);
    EXPECT_EQ(changes, 1);
    auto st = status_of(m);
    ASSERT_TRUE(st);
    EXPECT_EQ(st->state, "valid");
    EXPECT_GT(st->next_attempt, certs[0].not_before);
    EXPECT_GE(responder_.hits(), 2);  // pebble validates from several perspectives
    EXPECT_FALSE(tokens_.find("anything"));
  }
  // The file is Traefik's format, mode 0600, with an EC account key in SEC1 DER.
  std::string path = (dir_.path() / "acme.json").string();
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto file = nlohmann::json::parse(read_file(path));
  EXPECT_EQ(file["le"]["Account"]["Email"], "ops@example.com");
  EXPECT_NE(file["le"]["Account"]["Registration"]["uri"], "");
  EXPECT_EQ(file["le"]["Account"]["Registration"]["body"]["status"], "valid");
  EXPECT_EQ(file["le"]["Certificates"][0]["domain"]["main"], "a.test");
  EXPECT_EQ(file["le"]["Certificates"][0]["Store"], "default");

  // A second manager serves the stored certificate without ordering again.
  int hits = responder_.hits();
  acme::Manager m2(config(pebble), tokens_, [&] { ++changes; });
  ASSERT_TRUE(m2.load());
  EXPECT_EQ(m2.certificates().size(), 1u);  // before start(): loaded synchronously
  m2.start();
  ASSERT_TRUE(poll_until([&] { return m2.idle_passes() >= 1; }, 5s));  // its first pass
  const auto passes = m2.idle_passes();
  m2.set_domains({{"www.a.test", "a.test"}});  // same set, other order
  // The manager looked at the new set and found nothing to do: no order, no challenge.
  ASSERT_TRUE(poll_until([&] { return m2.idle_passes() > passes; }, 5s));
  EXPECT_EQ(responder_.hits(), hits);
  EXPECT_EQ(changes, 1);
  EXPECT_EQ(status_of(m2)->state, "valid");
}

TEST_F(AcmeManagerTest, RenewsShortLivedCertificates) {
  Pebble pebble({.http_port = responder_.port(), .validity_seconds = 9});
  std::atomic<int> changes{0};
  acme::Manager m(config(pebble), tokens_, [&] { ++changes; });
  ASSERT_TRUE(m.load());
  m.start();
  m.set_domains({{"renew.test"}});
  ASSERT_TRUE(poll_until([&] { return changes >= 1; }, 30s)) << status_of(m)->last_error;
  auto first = m.certificates().at(0);
  EXPECT_LE(first.not_after - first.not_before, 10);
  // Renewed at two thirds of the lifetime; the old certificate is served meanwhile.
  ASSERT_TRUE(poll_until(
      [&] {
        auto c = m.certificates();
        EXPECT_EQ(c.size(), 1u);
        return changes >= 2 && !c.empty() && serial_of(c[0]) != serial_of(first);
      },
      40s))
      << status_of(m)->last_error;
  auto second = m.certificates().at(0);
  EXPECT_GT(second.not_after, first.not_after);
  EXPECT_EQ(verify_chain(second, pebble.root_pem(), "renew.test"), "");
}

TEST_F(AcmeManagerTest, RetriesWithBackoffUntilTheCaIsBack) {
  ::setenv("PORTIER_ACME_RETRY_BASE_MS", "200", 1);  // 200 ms, 2 s, 20 s, then daily
  Pebble pebble({.http_port = responder_.port()});
  pebble.stop();
  acme::Manager m(config(pebble), tokens_, nullptr);
  ASSERT_TRUE(m.load());
  m.start();
  m.set_domains({{"retry.test"}});
  ASSERT_TRUE(poll_until([&] { return status_of(m)->failures >= 2; }, 10s));
  auto st = *status_of(m);
  EXPECT_EQ(st.state, "failed");
  EXPECT_NE(st.last_error.find("connect to server"), std::string::npos) << st.last_error;
  EXPECT_GT(st.next_attempt, 0);
  // Asking again for the same set does not retry early.
  m.set_domains({{"retry.test"}});
  EXPECT_EQ(status_of(m)->failures, st.failures);
  EXPECT_EQ(status_of(m)->next_attempt, st.next_attempt);
  // The failure state is in the file.
  auto file = nlohmann::json::parse(read_file(config(pebble).storage));
  EXPECT_GE(file["le"]["PortierFailures"][0]["failures"].get<int>(), 2);

  pebble.start();
  ASSERT_TRUE(poll_until([&] { return !m.certificates().empty(); }, 40s))
      << status_of(m)->last_error;
  EXPECT_EQ(status_of(m)->state, "valid");
  EXPECT_EQ(status_of(m)->failures, 0);
  EXPECT_EQ(verify_chain(m.certificates()[0], pebble.root_pem(), "retry.test"), "");
  file = nlohmann::json::parse(read_file(config(pebble).storage));
  EXPECT_FALSE(file["le"].contains("PortierFailures"));
}

TEST_F(AcmeManagerTest, FailureStateSurvivesARestart) {
  ::setenv("PORTIER_ACME_RETRY_BASE_MS", "600000", 1);  // the next attempt is 10 min away
  Pebble pebble({.http_port = responder_.port()});
  pebble.stop();
  acme::DomainStatus before;
  {
    acme::Manager m(config(pebble), tokens_, nullptr);
    ASSERT_TRUE(m.load());
    m.start();
    m.set_domains({{"down.test"}});
    ASSERT_TRUE(poll_until([&] { return status_of(m)->failures == 1; }, 10s));
    before = *status_of(m);
  }
  pebble.start();
  acme::Manager m(config(pebble), tokens_, nullptr);
  ASSERT_TRUE(m.load());
  m.start();
  m.set_domains({{"down.test"}});
  auto st = status_of(m);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->state, "failed");
  EXPECT_EQ(st->failures, 1);
  EXPECT_EQ(st->next_attempt, before.next_attempt);
  EXPECT_EQ(st->last_error, before.last_error);
  // Pebble is up again, but the backoff holds.
  EXPECT_FALSE(
      poll_until([&] { return responder_.hits() > 0 || status_of(m)->failures != 1; }, 1500ms));
}

TEST_F(AcmeManagerTest, ExternalAccountBinding) {
  Pebble pebble({.http_port = responder_.port(),
                 .eab_required = true,
                 .eab_keys = {{kPebbleEabKid, kPebbleEabKey}}});
  {
    // Without EAB the CA refuses the account.
    acme::Manager m(config(pebble), tokens_, nullptr);
    ASSERT_TRUE(m.load());
    m.start();
    m.set_domains({{"eab.test"}});
    ASSERT_TRUE(poll_until([&] { return status_of(m)->failures == 1; }, 20s));
    EXPECT_NE(status_of(m)->last_error.find("account"), std::string::npos)
        << status_of(m)->last_error;
  }
  std::filesystem::remove(dir_.path() / "acme.json");
  auto cfg = config(pebble);
  cfg.eab_kid = kPebbleEabKid;
  cfg.eab_hmac_encoded = kPebbleEabKey;
  acme::Manager m(cfg, tokens_, nullptr);
  ASSERT_TRUE(m.load());
  m.start();
  m.set_domains({{"eab.test"}});
  ASSERT_TRUE(poll_until([&] { return !m.certificates().empty(); }, 40s))
      << status_of(m)->last_error;
  EXPECT_EQ(verify_chain(m.certificates()[0], pebble.root_pem(), "eab.test"), "");
}

// An acme.json Traefik wrote (RSA 4096-style account key in PKCS#1 DER, KeyType "4096") is used
// as-is: the account key signs with RS256 and is kept.
TEST_F(AcmeManagerTest, UsesATraefikRsaAccountKey) {
  Pebble pebble({.http_port = responder_.port()});
  auto rsa = acme::generate_key("RSA2048");
  ASSERT_TRUE(rsa);
  std::string pkcs1 = acme::private_key_der(rsa->get());
  nlohmann::json file = {
      {"le",
       {{"Account",
         {{"Email", "ops@example.com"},
          {"Registration", {{"body", {{"status", "valid"}}}, {"uri", "https://gone/acct/1"}}},
          {"PrivateKey", base64_encode(pkcs1)},
          {"KeyType", "4096"}}},
        {"Certificates", nullptr}}},
      {"other", {{"Account", nullptr}, {"Certificates", nullptr}}}};
  auto path = dir_.write("acme.json", file.dump());
  std::filesystem::permissions(
      path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  acme::Manager m(config(pebble), tokens_, nullptr);
  ASSERT_TRUE(m.load());
  m.start();
  m.set_domains({{"rsa.test"}});
  ASSERT_TRUE(poll_until([&] { return !m.certificates().empty(); }, 40s))
      << status_of(m)->last_error;
  auto back = nlohmann::json::parse(read_file(path.string()));
  EXPECT_EQ(back["le"]["Account"]["PrivateKey"], file["le"]["Account"]["PrivateKey"]);
  EXPECT_EQ(back["le"]["Account"]["KeyType"], "4096");
  EXPECT_NE(back["le"]["Account"]["Registration"]["uri"], "https://gone/acct/1");
  EXPECT_EQ(back["other"], file["other"]);
}

std::string subject_cn(const std::string& pem) {
  auto certs = read_chain(pem);
  if (certs.empty()) return {};
  char buf[256] = {0};
  X509_NAME_get_text_by_NID(X509_get_subject_name(certs[0]), NID_commonName, buf, sizeof buf);
  for (X509* x : certs) X509_free(x);
  return buf;
}

// With PEBBLE_ALTERNATE_ROOTS, pebble offers the chain to another root as Link rel="alternate".
TEST_F(AcmeManagerTest, PreferredChainPicksTheAlternate) {
  Pebble pebble({.http_port = responder_.port(), .env = {{"PEBBLE_ALTERNATE_ROOTS", "1"}}});
  auto [status, root1] =
      pebble.get("https://127.0.0.1:" + std::to_string(pebble.management_port()) + "/roots/1");
  ASSERT_EQ(status, 200);
  auto cfg = config(pebble);
  cfg.preferred_chain = subject_cn(root1);
  ASSERT_FALSE(cfg.preferred_chain.empty());
  acme::Manager m(cfg, tokens_, nullptr);
  ASSERT_TRUE(m.load());
  m.start();
  m.set_domains({{"chain.test"}});
  ASSERT_TRUE(poll_until([&] { return !m.certificates().empty(); }, 40s))
      << status_of(m)->last_error;
  auto cert = m.certificates()[0];
  EXPECT_EQ(acme::top_issuer_cn(cert.cert_pem), cfg.preferred_chain);
  EXPECT_EQ(verify_chain(cert, root1, "chain.test"), "");
  EXPECT_NE(verify_chain(cert, pebble.root_pem(), "chain.test"), "");
}

}  // namespace
}  // namespace portier::test
