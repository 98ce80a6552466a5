// What both HTTP/2 codecs (the client side's entrypoints/h2_stream, the server side's
// proxy/h2_upstream) need to turn HTTP/1.1 fields into HTTP/2 ones.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <string_view>

namespace portier::proxy {

// An nghttp2 name/value pair viewing `name` and `value` (nghttp2 copies them when it submits).
inline nghttp2_nv make_nv(std::string_view name, std::string_view value) {
  return {reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(),
          value.size(), NGHTTP2_NV_FLAG_NONE};
}

// A lower-case HTTP/1.1 field name HTTP/2 forbids (RFC 9113 8.2.2): connection-specific.
inline bool connection_specific(std::string_view lower) {
  return lower == "connection" || lower == "keep-alive" || lower == "proxy-connection" ||
         lower == "transfer-encoding" || lower == "upgrade";
}

}  // namespace portier::proxy
