// Splitting a server address, "host:port" or "[v6]:port", as the TCP and UDP services take them
// (their tables make their own messages and decide what the host may be). Pure, header-only.
#pragma once

#include <charconv>
#include <string>
#include <string_view>

namespace portier {

enum class HostPortError { None, Brackets, NoColon, BadPort };

struct HostPort {
  std::string host;  // without the brackets of an IPv6 literal; may be empty
  std::string port;  // as written
  unsigned short number = 0;
};

// The port must be 1 to 65535, digits only. The host is not checked.
inline HostPortError split_host_port(std::string_view address, HostPort& out) {
  std::string_view host, port;
  if (!address.empty() && address.front() == '[') {
    const auto close = address.find(']');
    if (close == std::string_view::npos || close + 1 >= address.size() ||
        address[close + 1] != ':') {
      return HostPortError::Brackets;
    }
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    const auto colon = address.rfind(':');
    if (colon == std::string_view::npos) return HostPortError::NoColon;
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  }
  unsigned p = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || p == 0 ||
      p > 65535) {
    return HostPortError::BadPort;
  }
  out.host = std::string(host);
  out.port = std::string(port);
  out.number = static_cast<unsigned short>(p);
  return HostPortError::None;
}

// The message for a failed split of a server `address`: `v6_example` shows the bracketed form
// ("[::1]:5432"), `no_colon` says what is missing ("must be host:port").
inline std::string host_port_message(HostPortError e, std::string_view address,
                                     std::string_view v6_example, std::string_view no_colon) {
  const std::string what = "server address `" + std::string(address) + "` ";
  switch (e) {
    case HostPortError::Brackets:
      return what + "must look like " + std::string(v6_example);
    case HostPortError::NoColon:
      return what + std::string(no_colon);
    case HostPortError::BadPort:
      return what + "has an invalid port";
    case HostPortError::None:
      break;
  }
  return "";
}

}  // namespace portier
