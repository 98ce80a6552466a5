#include "proxy/middlewares/ip_strategy.h"

#include <algorithm>
#include <charconv>

namespace portier::proxy::mw {
namespace {

namespace ip = boost::asio::ip;

std::string_view trim(std::string_view s) {
  auto sp = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && sp(s.front())) s.remove_prefix(1);
  while (!s.empty() && sp(s.back())) s.remove_suffix(1);
  return s;
}

std::optional<ip::address> parse_addr(std::string_view s) {
  boost::system::error_code ec;
  auto a = ip::make_address(std::string(s), ec);
  if (ec) return std::nullopt;
  return a;
}

std::array<uint8_t, 16> to16(const ip::address& a) {
  if (a.is_v4()) return ip::make_address_v6(ip::v4_mapped, a.to_v4()).to_bytes();
  return a.to_v6().to_bytes();
}

bool prefix_equal(const std::array<uint8_t, 16>& a, const std::array<uint8_t, 16>& b, int bits) {
  int full = bits / 8;
  if (!std::equal(a.begin(), a.begin() + full, b.begin())) return false;
  int rest = bits % 8;
  if (rest == 0) return true;
  auto mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[full] & mask) == (b[full] & mask);
}

void mask(std::array<uint8_t, 16>& a, int bits) {
  for (int i = 0; i < 16; ++i) {
    int keep = std::clamp(bits - 8 * i, 0, 8);
    a[i] &= static_cast<uint8_t>(0xff00 >> keep);
  }
}

// Go's net.SplitHostPort, enough of it: "[h]:p" and "h:p" with exactly one colon.
std::optional<std::string_view> split_host(std::string_view hp) {
  if (!hp.empty() && hp.front() == '[') {
    size_t close = hp.find(']');
    if (close == std::string_view::npos || close + 1 >= hp.size() || hp[close + 1] != ':') {
      return std::nullopt;
    }
    return hp.substr(1, close - 1);
  }
  size_t colon = hp.find(':');
  if (colon == std::string_view::npos || hp.find(':', colon + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  return hp.substr(0, colon);
}

}  // namespace

Result<IpMatcher> IpMatcher::parse(std::span<const std::string> entries) {
  if (entries.empty()) return Error{"no IP or CIDR given"};
  IpMatcher m;
  for (const std::string& e : entries) {
    auto bad = [&] { return Error{"invalid IP or CIDR `" + e + "`"}; };
    if (e.find('%') != std::string::npos) return bad();
    size_t slash = e.find('/');
    auto addr = parse_addr(std::string_view(e).substr(0, slash));
    if (!addr) return bad();
    Net n{to16(*addr), 128};
    if (slash != std::string::npos) {
      std::string_view len = std::string_view(e).substr(slash + 1);
      int bits = -1;
      auto [p, ec] = std::from_chars(len.data(), len.data() + len.size(), bits);
      int max = addr->is_v4() ? 32 : 128;
      if (len.empty() || ec != std::errc() || p != len.data() + len.size() || bits < 0 ||
          bits > max) {
        return bad();
      }
      n.prefix = addr->is_v4() ? bits + 96 : bits;
      mask(n.bytes, n.prefix);
    }
    m.nets_.push_back(n);
  }
  return m;
}

bool IpMatcher::contains(const ip::address& a) const {
  auto b = to16(a);
  return std::any_of(nets_.begin(), nets_.end(),
                     [&](const Net& n) { return prefix_equal(n.bytes, b, n.prefix); });
}

bool IpMatcher::contains(std::string_view s) const {
  s = s.substr(0, s.find('%'));  // as netip.ParseAddr + As16: the zone does not count
  auto a = parse_addr(s);
  return a && contains(*a);
}

std::string ipv6_subnet_ip(std::string_view s, int prefix) {
  // netip.ParseAddr accepts a zone; the masked prefix drops it.
  auto a = parse_addr(s.substr(0, s.find('%')));
  if (!a || !a->is_v6() || prefix < 0 || prefix > 128) return std::string(s);
  auto bytes = a->to_v6().to_bytes();
  mask(bytes, prefix);
  return ip::address_v6(bytes).to_string();
}

Result<IpStrategy> IpStrategy::make(const IpStrategyConfig& c) {
  IpStrategy s;
  auto check_subnet = [&]() -> std::optional<Error> {
    if (c.ipv6_subnet && (*c.ipv6_subnet <= 0 || *c.ipv6_subnet > 128)) {
      return Error{"invalid IPv6 subnet " + std::to_string(*c.ipv6_subnet) +
                   ": must be between 1 and 128"};
    }
    return std::nullopt;
  };
  if (c.depth > 0) {
    if (auto e = check_subnet()) return *e;
    s.depth_ = c.depth;
    s.ipv6_subnet_ = c.ipv6_subnet;
    return s;
  }
  if (!c.excluded_ips.empty()) {
    auto m = IpMatcher::parse(c.excluded_ips);
    if (!m) return Error{"excludedIPs: " + m.error().message};
    s.excluded_ = std::move(*m);
    return s;
  }
  if (auto e = check_subnet()) return *e;
  s.ipv6_subnet_ = c.ipv6_subnet;
  return s;
}

std::string IpStrategy::client_ip(std::string_view peer,
                                  std::span<const std::string_view> xff) const {
  auto finish = [&](std::string_view chosen) {
    return ipv6_subnet_ ? ipv6_subnet_ip(chosen, *ipv6_subnet_) : std::string(chosen);
  };
  if (depth_ == 0 && !excluded_) return finish(split_host(peer).value_or(peer));

  // The list, entries in order. Fields with no value contribute no entry (RFC 9110 5.3);
  // empty entries inside a field are kept, as strings.Split keeps them.
  std::vector<std::string_view> entries;
  for (std::string_view field : xff) {
    if (trim(field).empty()) continue;
    size_t start = 0;
    for (;;) {
      size_t comma = field.find(',', start);
      entries.push_back(trim(field.substr(start, comma - start)));
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
  }
  if (depth_ > 0) {
    // Traefik splits an absent header into one empty entry: depth 1 then gives "".
    if (entries.empty() || entries.size() < static_cast<size_t>(depth_)) return "";
    return finish(entries[entries.size() - static_cast<size_t>(depth_)]);
  }
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    if (it->empty()) continue;
    if (!excluded_->contains(*it)) return std::string(*it);
  }
  return "";
}

}  // namespace portier::proxy::mw
