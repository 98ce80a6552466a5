// Pebble (Let's Encrypt's test ACME server, Debian package `pebble`) for tests: a pebble and a
// pebble-challtestsrv (its DNS, answering 127.0.0.1 for every name) on free loopback ports, with
// a throwaway TLS certificate for pebble's API. HTTP-01 validation connects to 127.0.0.1 at
// `http_port`, which the test (or a portier under test) must serve.
//
// Pebble keeps everything in memory: stop()/start() restarts it on the same ports but with new
// accounts, orders and a new root. Each Pebble kills and reaps its own processes on destruction.
// Failures to start throw std::runtime_error with the processes' logs.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "support/process.h"

namespace portier::test {

struct PebbleOptions {
  int http_port = 0;                   // where HTTP-01 tokens are served (required)
  int tls_port = 0;                    // where TLS-ALPN-01 is validated (tlsPort); 0: a free port
  // The DNS pebble resolves names with ("127.0.0.1:<port>", e.g. a test's named for DNS-01);
  // empty: pebble-challtestsrv, answering 127.0.0.1 for every name.
  std::string dns_server;
  std::uint64_t validity_seconds = 0;  // certificateValidityPeriod; 0: pebble's default (5 y)
  bool eab_required = false;           // externalAccountBindingRequired
  std::map<std::string, std::string> eab_keys;  // kid -> base64url HMAC key
  // Extra environment for pebble, e.g. {"PEBBLE_CHAIN_LENGTH", "3"}; these defaults are always
  // set: PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0.
  std::vector<std::pair<std::string, std::string>> env;
};

// pebble's own example EAB key (pebble-config-external-account-bindings.json).
inline constexpr const char* kPebbleEabKid = "kid-1";
inline constexpr const char* kPebbleEabKey =
    "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W";

class Pebble {
 public:
  explicit Pebble(PebbleOptions options);
  ~Pebble();
  Pebble(const Pebble&) = delete;
  Pebble& operator=(const Pebble&) = delete;

  std::string directory_url() const;  // https://127.0.0.1:<port>/dir
  std::string ca_bundle() const;      // PEM file trusting pebble's API (caCertificates)
  int port() const { return port_; }
  int management_port() const { return mgmt_port_; }
  int http_port() const { return options_.http_port; }
  int tls_port() const { return tls_port_; }
  // The current issuing root, PEM, from the management API (/roots/0); "" on failure.
  std::string root_pem() const;
  // An HTTPS GET to pebble's API or management port; {status, body}, status 0 on failure.
  std::pair<long, std::string> get(const std::string& url) const;

  void stop();   // pebble only; the DNS stays up
  void start();  // pebble again, same ports and options; waits for the directory
  bool running() const { return pebble_ != nullptr; }
  std::string log() const;

 private:
  void write_config();

  PebbleOptions options_;
  TempDir dir_;
  int port_ = 0;
  int mgmt_port_ = 0;
  int dns_port_ = 0;
  int tls_port_ = 0;
  std::unique_ptr<Process> dns_;
  std::unique_ptr<Process> pebble_;
  int starts_ = 0;
};

}  // namespace portier::test
