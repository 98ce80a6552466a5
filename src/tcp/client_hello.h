// Reading a TLS ClientHello without consuming it: the server name (SNI) and the ALPN protocols,
// for routing a connection before any handshake (TLS passthrough, or choosing between a TCP
// router and the HTTPS routers). Our own bounded parser over bytes already read; the caller
// keeps the bytes and replays them to the backend or to the handshake. Pure, no allocation
// beyond the results, safe on any bytes (fuzzed: tests/fuzz/client_hello_fuzz.cc).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace portier::tcp {

enum class HelloStatus {
  Partial,  // the bytes so far are a valid beginning: read more
  NotTls,   // the first byte is not a TLS handshake record (plain TCP, HTTP, ...)
  Tls,      // a complete ClientHello (or SSLv2, which carries none: no SNI)
  Invalid,  // a TLS record that is not a well-formed ClientHello
};

struct ClientHello {
  std::string sni;                // lower case, without a trailing dot; "" when absent
  std::vector<std::string> alpn;  // in the client's order
};

// The largest ClientHello handshake message accepted (its records reassembled). Clients send a
// few hundred bytes to a few kilobytes (post-quantum key shares); Go's limit is 64 KiB.
constexpr std::size_t kMaxClientHello = 16 * 1024;

// Parses the start of a connection. `out` is filled only when the result is Tls. A ClientHello
// split across several TLS records is reassembled (bounded by kMaxClientHello).
HelloStatus parse_client_hello(std::string_view bytes, ClientHello& out);

}  // namespace portier::tcp
