// The certificate store: what a TLS handshake needs, compiled from the dynamic configuration
// (tls.certificates, tls.options, tls.stores) and the ACME certificates, published with the
// routing table and replaced as a whole. A handshake holds the store it started with, so a new
// or renewed certificate reaches new handshakes without touching open connections.
//
// Selection (Traefik's): the SNI name's exact match, then a one-label wildcard
// ("*.example.com" for "a.example.com"), then the default certificate, unless the TLS options
// chosen for that name say sniStrict. File certificates win over ACME ones for the same name.
// TLS options are chosen per name from the routers whose Host rules name it (`tls.options`),
// else "default".
//
// Threading: immutable after build; read by any worker.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/dynamic.h"
#include "tls/certificate.h"

namespace portier::tls {

// tls.options compiled for OpenSSL.
struct CompiledOptions {
  std::string name;
  int min_version = 0;       // TLS1_2_VERSION unless set
  int max_version = 0;       // 0: the highest OpenSSL supports
  std::string cipher_list;   // TLS 1.2 and below, OpenSSL names; empty: OpenSSL's default
  std::string ciphersuites;  // TLS 1.3; empty: OpenSSL's default
  std::string groups;        // curvePreferences; empty: OpenSSL's default
  std::string alpn_wire;     // ALPN preference list in wire format: h2 and http/1.1 only
  // Every alpnProtocols entry, in wire format: what a TCP router's handshake offers (its
  // backend, not portier, speaks them: mqtt, imap, ...).
  std::string alpn_wire_any;
  bool sni_strict = false;
  // clientAuth (Traefik's clientAuthType as OpenSSL verify flags): SSL_VERIFY_NONE asks for no
  // certificate; SSL_VERIFY_PEER asks (RequestClientCert), with SSL_VERIFY_FAIL_IF_NO_PEER_CERT
  // requires one (RequireAnyClientCert, RequireAndVerifyClientCert).
  int client_verify_mode = 0;
  // The certificate must chain to client_cas (VerifyClientCertIfGiven,
  // RequireAndVerifyClientCert); otherwise any certificate is taken as sent.
  bool client_verify_chain = false;
  // Built once per compile from caFiles, shared by every handshake (OpenSSL's own reference
  // counting lets handshakes on any worker hold them). Null without caFiles.
  std::shared_ptr<X509_STORE> client_cas;
  std::shared_ptr<STACK_OF(X509_NAME)> client_ca_names;  // sent in the CertificateRequest
  // Set when a certificate is asked for: a digest of the name, the type and the CAs, so a session
  // made under other (or older) clientAuth settings is never resumed under these.
  std::string session_id_context;
  bool is_default = true;  // equal to the built-in defaults: nothing to apply per handshake
};

// The TLS 1.2 suites offered when no cipherSuites are given, as a server and to servers: Go's
// crypto/tls defaults (since Go 1.22, and so Traefik v3's) in Go's order on a CPU with AES
// instructions: ECDHE only (no RSA key exchange: no forward secrecy), AEADs first, AES-128
// before AES-256, then the CBC suites with SHA-1 MACs; not the CBC-SHA256/384 ones, DHE or
// CCM, which OpenSSL's DEFAULT adds.
inline constexpr const char* kDefaultTls12Suites =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA";

// Compiles one tls.options entry; an error names the bad value.
Result<CompiledOptions> compile_options(const std::string& name, const config::TlsOptions& o);

class Store {
 public:
  // The certificate for this SNI name (lower case, no trailing dot), or nullptr.
  const Certificate* find(std::string_view sni) const;
  const Certificate& default_certificate() const { return *default_; }
  const CompiledOptions& options_for(std::string_view sni) const;
  // The tls.options entry `name` ("default" always exists), or nullptr when there is none or it
  // did not compile: what a TCP router that terminates TLS names (its route's own options).
  const CompiledOptions* options_named(std::string_view name) const;
  std::size_t size() const { return certificates_.size(); }
  // Every certificate chosen by name: file certificates in configuration order, then ACME ones.
  const std::vector<std::shared_ptr<const Certificate>>& certificates() const {
    return certificates_;
  }

 private:
  friend struct StoreBuilder;
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::vector<std::shared_ptr<const Certificate>> certificates_;
  std::unordered_map<std::string, const Certificate*, Hash, std::equal_to<>> exact_;
  std::unordered_map<std::string, const Certificate*, Hash, std::equal_to<>> wildcard_;  // "x.y"
  std::shared_ptr<const Certificate> default_;
  std::map<std::string, CompiledOptions, std::less<>> options_;  // by name, "default" always
  std::unordered_map<std::string, const CompiledOptions*, Hash, std::equal_to<>> by_host_;
};

struct StoreError {
  std::string object;  // "tls.certificates[0]", "tls.options.modern", ...
  std::string message;
};

struct StoreBuilder {
  const config::Tls* tls = nullptr;
  std::vector<std::shared_ptr<const Certificate>> acme;  // served after file certificates
  std::map<std::string, std::string> options_by_host;    // host -> tls.options name
  std::shared_ptr<const Certificate> generated_default;  // when no defaultCertificate is set

  std::shared_ptr<const Store> build(std::vector<StoreError>& errors) const;
};

}  // namespace portier::tls
