// An entrypoint as the data plane sees it: its static settings resolved once at startup
// (address, trusted networks, limits). Immutable and shared by all workers.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "config/static_config.h"
#include "proxy/http/parser.h"
#include "proxy/http/path.h"
#include "proxy/middlewares/ip_strategy.h"

namespace portier::entrypoints {

struct Cidr {
  boost::asio::ip::address network;
  unsigned prefix = 0;
  bool contains(const boost::asio::ip::address& a) const;
};

Result<Cidr> parse_cidr(const std::string& text);  // "10.0.0.0/8", "::1", "192.168.1.7"

struct EntryPointSpec {
  std::string name;
  std::size_t index = 0;  // position among entrypoints; routing tables are indexed by it
  config::EntryPoint config;
  boost::asio::ip::tcp::endpoint endpoint;  // port 0 until bound
  std::string port;                         // the bound port, for X-Forwarded-Port
  std::vector<Cidr> trusted;
  http::Limits limits;
  http::PathPolicy path_policy;  // http.sanitizePath and http.encodedCharacters
  // proxyProtocol: configured at all, and the peers whose header is believed (unset: none).
  bool proxy_protocol = false;
  std::optional<proxy::mw::IpMatcher> proxy_trusted;
  bool udp = false;  // the address ends in /udp: a UDP socket, no TCP listener

  bool is_trusted(const boost::asio::ip::address& peer) const;
};

// Resolves "host:port", ":port", "[v6]:port" into an endpoint (an empty host is 0.0.0.0). A
// "/tcp" or "/udp" suffix (Traefik's) is allowed; is_udp_address tells which.
Result<boost::asio::ip::tcp::endpoint> parse_listen_address(const std::string& address);
bool is_udp_address(const std::string& address);

// The path rules of an entrypoint's http options.
http::PathPolicy path_policy(const config::EntryPointHttp& http);

Result<EntryPointSpec> make_spec(const std::string& name, std::size_t index,
                                 const config::EntryPoint& cfg);

}  // namespace portier::entrypoints
