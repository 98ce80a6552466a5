#include "tls/context.h"

#include <openssl/err.h>
#include <openssl/tls1.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <string_view>

namespace portier::tls {
namespace {

constexpr const char* kTls13Suites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

// The SNI host name of a ClientHello, lower-cased and without a trailing dot, into `out`
// (256 bytes). Returns its length, 0 when absent or malformed.
std::size_t client_hello_sni(SSL* ssl, char* out) {
  const unsigned char* p = nullptr;
  std::size_t len = 0;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p, &len) != 1 || len < 5) return 0;
  std::size_t list = static_cast<std::size_t>(p[0]) << 8 | p[1];
  if (list + 2 > len || p[2] != TLSEXT_NAMETYPE_host_name) return 0;
  std::size_t n = static_cast<std::size_t>(p[3]) << 8 | p[4];
  if (n == 0 || n + 5 > len || n > 255) return 0;
  for (std::size_t i = 0; i < n; ++i) {
    out[i] = static_cast<char>(std::tolower(p[5 + i]));
  }
  if (out[n - 1] == '.') --n;
  return n;
}

// Our own ex_data slot for the store: Asio's stream engine keeps its verify callback in the app
// data slot (SSL_get_app_data) and deletes whatever it finds there when the stream goes away.
int store_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

const Store* store_of(SSL* ssl) {
  return static_cast<const Store*>(SSL_get_ex_data(ssl, store_index()));
}

// A second slot: the options a TCP router fixed for this handshake (null: by SNI name).
int options_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

const CompiledOptions* fixed_options(SSL* ssl) {
  return static_cast<const CompiledOptions*>(SSL_get_ex_data(ssl, options_index()));
}

// A third slot, set when the handshake answers a TLS-ALPN-01 challenge (a non-null marker).
int acme_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

constexpr unsigned char kAcmeTls[] =
    "\x0a"
    "acme-tls/1";

// Does the ClientHello's ALPN list offer `acme-tls/1`?
bool offers_acme_tls(SSL* ssl) {
  const unsigned char* p = nullptr;
  std::size_t len = 0;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation, &p,
                                &len) != 1 ||
      len < 2) {
    return false;
  }
  std::size_t end = std::min(len, 2 + (static_cast<std::size_t>(p[0]) << 8 | p[1]));
  for (std::size_t i = 2; i < end;) {
    std::size_t n = p[i];
    if (i + 1 + n > end) return false;
    if (n == sizeof kAcmeTls - 2 && std::memcmp(p + i + 1, kAcmeTls + 1, n) == 0) return true;
    i += 1 + n;
  }
  return false;
}

// RequestClientCert and RequireAnyClientCert: the certificate is taken as sent (OpenSSL still
// checks that the client holds its key).
int accept_any_certificate(int, X509_STORE_CTX*) { return 1; }

// Applies the per-name TLS options; false when OpenSSL refuses one of them (they were checked
// when the configuration was compiled, so this means OpenSSL and that check disagree).
bool apply_options(SSL* ssl, const CompiledOptions& o) {
  if (SSL_set_min_proto_version(ssl, o.min_version) != 1) return false;
  // TLS 1.0 and 1.1 sign with SHA-1, which OpenSSL 3 allows only at security level 0: asking for
  // them (Traefik's minVersion VersionTLS10) has to lower it for that handshake to mean anything.
  if (o.min_version != 0 && o.min_version < TLS1_2_VERSION) SSL_set_security_level(ssl, 0);
  if (SSL_set_max_proto_version(ssl, o.max_version) != 1) return false;
  if (!o.cipher_list.empty() && SSL_set_cipher_list(ssl, o.cipher_list.c_str()) != 1) return false;
  if (!o.ciphersuites.empty() && SSL_set_ciphersuites(ssl, o.ciphersuites.c_str()) != 1) {
    return false;
  }
  if (!o.groups.empty() && SSL_set1_groups_list(ssl, o.groups.c_str()) != 1) return false;
  if (o.client_verify_mode != SSL_VERIFY_NONE) {
    // A session carries the client certificate it was made with: it may only be resumed under
    // the same clientAuth settings (OpenSSL compares this context when resuming), so a client
    // cannot skip verification with a session from a laxer name or an older CA list.
    if (SSL_set_session_id_context(
            ssl, reinterpret_cast<const unsigned char*>(o.session_id_context.data()),
            static_cast<unsigned int>(o.session_id_context.size())) != 1) {
      return false;
    }
    // Stateless tickets keep the client's leaf but not the rest of the chain it sent, which
    // passTLSClientCert passes on: resumption goes through the server's session cache instead.
    SSL_set_options(ssl, SSL_OP_NO_TICKET);
    SSL_set_verify(ssl, o.client_verify_mode,
                   o.client_verify_chain ? nullptr : accept_any_certificate);
    if (o.client_cas != nullptr && SSL_set1_verify_cert_store(ssl, o.client_cas.get()) != 1) {
      return false;
    }
    if (o.client_ca_names != nullptr) {
      STACK_OF(X509_NAME)* names = SSL_dup_CA_list(o.client_ca_names.get());
      if (names == nullptr) return false;
      SSL_set_client_CA_list(ssl, names);  // takes ownership
    }
  }
  return true;
}

int on_client_hello(SSL* ssl, int* alert, void* arg) {
  const Store* store = store_of(ssl);
  if (store == nullptr) {
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_CLIENT_HELLO_ERROR;
  }
  char buf[256];
  std::string_view sni(buf, client_hello_sni(ssl, buf));
  if (arg != nullptr && offers_acme_tls(ssl)) {
    // A CA validating TLS-ALPN-01: the challenge certificate for that name, nothing else (no
    // per-name options: the validation must not depend on them).
    auto cert = static_cast<const AlpnChallenges*>(arg)->find(sni);
    if (cert == nullptr || SSL_use_cert_and_key(ssl, cert->cert, cert->key, nullptr, 1) != 1) {
      ERR_clear_error();
      *alert = SSL_AD_UNRECOGNIZED_NAME;
      return SSL_CLIENT_HELLO_ERROR;
    }
    SSL_set_ex_data(ssl, acme_index(), const_cast<unsigned char*>(kAcmeTls));
    return SSL_CLIENT_HELLO_SUCCESS;
  }
  const CompiledOptions* fixed = fixed_options(ssl);
  const CompiledOptions& o = fixed != nullptr ? *fixed : store->options_for(sni);
  if (!o.is_default && !apply_options(ssl, o)) {
    ERR_clear_error();
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_CLIENT_HELLO_ERROR;
  }
  const Certificate* cert = store->find(sni);
  if (cert == nullptr) {
    if (o.sni_strict) {
      *alert = SSL_AD_UNRECOGNIZED_NAME;
      return SSL_CLIENT_HELLO_ERROR;
    }
    cert = &store->default_certificate();
  }
  if (SSL_use_cert_and_key(ssl, cert->leaf(), cert->key(), cert->chain(), 1) != 1) {
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_CLIENT_HELLO_ERROR;
  }
  return SSL_CLIENT_HELLO_SUCCESS;
}

// The work is done in on_client_hello; accepting the name here is what makes OpenSSL keep it in
// the session, so SSL_get_servername still names it on a resumed TLS 1.2 session (it returns
// the session's name then) and the request is checked against the right tls.options.
int on_server_name(SSL*, int*, void*) { return SSL_TLSEXT_ERR_OK; }

int on_alpn(SSL* ssl, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
            unsigned int inlen, void*) {
  const Store* store = store_of(ssl);
  if (store == nullptr) return SSL_TLSEXT_ERR_NOACK;
  if (SSL_get_ex_data(ssl, acme_index()) != nullptr) {
    unsigned char* selected = nullptr;
    if (SSL_select_next_proto(&selected, outlen, kAcmeTls, sizeof kAcmeTls - 1, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED) {
      return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  std::string host = name ? name : "";
  for (char& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!host.empty() && host.back() == '.') host.pop_back();
  // A TCP router's options offer every protocol they name; HTTPS only those portier speaks.
  const CompiledOptions* fixed = fixed_options(ssl);
  const std::string& ours =
      fixed != nullptr ? fixed->alpn_wire_any : store->options_for(host).alpn_wire;
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, reinterpret_cast<const unsigned char*>(ours.data()),
                            static_cast<unsigned int>(ours.size()), in,
                            inlen) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;  // no common protocol: go on without ALPN, as Go does
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

ServerContext::ServerContext(const AlpnChallenges* acme_tls)
    : ctx_(boost::asio::ssl::context::tls_server) {
  SSL_CTX* c = ctx_.native_handle();
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                             SSL_OP_PRIORITIZE_CHACHA | SSL_OP_NO_COMPRESSION);
  // TLS 1.3 suites in the order Go's crypto/tls (and so Traefik) prefers on a server with AES
  // instructions: AES-128-GCM, AES-256-GCM, then ChaCha20-Poly1305, which a client listing it
  // first (one without AES hardware) gets anyway (SSL_OP_PRIORITIZE_CHACHA, as Go does).
  // OpenSSL's own order starts with AES-256-GCM, whose SHA-384 transcript and longer key
  // schedule cost more per handshake and per record for no practical gain.
  SSL_CTX_set_ciphersuites(c, kTls13Suites);
  SSL_CTX_set_cipher_list(c, kDefaultTls12Suites);
  // OpenSSL frees a connection's record buffers whenever they are empty (during the handshake,
  // and on HTTP/2 connections, which are never parked). HTTP/1.1 connections clear the mode
  // and give them back when parked instead (entrypoints/session.cc).
  SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_client_hello_cb(c, on_client_hello, const_cast<AlpnChallenges*>(acme_tls));
  SSL_CTX_set_alpn_select_cb(c, on_alpn, nullptr);
  SSL_CTX_set_tlsext_servername_callback(c, on_server_name);
  static const unsigned char kSid[] = "portier";
  SSL_CTX_set_session_id_context(c, kSid, sizeof kSid - 1);
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_SERVER);
  SSL_CTX_sess_set_cache_size(c, 20000);
}

bool ServerContext::is_acme_tls(SSL* ssl) { return SSL_get_ex_data(ssl, acme_index()) != nullptr; }

void ServerContext::attach(SSL* ssl, const Store* store, const CompiledOptions* options) {
  SSL_set_ex_data(ssl, store_index(), const_cast<Store*>(store));
  SSL_set_ex_data(ssl, options_index(), const_cast<CompiledOptions*>(store ? options : nullptr));
}

}  // namespace portier::tls
