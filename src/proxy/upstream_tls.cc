#include "proxy/upstream_tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <strings.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "proxy/routing_table.h"
#include "proxy/subrequest.h"
#include "tls/certificate.h"
#include "tls/store.h"

namespace portier::proxy {
namespace {

namespace asio = boost::asio;
using R = Result<std::shared_ptr<const Transport>>;

std::atomic<std::uint64_t> g_serial{0};

R fail(std::string message) { return R(boost::system::in_place_error, Error{std::move(message)}); }

// The context's ex_data slot holding the transport's peer SAN list (owned by the Transport,
// which outlives every handshake: connections hold the transport while they live).
int sans_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

bool has_san(X509* cert, const config::PeerCertSan& want) {
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return false;
  bool found = false;
  const int type = want.type == "URI" ? GEN_URI : GEN_DNS;
  for (int i = 0; i < sk_GENERAL_NAME_num(names) && !found; ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    if (n->type != type) continue;
    const ASN1_IA5STRING* s = type == GEN_URI ? n->d.uniformResourceIdentifier : n->d.dNSName;
    std::string_view v(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                       static_cast<std::size_t>(ASN1_STRING_length(s)));
    found = type == GEN_URI ? v == want.value
                            : v.size() == want.value.size() &&
                                  strncasecmp(v.data(), want.value.data(), v.size()) == 0;
  }
  GENERAL_NAMES_free(names);
  return found;
}

// The chain is OpenSSL's to verify; the leaf must also carry one of the SANs asked for.
int verify_peer_sans(int preverify_ok, X509_STORE_CTX* x) {
  if (preverify_ok != 1 || X509_STORE_CTX_get_error_depth(x) != 0) return preverify_ok;
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx()));
  const auto* sans = static_cast<const std::vector<config::PeerCertSan>*>(
      SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), sans_index()));
  if (sans == nullptr || sans->empty()) return 1;
  X509* leaf = X509_STORE_CTX_get_current_cert(x);
  for (const auto& want : *sans) {
    if (has_san(leaf, want)) return 1;
  }
  X509_STORE_CTX_set_error(x, X509_V_ERR_APPLICATION_VERIFICATION);
  return 0;
}

// The SSL's ex_data slot for the connection's session slot. Not SSL app data: Asio's engine
// owns that (it deletes what it finds there as its verify callback).
int session_slot_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// A new session from the server (TLS 1.3: a ticket after the handshake): kept in the slot the
// connection registered, for the pool to offer on the next dial.
int on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto** slot = static_cast<SSL_SESSION**>(SSL_get_ex_data(ssl, session_slot_index()));
  if (slot == nullptr) return 0;  // not kept: OpenSSL frees it
  // A copy: `session` is also the connection's current one, which OpenSSL marks not resumable
  // when the connection is freed without a close_notify (ssl_clear_bad_session), as pooled
  // connections are.
  SSL_SESSION* copy = SSL_SESSION_dup(session);
  if (copy == nullptr) return 0;
  if (*slot != nullptr) SSL_SESSION_free(*slot);
  *slot = copy;
  return 0;  // OpenSSL keeps its own
}

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

struct Settings {
  bool insecure = false;
  std::vector<std::string> root_cas;
  std::vector<config::TransportCertificate> certificates;
  std::vector<std::string> cipher_suites;
  std::string min_version, max_version;
  std::vector<config::PeerCertSan> sans;
};

// `system_roots` is set when the context is to trust the system's bundle (no rootCAs), which
// context() loads on first use.
Result<std::shared_ptr<asio::ssl::context>> make_context(
    const Settings& s, const std::vector<config::PeerCertSan>* sans, bool& system_roots) {
  using CR = Result<std::shared_ptr<asio::ssl::context>>;
  auto err = [](std::string m) { return CR(boost::system::in_place_error, Error{std::move(m)}); };
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_cipher_list(native, tls::kDefaultTls12Suites);  // cipherSuites replace them
  if (!s.min_version.empty() || !s.max_version.empty() || !s.cipher_suites.empty()) {
    config::TlsOptions o;
    o.min_version = s.min_version;
    o.max_version = s.max_version;
    o.cipher_suites = s.cipher_suites;
    auto c = tls::compile_options("serversTransport", o);
    if (!c) return err(c.error().message);
    SSL_CTX_set_min_proto_version(native, c->min_version);
    if (c->min_version != 0 && c->min_version < TLS1_2_VERSION) {
      SSL_CTX_set_security_level(native, 0);
    }
    if (c->max_version != 0) SSL_CTX_set_max_proto_version(native, c->max_version);
    if (!c->cipher_list.empty() && SSL_CTX_set_cipher_list(native, c->cipher_list.c_str()) != 1) {
      return err("cipherSuites: " + openssl_error());
    }
    if (!c->ciphersuites.empty() &&
        SSL_CTX_set_ciphersuites(native, c->ciphersuites.c_str()) != 1) {
      return err("cipherSuites: " + openssl_error());
    }
  }
  // Trust anchors: rootCAs, else the system's bundle (Go's default), read when first needed.
  system_roots = s.root_cas.empty();
  if (!system_roots) {
    X509_STORE* store = SSL_CTX_get_cert_store(native);
    for (const auto& ca : s.root_cas) {
      auto pem = tls::read_pem_source(ca);
      if (!pem) return err("rootCAs: " + pem.error().message);
      BIO* bio = BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size()));
      int added = 0;
      while (X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
        added += X509_STORE_add_cert(store, x) == 1;
        X509_free(x);
      }
      BIO_free(bio);
      ERR_clear_error();
      if (added == 0) return err("rootCAs: no certificate in `" + ca.substr(0, 80) + "`");
    }
  }
  const bool check_sans = !s.sans.empty();
  if (s.insecure && !check_sans) {
    SSL_CTX_set_verify(native, SSL_VERIFY_NONE, nullptr);
  } else {
    SSL_CTX_set_verify(native, SSL_VERIFY_PEER, check_sans ? verify_peer_sans : nullptr);
    if (check_sans)
      SSL_CTX_set_ex_data(native, sans_index(), const_cast<void*>(static_cast<const void*>(sans)));
  }
  if (!s.certificates.empty()) {
    // OpenSSL sends one certificate: the first (Go would pick among several by the server's
    // CertificateRequest).
    const auto& c = s.certificates.front();
    auto cert = tls::read_pem_source(c.cert_file);
    if (!cert) return err("certificates: " + cert.error().message);
    auto key = tls::read_pem_source(c.key_file);
    if (!key) return err("certificates: " + key.error().message);
    auto parsed = tls::Certificate::from_pem(*cert, *key);
    if (!parsed) return err("certificates: " + parsed.error().message);
    const auto& pc = **parsed;
    if (SSL_CTX_use_certificate(native, pc.leaf()) != 1 ||
        SSL_CTX_use_PrivateKey(native, pc.key()) != 1) {
      return err("certificates: " + openssl_error());
    }
    if (STACK_OF(X509)* chain = pc.chain()) {
      for (int i = 0; i < sk_X509_num(chain); ++i) {
        SSL_CTX_add1_chain_cert(native, sk_X509_value(chain, i));
      }
    }
  }
  // Client-side session cache: sessions go to the connection's slot, never to OpenSSL's
  // internal (locked, shared) store.
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(native, on_new_session);
  return ctx;
}

}  // namespace

R compile_default_transport(const config::ServersTransport& st) {
  auto t = std::make_shared<Transport>();
  t->name = "default@internal";
  t->serial = ++g_serial;
  t->insecure_skip_verify = st.insecure_skip_verify;
  t->max_idle = static_cast<std::size_t>(std::max(0, st.max_idle_conns_per_host));
  t->timeouts = st.forwarding_timeouts;
  Settings s;
  s.insecure = st.insecure_skip_verify;
  s.root_cas = st.root_cas;
  auto ctx = make_context(s, nullptr, t->system_roots);
  if (!ctx) return fail("serversTransport: " + ctx.error().message);
  t->tls = std::move(*ctx);
  return std::shared_ptr<const Transport>(std::move(t));
}

R compile_transport(const std::string& name, const config::HttpServersTransport& c) {
  if (!c.provider_error.empty()) return fail(c.provider_error);
  if (c.spiffe) {
    return fail("spiffe is not supported (portier has no SPIFFE workload API client)");
  }
  auto t = std::make_shared<Transport>();
  t->name = name;
  t->serial = ++g_serial;
  t->server_name = c.server_name;
  t->insecure_skip_verify = c.insecure_skip_verify;
  t->peer_sans = c.peer_cert_sans;
  if (!c.peer_cert_uri.empty()) t->peer_sans.push_back({"URI", c.peer_cert_uri});
  t->max_idle = static_cast<std::size_t>(std::max(0, c.max_idle_conns_per_host));
  t->http2 = !c.disable_http2;
  t->timeouts.dial_timeout = c.forwarding_timeouts.dial_timeout;
  t->timeouts.response_header_timeout = c.forwarding_timeouts.response_header_timeout;
  t->timeouts.idle_conn_timeout = c.forwarding_timeouts.idle_conn_timeout;
  Settings s;
  s.insecure = c.insecure_skip_verify;
  s.root_cas = c.root_cas;
  s.certificates = c.certificates;
  s.cipher_suites = c.cipher_suites;
  s.min_version = c.min_version;
  s.max_version = c.max_version;
  s.sans = t->peer_sans;
  auto ctx = make_context(s, &t->peer_sans, t->system_roots);
  if (!ctx) return fail(ctx.error().message);
  t->tls = std::move(*ctx);
  return std::shared_ptr<const Transport>(std::move(t));
}

asio::ssl::context& context(const Transport& t) {
  if (t.system_roots) {
    // Parses /etc/ssl/certs/ca-certificates.crt (or SSL_CERT_FILE), and looks in the hashed
    // directory (SSL_CERT_DIR) for the rest. A failure leaves the store empty: handshakes then
    // fail with "unable to get local issuer certificate", as with no bundle before.
    std::call_once(t.roots_loaded, [&] {
      SSL_CTX_set_default_verify_paths(t.tls->native_handle());
      ERR_clear_error();
    });
  }
  return *t.tls;
}

void set_upstream_tls(const ServerTarget& server, SubTarget& target) {
  if (!server.tls || !server.transport) return;
  context(*server.transport);  // complete before the sub-request uses it
  target.tls = server.transport->tls;
  target.host = std::string(tls_name(*server.transport, server.tls_host));
  target.verify = !server.transport->insecure_skip_verify;
}

asio::awaitable<std::string> tls_handshake(UpstreamStream& stream, const Transport& t,
                                           std::string_view host, SSL_SESSION* resume,
                                           SSL_SESSION** session_slot, bool offer_h2) {
  auto& tls = stream.start_tls(context(t));
  SSL* ssl = tls.native_handle();
  const std::string name(tls_name(t, host));
  boost::system::error_code ip_ec;
  (void)asio::ip::make_address(name, ip_ec);
  const bool is_ip = !ip_ec;
  if (!is_ip) SSL_set_tlsext_host_name(ssl, name.c_str());  // no SNI for IP literals (RFC 6066)
  if (!t.insecure_skip_verify) {
    if (is_ip) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str());
    } else {
      SSL_set1_host(ssl, name.c_str());
    }
  }
  if (offer_h2) {
    static constexpr unsigned char kProtos[] = "\x02h2\x08http/1.1";
    SSL_set_alpn_protos(ssl, kProtos, sizeof kProtos - 1);
  }
  if (resume != nullptr) SSL_set_session(ssl, resume);
  SSL_set_ex_data(ssl, session_slot_index(), session_slot);
  auto [ec] = co_await tls.async_handshake(asio::ssl::stream_base::client,
                                           asio::as_tuple(asio::use_awaitable));
  if (!ec) co_return std::string();
  const long verify = SSL_get_verify_result(ssl);
  std::string why = ec.message();
  if (verify != X509_V_OK) {
    why = std::string("certificate verify failed: ") + X509_verify_cert_error_string(verify);
    if (verify == X509_V_ERR_APPLICATION_VERIFICATION) {
      why += " (no SAN matching peerCertURI/peerCertSANs)";
    }
  }
  ERR_clear_error();
  co_return why;
}

bool alpn_h2(UpstreamStream& stream) {
  if (!stream.is_tls()) return false;
  const unsigned char* proto = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(stream.tls().native_handle(), &proto, &len);
  return len == 2 && proto[0] == 'h' && proto[1] == '2';
}

}  // namespace portier::proxy
