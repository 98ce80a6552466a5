#include "tcp/proxy_header.h"

#include <array>
#include <charconv>
#include <cstdint>
#include <cstring>

namespace portier::tcp {
namespace {

namespace ip = boost::asio::ip;

constexpr std::string_view kV1 = "PROXY ";
constexpr std::string_view kV2("\r\n\r\n\0\r\nQUIT\n", 12);
constexpr std::size_t kV1Max = 107;

// Is `bytes` a prefix of `sig` or `sig` a prefix of `bytes`? 0: no; 1: shorter; 2: all of it.
int signature(std::string_view bytes, std::string_view sig) {
  const std::size_t n = std::min(bytes.size(), sig.size());
  if (bytes.substr(0, n) != sig.substr(0, n)) return 0;
  return n < sig.size() ? 1 : 2;
}

bool parse_port(std::string_view s, unsigned short& out) {
  if (s.empty() || s.size() > 5 || (s.size() > 1 && s[0] == '0')) return false;
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v > 65535) return false;
  out = static_cast<unsigned short>(v);
  return true;
}

// IPv4-mapped IPv6 as IPv4; IPv6 without its scope (a header cannot carry one).
ip::address v4_plain(const ip::address& a) {
  if (a.is_v4()) return a;
  if (a.to_v6().is_v4_mapped()) return ip::make_address_v4(ip::v4_mapped, a.to_v6());
  return ip::address_v6(a.to_v6().to_bytes());
}

ProxyStatus parse_v1(std::string_view bytes, ProxyHeader& out) {
  const std::size_t end = bytes.substr(0, kV1Max).find("\r\n");
  if (end == std::string_view::npos) {
    if (bytes.size() >= kV1Max) return ProxyStatus::Invalid;
    // A bare '\n' or a NUL can never become a valid header: say so early.
    if (bytes.find_first_of(std::string_view("\n\0", 2)) != std::string_view::npos) {
      return ProxyStatus::Invalid;
    }
    return ProxyStatus::Partial;
  }
  std::string_view line = bytes.substr(kV1.size(), end - kV1.size());
  std::string_view parts[6];
  std::size_t count = 0;
  while (!line.empty()) {
    if (count == 6) return ProxyStatus::Invalid;
    const std::size_t sp = line.find(' ');
    parts[count++] = line.substr(0, sp);
    if (parts[count - 1].empty()) return ProxyStatus::Invalid;  // two spaces in a row
    line = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
    if (sp != std::string_view::npos && line.empty()) return ProxyStatus::Invalid;
  }
  ProxyHeader h;
  h.size = end + 2;
  h.version = 1;
  if (count >= 1 && parts[0] == "UNKNOWN") {  // the rest of the line is ignored
    h.local = true;
    out = h;
    return ProxyStatus::Ok;
  }
  if (count != 5 || (parts[0] != "TCP4" && parts[0] != "TCP6")) return ProxyStatus::Invalid;
  boost::system::error_code e1, e2;
  ip::address src = ip::make_address(parts[1], e1);
  ip::address dst = ip::make_address(parts[2], e2);
  const bool v4 = parts[0] == "TCP4";
  unsigned short sport = 0, dport = 0;
  if (e1 || e2 || src.is_v4() != v4 || dst.is_v4() != v4 || !parse_port(parts[3], sport) ||
      !parse_port(parts[4], dport)) {
    return ProxyStatus::Invalid;
  }
  if (!v4 && (src.to_v6().scope_id() != 0 || dst.to_v6().scope_id() != 0)) {
    return ProxyStatus::Invalid;
  }
  h.source = {src, sport};
  h.destination = {dst, dport};
  out = h;
  return ProxyStatus::Ok;
}

ProxyStatus parse_v2(std::string_view bytes, ProxyHeader& out) {
  if (bytes.size() < 16) return ProxyStatus::Partial;
  const auto* b = reinterpret_cast<const std::uint8_t*>(bytes.data());
  const std::uint8_t ver_cmd = b[12];
  const std::uint8_t fam = b[13];
  const std::size_t len = (std::size_t{b[14]} << 8) | b[15];
  if ((ver_cmd >> 4) != 2 || (ver_cmd & 0x0f) > 1) return ProxyStatus::Invalid;
  if (16 + len > kMaxProxyHeader) return ProxyStatus::Invalid;
  if (bytes.size() < 16 + len) return ProxyStatus::Partial;
  ProxyHeader h;
  h.size = 16 + len;
  h.version = 2;
  const bool local = (ver_cmd & 0x0f) == 0;
  const std::uint8_t family = fam >> 4, transport = fam & 0x0f;
  if (transport > 2 || family > 3) return ProxyStatus::Invalid;
  const std::uint8_t* a = b + 16;
  if (family == 1) {  // AF_INET: 4 + 4 + 2 + 2
    if (len < 12) return ProxyStatus::Invalid;
    ip::address_v4::bytes_type s, d;
    std::memcpy(s.data(), a, 4);
    std::memcpy(d.data(), a + 4, 4);
    h.source = {ip::address_v4(s), static_cast<unsigned short>((a[8] << 8) | a[9])};
    h.destination = {ip::address_v4(d), static_cast<unsigned short>((a[10] << 8) | a[11])};
  } else if (family == 2) {  // AF_INET6: 16 + 16 + 2 + 2
    if (len < 36) return ProxyStatus::Invalid;
    ip::address_v6::bytes_type s, d;
    std::memcpy(s.data(), a, 16);
    std::memcpy(d.data(), a + 16, 16);
    h.source = {ip::address_v6(s), static_cast<unsigned short>((a[32] << 8) | a[33])};
    h.destination = {ip::address_v6(d), static_cast<unsigned short>((a[34] << 8) | a[35])};
  } else if (family == 3 && len < 216) {  // AF_UNIX: 108 + 108
    return ProxyStatus::Invalid;
  }
  // LOCAL, UNSPEC, AF_UNIX and a transport other than STREAM/DGRAM: keep the real addresses.
  h.local = local || family == 0 || family == 3 || transport == 0;
  if (!local && family != 0 && transport == 0) return ProxyStatus::Invalid;
  out = h;
  return ProxyStatus::Ok;
}

void put16(std::string& s, unsigned v) {
  s.push_back(static_cast<char>((v >> 8) & 0xff));
  s.push_back(static_cast<char>(v & 0xff));
}

}  // namespace

ProxyStatus parse_proxy_header(std::string_view bytes, ProxyHeader& out) {
  if (bytes.empty()) return ProxyStatus::Partial;
  if (int s = signature(bytes, kV2); s != 0) {
    return s == 1 ? ProxyStatus::Partial : parse_v2(bytes, out);
  }
  if (int s = signature(bytes, kV1); s != 0) {
    return s == 1 ? ProxyStatus::Partial : parse_v1(bytes, out);
  }
  return ProxyStatus::None;
}

std::string make_proxy_header(int version, const ip::tcp::endpoint& source,
                              const ip::tcp::endpoint& destination) {
  // Both IPv4 (or IPv4-mapped): TCP4. Otherwise TCP6, with an IPv4 address mapped (::ffff:a.b.c.d),
  // as HAProxy writes a mixed pair: the ports always go through.
  ip::address src = v4_plain(source.address());
  ip::address dst = v4_plain(destination.address());
  if (src.is_v4() != dst.is_v4()) {
    if (src.is_v4()) src = ip::make_address_v6(ip::v4_mapped, src.to_v4());
    if (dst.is_v4()) dst = ip::make_address_v6(ip::v4_mapped, dst.to_v4());
  }
  if (version == 1) {
    std::string s = src.is_v4() ? "PROXY TCP4 " : "PROXY TCP6 ";
    s += src.to_string() + " " + dst.to_string() + " " + std::to_string(source.port()) + " " +
         std::to_string(destination.port()) + "\r\n";
    return s;
  }
  std::string s(kV2);
  s.push_back('\x21');  // v2, PROXY
  if (src.is_v4()) {
    s.push_back('\x11');  // AF_INET, STREAM
    put16(s, 12);
    auto a = src.to_v4().to_bytes();
    auto b = dst.to_v4().to_bytes();
    s.append(reinterpret_cast<const char*>(a.data()), a.size());
    s.append(reinterpret_cast<const char*>(b.data()), b.size());
  } else {
    s.push_back('\x21');  // AF_INET6, STREAM
    put16(s, 36);
    auto a = src.to_v6().to_bytes();
    auto b = dst.to_v6().to_bytes();
    s.append(reinterpret_cast<const char*>(a.data()), a.size());
    s.append(reinterpret_cast<const char*>(b.data()), b.size());
  }
  put16(s, source.port());
  put16(s, destination.port());
  return s;
}

}  // namespace portier::tcp
