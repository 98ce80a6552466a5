// The one server SSL_CTX of the process. Settings that depend on the certificate store (the
// certificate, per-name TLS options) are applied per handshake by a ClientHello callback that
// reads the store the session attached, so the context itself never changes and its session
// cache and ticket keys survive every store swap (session resumption keeps working across
// reloads and renewals).
//
// Threading: create once on the control thread; SSL objects are then made from it on any worker.
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>

#include "tls/alpn_challenges.h"
#include "tls/store.h"

namespace portier::tls {

class ServerContext {
 public:
  // `acme_tls`, when not null, answers TLS-ALPN-01 challenges (RFC 8737): a ClientHello offering
  // `acme-tls/1` gets the challenge certificate for its SNI name, or a failed handshake when
  // there is none; it must outlive the context.
  explicit ServerContext(const AlpnChallenges* acme_tls = nullptr);
  // After a successful handshake: was it a TLS-ALPN-01 validation (the connection must be
  // closed, RFC 8737 §3)?
  static bool is_acme_tls(SSL* ssl);
  boost::asio::ssl::context& native() { return ctx_; }
  // Before the handshake: the store the handshake selects from. The store must outlive the
  // handshake (the session holds its routing-table lease until then). `options`, when not null,
  // are applied instead of the ones the store chooses by SNI name (a TCP router's tls.options,
  // known before the handshake since the router was chosen from the ClientHello); they must
  // belong to `store`. attach(ssl, nullptr) after the handshake clears both.
  static void attach(SSL* ssl, const Store* store, const CompiledOptions* options = nullptr);

 private:
  boost::asio::ssl::context ctx_;
};

}  // namespace portier::tls
