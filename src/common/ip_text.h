// An IP address as text, without inet_ntop for IPv4: glibc formats IPv4 through sprintf,
// about a thousand instructions, paid once per accepted connection (docs/performance.md).
#pragma once

#include <boost/asio/ip/address.hpp>
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

namespace portier {

// Writes `addr` as text into `out` ("192.0.2.1", "2001:db8::1": Asio's form for IPv6) and
// returns it; 64 bytes hold any address.
inline std::string_view ip_text(const boost::asio::ip::address& addr, char (&out)[64]) {
  if (addr.is_v4()) {
    const auto b = addr.to_v4().to_bytes();
    std::size_t n = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      if (k != 0) out[n++] = '.';
      const unsigned v = b[k];
      if (v >= 100) out[n++] = static_cast<char>('0' + v / 100);
      if (v >= 10) out[n++] = static_cast<char>('0' + v / 10 % 10);
      out[n++] = static_cast<char>('0' + v % 10);
    }
    return {out, n};
  }
  const std::string text = addr.to_string();
  const std::size_t n = text.size() < sizeof out ? text.size() : sizeof out;
  std::memcpy(out, text.data(), n);
  return {out, n};
}

inline std::string ip_text(const boost::asio::ip::address& addr) {
  char buf[64];
  return std::string(ip_text(addr, buf));
}

}  // namespace portier
