// Compiled serversTransports: how portier reaches the servers of a service. The default one is
// made from the static `serversTransport` (Traefik's default@internal), named ones from
// `http.serversTransports.<name>`. Each is compiled once, when the routing table is built (its
// SSL_CTX: trust anchors, client certificate, versions, peer SAN check), and then shared
// immutably by every worker: SSL objects are made from it on any thread, which OpenSSL allows.
// The one exception is the system's CA bundle (no rootCAs): it is read by the first handshake
// that needs it, once per transport (context()), as Go loads the system roots on first use, so
// a portier with no https:// server never holds its 144 parsed certificates (0.9 MB).
//
// TLS to a server (https:// URLs): SNI is the transport's serverName, else the URL's host (none
// for an IP literal, as Go); the certificate is verified against rootCAs, else the system's CA
// bundle, and must name that host or IP, unless insecureSkipVerify. peerCertURI / peerCertSANs
// add a SAN the certificate must carry (the chain is still verified, even with
// insecureSkipVerify, as Traefik does). Sessions are resumed: a new session (TLS 1.3 tickets
// arrive after the handshake) is handed to the SSL_SESSION* slot the connection registered, and
// the pool keeps the last one per server (UpstreamPool::keep_session).
//
// Failure: compile_transport returns the reason (unreadable CA file, bad key pair, spiffe); the
// builder disables the services naming the transport with it. tls_handshake returns "" or why
// the handshake failed ("certificate verify failed: unable to get local issuer certificate").
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "config/dynamic.h"
#include "config/static_config.h"
#include "proxy/upstream_stream.h"

namespace portier::proxy {

struct Transport {
  std::string name;          // "default@internal", "mytransport@file"
  std::uint64_t serial = 0;  // distinguishes compilations: part of the pool key
  // Never null once compiled. Through context(), which completes it, on any thread.
  std::shared_ptr<boost::asio::ssl::context> tls;
  bool system_roots = false;  // trust the system's bundle, loaded by the first context() call
  mutable std::once_flag roots_loaded;
  std::string server_name;                         // "": the URL's host
  bool insecure_skip_verify = false;
  std::vector<config::PeerCertSan> peer_sans;  // checked by the context's verify callback
  std::size_t max_idle = 200;                  // idle connections per server, per worker
  bool http2 = true;  // offer h2 by ALPN to https:// servers (disableHTTP2 turns it off)
  config::ForwardingTimeouts timeouts;
};

// The transport's TLS context, with the system's CA bundle loaded when it trusts that bundle.
boost::asio::ssl::context& context(const Transport& t);

// The static serversTransport as the default transport.
Result<std::shared_ptr<const Transport>> compile_default_transport(
    const config::ServersTransport& st);
// A named transport. Reads files (rootCAs, certificates): control plane only.
Result<std::shared_ptr<const Transport>> compile_transport(const std::string& name,
                                                           const config::HttpServersTransport& t);

// The TLS handshake on a connected `stream` (client side), with SNI and the name check for
// `host` (the URL's host, replaced by the transport's serverName), offering `resume` when not
// null. `session_slot`, when not null, receives each new session the server issues (its owner
// frees it). `offer_h2`: ALPN offers h2 then http/1.1 (else no ALPN, HTTP/1.1 only). The caller
// bounds the wait (a deadline cancelling the socket). Returns "" or the reason of the failure.
boost::asio::awaitable<std::string> tls_handshake(UpstreamStream& stream, const Transport& t,
                                                  std::string_view host, SSL_SESSION* resume,
                                                  SSL_SESSION** session_slot,
                                                  bool offer_h2 = false);
// Did the server choose h2 by ALPN in the handshake just done on `stream`?
bool alpn_h2(UpstreamStream& stream);

struct ServerTarget;
struct SubTarget;
// A sub-request to `server` (the errors middleware's page, the cache's revalidation): TLS as the
// forwarder would speak it when the server is https:// (its transport's context, name, check).
void set_upstream_tls(const ServerTarget& server, SubTarget& target);

// The name TLS uses for a server of `t` whose URL has this host: serverName when set.
inline std::string_view tls_name(const Transport& t, std::string_view url_host) {
  return t.server_name.empty() ? url_host : std::string_view(t.server_name);
}

}  // namespace portier::proxy
