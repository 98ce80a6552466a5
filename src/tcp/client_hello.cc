#include "tcp/client_hello.h"

#include <cstdint>

namespace portier::tcp {
namespace {

constexpr std::uint8_t kHandshake = 0x16;
constexpr std::uint8_t kClientHelloType = 0x01;
constexpr std::size_t kRecordHeader = 5;
constexpr std::size_t kMaxRecord = 16384 + 2048;  // TLSPlaintext limit, with slack for old peers

// A bounds-checked reader over one handshake message: every read fails (and stays failed) past
// the end instead of reading beyond it.
class Reader {
 public:
  explicit Reader(std::string_view b) : b_(b) {}
  bool ok() const { return ok_; }
  std::size_t left() const { return ok_ ? b_.size() - pos_ : 0; }
  std::uint32_t u8() { return take(1); }
  std::uint32_t u16() { return take(2); }
  std::uint32_t u24() { return take(3); }
  std::string_view bytes(std::size_t n) {
    if (!ok_ || b_.size() - pos_ < n) {
      ok_ = false;
      return {};
    }
    std::string_view v = b_.substr(pos_, n);
    pos_ += n;
    return v;
  }

 private:
  std::uint32_t take(std::size_t n) {
    std::uint32_t v = 0;
    for (char c : bytes(n)) v = (v << 8) | static_cast<std::uint8_t>(c);
    return v;
  }
  std::string_view b_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

bool parse_sni(std::string_view ext, std::string& sni) {
  Reader r(ext);
  Reader list(r.bytes(r.u16()));
  if (!r.ok() || r.left() != 0) return false;
  while (list.ok() && list.left() > 0) {
    std::uint32_t type = list.u8();
    std::string_view name = list.bytes(list.u16());
    if (!list.ok()) return false;
    if (type != 0 || !sni.empty()) continue;  // host_name only; the first one counts
    if (name.empty() || name.size() > 255) return false;
    for (char c : name) {
      unsigned char u = static_cast<unsigned char>(c);
      if (u <= 0x20 || u >= 0x7f) return false;  // RFC 6066: ASCII host names, no spaces
      sni.push_back(static_cast<char>(u >= 'A' && u <= 'Z' ? u + 32 : u));
    }
    // "a.example." names a.example; "a.example.." is no valid name either way, and keeping a
    // dot would let it miss HostSNI(`a.example`) while TLS picks that certificate (found by the
    // fuzzer): every trailing dot goes.
    while (!sni.empty() && sni.back() == '.') sni.pop_back();
  }
  return list.ok();
}

bool parse_alpn(std::string_view ext, std::vector<std::string>& alpn) {
  Reader r(ext);
  Reader list(r.bytes(r.u16()));
  if (!r.ok() || r.left() != 0) return false;
  while (list.ok() && list.left() > 0) {
    std::string_view p = list.bytes(list.u8());
    if (!list.ok() || p.empty()) return false;
    if (alpn.size() < 32) alpn.emplace_back(p);
  }
  return list.ok();
}

// One complete ClientHello message body (after its 4-byte handshake header).
bool parse_body(std::string_view body, ClientHello& out) {
  Reader r(body);
  r.u16();        // legacy_version
  r.bytes(32);    // random
  if (r.bytes(r.u8()).size() > 32) return false;  // legacy_session_id
  std::uint32_t suites = r.u16();
  if (suites < 2 || suites % 2 != 0) return false;
  r.bytes(suites);
  if (r.bytes(r.u8()).empty()) return false;  // compression methods: at least "null"
  if (!r.ok()) return false;
  if (r.left() == 0) return true;  // no extensions (TLS 1.0 clients)
  Reader exts(r.bytes(r.u16()));
  if (!r.ok() || r.left() != 0) return false;
  bool seen_sni = false, seen_alpn = false;
  while (exts.ok() && exts.left() > 0) {
    std::uint32_t type = exts.u16();
    std::string_view data = exts.bytes(exts.u16());
    if (!exts.ok()) return false;
    if (type == 0) {
      if (seen_sni || !parse_sni(data, out.sni)) return false;
      seen_sni = true;
    } else if (type == 16) {
      if (seen_alpn || !parse_alpn(data, out.alpn)) return false;
      seen_alpn = true;
    }
  }
  return exts.ok();
}

}  // namespace

HelloStatus parse_client_hello(std::string_view bytes, ClientHello& out) {
  if (bytes.empty()) return HelloStatus::Partial;
  const auto first = static_cast<std::uint8_t>(bytes[0]);
  // SSLv2-compatible hellos start with a length whose top bit is set; the handshake refuses
  // them, as Traefik lets crypto/tls do.
  if (first == 0x80) return HelloStatus::Tls;
  if (first != kHandshake) return HelloStatus::NotTls;
  // Reassemble the handshake records' payloads until the ClientHello is whole.
  std::string message;
  std::size_t pos = 0;
  std::size_t need = 0;  // the message's full size once its header is in
  for (;;) {
    if (bytes.size() - pos < kRecordHeader) return HelloStatus::Partial;
    Reader h(bytes.substr(pos, kRecordHeader));
    const std::uint32_t type = h.u8();
    const std::uint32_t major = h.u8();
    h.u8();  // minor: any (ClientHellos say 3.1 or 3.3 here)
    const std::uint32_t len = h.u16();
    if (type != kHandshake || major != 3 || len == 0 || len > kMaxRecord) {
      return HelloStatus::Invalid;
    }
    if (bytes.size() - pos - kRecordHeader < len) {
      // Decide what can be decided before the record is complete: the message type.
      if (message.empty() && bytes.size() - pos > kRecordHeader &&
          static_cast<std::uint8_t>(bytes[pos + kRecordHeader]) != kClientHelloType) {
        return HelloStatus::Invalid;
      }
      return HelloStatus::Partial;
    }
    message.append(bytes.substr(pos + kRecordHeader, len));
    pos += kRecordHeader + len;
    if (need == 0 && message.size() >= 4) {
      Reader m(message);
      if (m.u8() != kClientHelloType) return HelloStatus::Invalid;
      const std::uint32_t body = m.u24();
      if (body > kMaxClientHello) return HelloStatus::Invalid;
      need = 4 + body;
    }
    if (need != 0 && message.size() >= need) break;
    if (message.size() > kMaxClientHello + 4) return HelloStatus::Invalid;
  }
  // Bytes after the ClientHello in its last record: no other handshake message may follow it
  // in the client's first flight.
  if (message.size() != need) return HelloStatus::Invalid;
  ClientHello hello;
  if (!parse_body(std::string_view(message).substr(4), hello)) return HelloStatus::Invalid;
  out = std::move(hello);
  return HelloStatus::Tls;
}

}  // namespace portier::tcp
