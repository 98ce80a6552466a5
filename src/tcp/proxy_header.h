// The PROXY protocol (HAProxy's proxy-protocol.txt, versions 1 and 2): reading the header a
// load balancer puts in front of a connection, and writing one for a backend. Our own bounded
// parser; pure and safe on any bytes (fuzzed: tests/fuzz/proxy_header_fuzz.cc).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <cstddef>
#include <string>
#include <string_view>

namespace portier::tcp {

enum class ProxyStatus {
  Partial,  // the bytes so far may be a header: read more
  None,     // no PROXY header (the bytes are the client's own)
  Ok,       // a complete header of `size` bytes
  Invalid,  // a header signature followed by something malformed
};

struct ProxyHeader {
  std::size_t size = 0;  // header bytes to drop before the client's data
  int version = 0;       // 1 or 2
  // v1 UNKNOWN, v2 LOCAL (the balancer's own health check), or a v2 family other than TCP/UDP
  // over IPv4/IPv6: the connection's own addresses stay.
  bool local = false;
  boost::asio::ip::tcp::endpoint source;       // the client
  boost::asio::ip::tcp::endpoint destination;  // the address the client connected to
};

// The longest header accepted: v1's 107 bytes, v2's 16-byte prefix and addresses with TLVs up
// to this size (AWS and GCP send a few dozen bytes of TLVs).
constexpr std::size_t kMaxProxyHeader = 16 + 2048;

// Parses the start of a connection.
ProxyStatus parse_proxy_header(std::string_view bytes, ProxyHeader& out);

// A header announcing `source` -> `destination`, version 1 (text) or 2 (binary). Both
// endpoints of one family (an IPv4-mapped IPv6 address counts as IPv4); mixed families give v1's
// "PROXY UNKNOWN" and v2's LOCAL command.
std::string make_proxy_header(int version, const boost::asio::ip::tcp::endpoint& source,
                              const boost::asio::ip::tcp::endpoint& destination);

}  // namespace portier::tcp
