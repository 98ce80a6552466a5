// The values passTLSClientCert puts in X-Forwarded-Tls-Client-Cert and
// X-Forwarded-Tls-Client-Cert-Info, formatted as Traefik's
// pkg/middlewares/passtlsclientcert does: pure functions over the certificates the client sent
// (leaf first), so they are tested without a handshake.
#pragma once

#include <openssl/x509.h>

#include <string>
#include <string_view>
#include <vector>

#include "config/dynamic.h"
#include "proxy/middlewares/url.h"

namespace portier::proxy::mw {

// Each certificate's PEM without its BEGIN/END lines and newlines, joined with ','.
std::string client_cert_pem(const std::vector<X509*>& certs);

// The selected details of each certificate (`Subject="C=FR,O=Cheese";NA="1632568236"`), joined
// with ','; not yet escaped. A certificate with none of the selected details gives "".
std::string client_cert_info(const std::vector<X509*>& certs,
                             const config::TlsClientCertificateInfo& info);


}  // namespace portier::proxy::mw
