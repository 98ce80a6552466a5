#include "entrypoints/entrypoint.h"

#include <charconv>
#include <utility>

namespace portier::entrypoints {

namespace ip = boost::asio::ip;

bool Cidr::contains(const ip::address& a) const {
  ip::address peer = a;
  if (peer.is_v6() && peer.to_v6().is_v4_mapped() && network.is_v4()) {
    peer = ip::make_address_v4(ip::v4_mapped, peer.to_v6());
  }
  if (peer.is_v4() != network.is_v4()) return false;
  auto bytes_a = peer.is_v4() ? std::vector<unsigned char>(4) : std::vector<unsigned char>(16);
  std::vector<unsigned char> bytes_n(bytes_a.size());
  if (peer.is_v4()) {
    auto x = peer.to_v4().to_bytes();
    auto y = network.to_v4().to_bytes();
    std::copy(x.begin(), x.end(), bytes_a.begin());
    std::copy(y.begin(), y.end(), bytes_n.begin());
  } else {
    auto x = peer.to_v6().to_bytes();
    auto y = network.to_v6().to_bytes();
    std::copy(x.begin(), x.end(), bytes_a.begin());
    std::copy(y.begin(), y.end(), bytes_n.begin());
  }
  unsigned bits = prefix;
  for (std::size_t i = 0; i < bytes_a.size() && bits > 0; ++i) {
    unsigned take = bits >= 8 ? 8 : bits;
    unsigned char mask = static_cast<unsigned char>(0xff << (8 - take));
    if ((bytes_a[i] & mask) != (bytes_n[i] & mask)) return false;
    bits -= take;
  }
  return true;
}

Result<Cidr> parse_cidr(const std::string& text) {
  std::string addr = text;
  unsigned prefix = 0;
  bool has_prefix = false;
  if (auto slash = text.find('/'); slash != std::string::npos) {
    addr = text.substr(0, slash);
    std::string p = text.substr(slash + 1);
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (ec != std::errc() || ptr != p.data() + p.size() || p.empty()) {
      return Error{"`" + text + "` is not an IP address or CIDR"};
    }
    has_prefix = true;
  }
  boost::system::error_code ec;
  ip::address a = ip::make_address(addr, ec);
  if (ec) return Error{"`" + text + "` is not an IP address or CIDR"};
  unsigned max = a.is_v4() ? 32 : 128;
  if (!has_prefix) prefix = max;
  if (prefix > max) return Error{"`" + text + "` has a prefix longer than the address"};
  return Cidr{a, prefix};
}

bool EntryPointSpec::is_trusted(const ip::address& peer) const {
  if (config.forwarded_headers.insecure) return true;
  for (const auto& c : trusted) {
    if (c.contains(peer)) return true;
  }
  return false;
}

Result<ip::tcp::endpoint> parse_listen_address(const std::string& address) {
  std::string host, port;
  if (!address.empty() && address.front() == '[') {
    auto close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':') {
      return Error{"address `" + address + "` must look like [::1]:8080"};
    }
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    auto colon = address.rfind(':');
    if (colon == std::string::npos) return Error{"address `" + address + "` has no :port"};
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  }
  // Traefik allows a "/tcp" or "/udp" suffix on entrypoint addresses.
  if (port.size() > 4 && (port.ends_with("/tcp") || port.ends_with("/udp"))) {
    port.resize(port.size() - 4);
  }
  unsigned short p = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || ptr != port.data() + port.size() || port.empty()) {
    return Error{"address `" + address + "` has an invalid port"};
  }
  boost::system::error_code aec;
  ip::address a = host.empty() ? ip::address(ip::address_v4::any()) : ip::make_address(host, aec);
  if (aec) {
    if (host == "localhost") {
      a = ip::address_v4::loopback();
    } else {
      return Error{"address `" + address + "`: `" + host + "` is not an IP address"};
    }
  }
  return ip::tcp::endpoint(a, p);
}

bool is_udp_address(const std::string& address) { return address.ends_with("/udp"); }

http::PathPolicy path_policy(const config::EntryPointHttp& http) {
  const auto& e = http.encoded_characters;
  http::PathPolicy p;
  p.sanitize = http.sanitize_path;
  p.denied = 0;
  const std::pair<bool, std::uint8_t> bits[] = {
      {e.allow_encoded_slash, http::encoded::kSlash},
      {e.allow_encoded_back_slash, http::encoded::kBackSlash},
      {e.allow_encoded_null_character, http::encoded::kNull},
      {e.allow_encoded_semicolon, http::encoded::kSemicolon},
      {e.allow_encoded_percent, http::encoded::kPercent},
      {e.allow_encoded_question_mark, http::encoded::kQuestionMark},
      {e.allow_encoded_hash, http::encoded::kHash},
  };
  for (const auto& [allowed, bit] : bits) {
    if (!allowed) p.denied |= bit;
  }
  return p;
}

Result<EntryPointSpec> make_spec(const std::string& name, std::size_t index,
                                 const config::EntryPoint& cfg) {
  EntryPointSpec spec;
  spec.name = name;
  spec.index = index;
  spec.config = cfg;
  auto ep = parse_listen_address(cfg.address);
  if (!ep) return Error{"entryPoints." + name + ".address: " + ep.error().message};
  spec.endpoint = *ep;
  spec.udp = is_udp_address(cfg.address);
  for (const auto& t : cfg.forwarded_headers.trusted_ips) {
    auto c = parse_cidr(t);
    if (!c)
      return Error{"entryPoints." + name + ".forwardedHeaders.trustedIPs: " + c.error().message};
    spec.trusted.push_back(*c);
  }
  if (cfg.proxy_protocol) {
    spec.proxy_protocol = true;
    if (!cfg.proxy_protocol->trusted_ips.empty()) {
      auto m = proxy::mw::IpMatcher::parse(cfg.proxy_protocol->trusted_ips);
      if (!m) return Error{"entryPoints." + name + ".proxyProtocol.trustedIPs: " + m.error().message};
      spec.proxy_trusted = std::move(*m);
    }
  }
  spec.limits.max_head_bytes = cfg.max_header_bytes;
  spec.limits.max_target = std::min<std::size_t>(8 * 1024, cfg.max_header_bytes);
  spec.path_policy = path_policy(cfg.http);
  return spec;
}

}  // namespace portier::entrypoints
