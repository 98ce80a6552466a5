#include "support/pebble.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace portier::test {
namespace {

constexpr const char* kPebble = "/usr/bin/pebble";
constexpr const char* kChallSrv = "/usr/bin/pebble-challtestsrv";
constexpr const char* kOpenssl = "/usr/bin/openssl";

size_t append(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Pebble::Pebble(PebbleOptions options) : options_(std::move(options)) {
  if (options_.http_port <= 0) throw std::runtime_error("Pebble: http_port is required");
  port_ = free_port();
  mgmt_port_ = free_port();
  dns_port_ = free_port();
  tls_port_ = options_.tls_port > 0 ? options_.tls_port : free_port();

  // pebble's API certificate: self-signed, valid for 127.0.0.1 and localhost.
  auto gen = Process::start(
      {kOpenssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-keyout", (dir_.path() / "api.key").string(), "-out", (dir_.path() / "api.pem").string(),
       "-days", "7", "-subj", "/CN=127.0.0.1", "-addext",
       "subjectAltName=IP:127.0.0.1,DNS:localhost"},
      dir_.path() / "openssl.log");
  if (gen->wait_exit(std::chrono::seconds(20)) != 0) {
    throw std::runtime_error("Pebble: openssl failed: " + gen->log());
  }
  write_config();
  if (!options_.dns_server.empty()) {
    start();
    return;
  }

  dns_ = Process::start(
      {kChallSrv, "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "", "-http01", "", "-https01", "",
       "-tlsalpn01", "", "-dns01", "127.0.0.1:" + std::to_string(dns_port_), "-management",
       "127.0.0.1:" + std::to_string(free_port())},
      dir_.path() / "challtestsrv.log");
  if (!dns_->wait_for_log("Starting challenge servers", std::chrono::seconds(10))) {
    throw std::runtime_error("Pebble: pebble-challtestsrv did not start: " +
                             read_file(dir_.path() / "challtestsrv.log"));
  }
  start();
}

Pebble::~Pebble() {
  pebble_.reset();
  dns_.reset();
}

void Pebble::write_config() {
  nlohmann::json p{{"listenAddress", "127.0.0.1:" + std::to_string(port_)},
                   {"managementListenAddress", "127.0.0.1:" + std::to_string(mgmt_port_)},
                   {"certificate", (dir_.path() / "api.pem").string()},
                   {"privateKey", (dir_.path() / "api.key").string()},
                   {"httpPort", options_.http_port},
                   {"tlsPort", tls_port_},
                   {"ocspResponderURL", ""},
                   {"externalAccountBindingRequired", options_.eab_required}};
  if (!options_.eab_keys.empty()) p["externalAccountMACKeys"] = options_.eab_keys;
  if (options_.validity_seconds > 0) p["certificateValidityPeriod"] = options_.validity_seconds;
  dir_.write("pebble-config.json", nlohmann::json{{"pebble", p}}.dump(2));
}

void Pebble::start() {
  if (pebble_) return;
  // Process::start passes the environment on: set pebble's variables just around the fork.
  std::vector<std::pair<std::string, std::string>> env = {
      {"PEBBLE_VA_NOSLEEP", "1"}, {"PEBBLE_WFE_NONCEREJECT", "0"}, {"PEBBLE_AUTHZREUSE", "0"}};
  env.insert(env.end(), options_.env.begin(), options_.env.end());
  for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
  auto log = dir_.path() / ("pebble-" + std::to_string(++starts_) + ".log");
  pebble_ = Process::start(
      {kPebble, "-config", (dir_.path() / "pebble-config.json").string(), "-dnsserver",
       options_.dns_server.empty() ? "127.0.0.1:" + std::to_string(dns_port_)
                                   : options_.dns_server},
      log);
  for (const auto& [k, v] : env) ::unsetenv(k.c_str());
  bool up = poll_until([&] { return get(directory_url()).first == 200 || !pebble_->running(); },
                       std::chrono::seconds(20)) &&
            pebble_->running();
  if (!up) {
    std::string text = pebble_->log();
    pebble_.reset();
    throw std::runtime_error("Pebble: pebble did not start: " + text);
  }
}

void Pebble::stop() {
  if (!pebble_) return;
  pebble_->signal(SIGTERM);
  pebble_->wait_exit(std::chrono::seconds(5));
  pebble_.reset();  // SIGKILL if it is still there
}

std::string Pebble::log() const {
  std::string out;
  for (int i = 1; i <= starts_; ++i) {
    out += read_file(dir_.path() / ("pebble-" + std::to_string(i) + ".log"));
  }
  return out;
}

std::string Pebble::directory_url() const {
  return "https://127.0.0.1:" + std::to_string(port_) + "/dir";
}

std::string Pebble::ca_bundle() const { return (dir_.path() / "api.pem").string(); }

std::pair<long, std::string> Pebble::get(const std::string& url) const {
  std::string body;
  long status = 0;
  CURL* h = curl_easy_init();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_CAINFO, ca_bundle().c_str());
  curl_easy_setopt(h, CURLOPT_CAPATH, nullptr);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, append);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
  if (curl_easy_perform(h) == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(h);
  return {status, std::move(body)};
}

std::string Pebble::root_pem() const {
  auto [status, body] = get("https://127.0.0.1:" + std::to_string(mgmt_port_) + "/roots/0");
  return status == 200 ? body : std::string();
}

}  // namespace portier::test
