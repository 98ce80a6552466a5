// Builds TLS ClientHello bytes for the tests (and the fuzz seeds): records, SNI, ALPN.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace portier::tcp::testing {

inline void put16(std::string& s, std::size_t v) {
  s.push_back(static_cast<char>((v >> 8) & 0xff));
  s.push_back(static_cast<char>(v & 0xff));
}

// The ClientHello handshake message (type, 24-bit length, body).
inline std::string hello_message(const std::string& sni, const std::vector<std::string>& alpn) {
  std::string body;
  put16(body, 0x0303);
  body.append(32, '\x11');  // random
  body.push_back(0);        // session id
  put16(body, 2);
  put16(body, 0x1301);  // TLS_AES_128_GCM_SHA256
  body.push_back(1);
  body.push_back(0);  // null compression
  std::string exts;
  if (!sni.empty()) {
    std::string list;
    list.push_back(0);
    put16(list, sni.size());
    list += sni;
    std::string ext;
    put16(ext, list.size());
    ext += list;
    put16(exts, 0);
    put16(exts, ext.size());
    exts += ext;
  }
  if (!alpn.empty()) {
    std::string list;
    for (const auto& p : alpn) {
      list.push_back(static_cast<char>(p.size()));
      list += p;
    }
    std::string ext;
    put16(ext, list.size());
    ext += list;
    put16(exts, 16);
    put16(exts, ext.size());
    exts += ext;
  }
  put16(body, exts.size());
  body += exts;
  std::string msg;
  msg.push_back(1);
  msg.push_back(static_cast<char>((body.size() >> 16) & 0xff));
  put16(msg, body.size() & 0xffff);
  msg += body;
  return msg;
}

// The message in TLS records of at most `fragment` payload bytes.
inline std::string records(const std::string& msg, std::size_t fragment = 16384) {
  std::string out;
  for (std::size_t i = 0; i < msg.size(); i += fragment) {
    std::string part = msg.substr(i, fragment);
    out.push_back(0x16);
    out.push_back(3);
    out.push_back(1);
    put16(out, part.size());
    out += part;
  }
  return out;
}

}  // namespace portier::tcp::testing
