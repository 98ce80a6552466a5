// passTLSClientCert: the certificates the client sent in its TLS handshake (mutual TLS:
// tls.options.<name>.clientAuth) passed to the server in X-Forwarded-Tls-Client-Cert (pem) and
// X-Forwarded-Tls-Client-Cert-Info (info), as Traefik's pkg/middlewares/passtlsclientcert.
// Unlike Traefik, a value of either field that came with the request (a trusted peer's: other
// peers' X-Forwarded-* never pass) is always removed, so the server can trust what it gets.
#include <openssl/ssl.h>

#include "proxy/middlewares/client_cert.h"
#include "proxy/middlewares/filters.h"

namespace portier::proxy::mw {
namespace {

constexpr std::string_view kCertField = "X-Forwarded-Tls-Client-Cert";
constexpr std::string_view kInfoField = "X-Forwarded-Tls-Client-Cert-Info";

class PassTlsClientCertFilter final : public Filter {
 public:
  PassTlsClientCertFilter(std::string name, config::PassTlsClientCert c)
      : Filter(std::move(name), kRequest), c_(std::move(c)) {}

  Verdict on_request(Stream& s) const override {
    // An empty edit removes the field; a value replaces the client's.
    set_edit(s.request_edits, kCertField, "");
    set_edit(s.request_edits, kInfoField, "");
    if (!s.tls || s.ssl == nullptr || (!c_.pem && !c_.info)) return Verdict::Continue;
    // Go's PeerCertificates: the leaf, then the rest of what the client sent (on the server
    // side OpenSSL keeps the leaf apart from that chain).
    X509* leaf = SSL_get0_peer_certificate(s.ssl);
    if (leaf == nullptr) return Verdict::Continue;
    std::vector<X509*> certs{leaf};
    if (STACK_OF(X509)* chain = SSL_get_peer_cert_chain(s.ssl)) {
      for (int i = 0; i < sk_X509_num(chain); ++i) certs.push_back(sk_X509_value(chain, i));
    }
    if (c_.pem) set_edit(s.request_edits, kCertField, client_cert_pem(certs));
    // Traefik sends an empty Info field when no selected detail is in the certificates; an
    // empty edit means "remove" here, so the field is then absent.
    if (c_.info)
      set_edit(s.request_edits, kInfoField, query_escape(client_cert_info(certs, *c_.info)));
    return Verdict::Continue;
  }

 private:
  config::PassTlsClientCert c_;
};

}  // namespace

Built pass_tls_client_cert(const std::string& name, const config::Middleware& m,
                           const ChainContext&) {
  if (!m.pass_tls_client_cert) return Error{"passTLSClientCert: no options"};
  return std::make_unique<PassTlsClientCertFilter>(name, *m.pass_tls_client_cert);
}

}  // namespace portier::proxy::mw
