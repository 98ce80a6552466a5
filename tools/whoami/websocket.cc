#include "websocket.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

namespace whoami {
namespace {

// A small SHA-1 (FIPS 180-4) for the handshake only; it keeps the static binary free of
// libcrypto.
class Sha1 {
 public:
  void update(std::string_view data) {
    for (char c : data) {
      block_[block_len_++] = static_cast<std::uint8_t>(c);
      if (block_len_ == 64) {
        compress();
        block_len_ = 0;
      }
    }
    bits_ += static_cast<std::uint64_t>(data.size()) * 8;
  }

  std::array<std::uint8_t, 20> finish() {
    std::uint64_t bits = bits_;
    block_[block_len_++] = 0x80;
    if (block_len_ > 56) {
      std::fill(block_.begin() + block_len_, block_.end(), 0);
      compress();
      block_len_ = 0;
    }
    std::fill(block_.begin() + block_len_, block_.begin() + 56, 0);
    for (int i = 0; i < 8; ++i) {
      block_[63 - i] = static_cast<std::uint8_t>(bits >> (8 * i));
    }
    compress();
    std::array<std::uint8_t, 20> out;
    for (int i = 0; i < 5; ++i) {
      for (int j = 0; j < 4; ++j) {
        out[4 * i + j] = static_cast<std::uint8_t>(h_[i] >> (24 - 8 * j));
      }
    }
    return out;
  }

 private:
  static std::uint32_t rotl(std::uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

  void compress() {
    std::uint32_t w[80];
    for (int i = 0; i < 16; ++i) {
      w[i] = (std::uint32_t{block_[4 * i]} << 24) | (std::uint32_t{block_[4 * i + 1]} << 16) |
             (std::uint32_t{block_[4 * i + 2]} << 8) | std::uint32_t{block_[4 * i + 3]};
    }
    for (int i = 16; i < 80; ++i) {
      w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    }
    std::uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3], e = h_[4];
    for (int i = 0; i < 80; ++i) {
      std::uint32_t f;
      std::uint32_t k;
      if (i < 20) {
        f = (b & c) | (~b & d);
        k = 0x5A827999;
      } else if (i < 40) {
        f = b ^ c ^ d;
        k = 0x6ED9EBA1;
      } else if (i < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8F1BBCDC;
      } else {
        f = b ^ c ^ d;
        k = 0xCA62C1D6;
      }
      std::uint32_t t = rotl(a, 5) + f + e + k + w[i];
      e = d;
      d = c;
      c = rotl(b, 30);
      b = a;
      a = t;
    }
    h_[0] += a;
    h_[1] += b;
    h_[2] += c;
    h_[3] += d;
    h_[4] += e;
  }

  std::array<std::uint32_t, 5> h_ = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
  std::array<std::uint8_t, 64> block_{};
  std::size_t block_len_ = 0;
  std::uint64_t bits_ = 0;
};

std::string base64(const std::uint8_t* data, std::size_t size) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < size; i += 3) {
    std::uint32_t v = std::uint32_t{data[i]} << 16;
    if (i + 1 < size) {
      v |= std::uint32_t{data[i + 1]} << 8;
    }
    if (i + 2 < size) {
      v |= data[i + 2];
    }
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < size ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < size ? kAlphabet[v & 63] : '=';
  }
  return out;
}

enum Opcode : std::uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

constexpr std::uint16_t kProtocolError = 1002;

// An unmasked server frame header for `payload_len` bytes.
std::size_t frame_header(std::uint8_t first, std::uint64_t payload_len, std::uint8_t* out) {
  out[0] = first;
  if (payload_len < 126) {
    out[1] = static_cast<std::uint8_t>(payload_len);
    return 2;
  }
  if (payload_len <= 0xFFFF) {
    out[1] = 126;
    out[2] = static_cast<std::uint8_t>(payload_len >> 8);
    out[3] = static_cast<std::uint8_t>(payload_len);
    return 4;
  }
  out[1] = 127;
  for (int i = 0; i < 8; ++i) {
    out[2 + i] = static_cast<std::uint8_t>(payload_len >> (56 - 8 * i));
  }
  return 10;
}

asio::awaitable<error_code> send_control(Conn& conn, std::uint8_t opcode, const std::uint8_t* data,
                                         std::size_t size) {
  std::array<std::uint8_t, 2 + 125> frame;
  size = std::min<std::size_t>(size, 125);
  std::size_t n = frame_header(static_cast<std::uint8_t>(0x80 | opcode), size, frame.data());
  std::memcpy(frame.data() + n, data, size);
  co_return co_await conn.write(asio::buffer(frame.data(), n + size));
}

asio::awaitable<void> close_with(Conn& conn, std::uint16_t code) {
  std::uint8_t payload[2] = {static_cast<std::uint8_t>(code >> 8), static_cast<std::uint8_t>(code)};
  co_await send_control(conn, kClose, payload, sizeof payload);
  co_await conn.lingering_close();
}

void unmask(char* data, std::size_t size, const std::uint8_t* key, std::uint64_t offset) {
  for (std::size_t i = 0; i < size; ++i) {
    data[i] = static_cast<char>(static_cast<std::uint8_t>(data[i]) ^ key[(offset + i) & 3]);
  }
}

}  // namespace

std::string websocket_accept(std::string_view key) {
  Sha1 sha;
  sha.update(key);
  sha.update("258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
  std::array<std::uint8_t, 20> digest = sha.finish();
  return base64(digest.data(), digest.size());
}

asio::awaitable<void> websocket_echo(Conn& conn) {
  for (;;) {
    if (co_await conn.fill(2)) {
      conn.reset();
      co_return;
    }
    auto byte = [&conn](std::size_t i) { return static_cast<std::uint8_t>(conn.buffered()[i]); };
    std::uint8_t first = byte(0);
    std::uint8_t opcode = first & 0x0F;
    bool fin = (first & 0x80) != 0;
    bool masked = (byte(1) & 0x80) != 0;
    std::uint64_t len = byte(1) & 0x7F;
    std::size_t header_len = 2 + (len == 126 ? 2 : len == 127 ? 8 : 0) + (masked ? 4 : 0);
    if (co_await conn.fill(header_len)) {
      conn.reset();
      co_return;
    }
    std::size_t pos = 2;
    if (len >= 126) {
      std::size_t bytes = len == 126 ? 2 : 8;
      len = 0;
      for (std::size_t i = 0; i < bytes; ++i) {
        len = (len << 8) | byte(pos++);
      }
    }
    std::uint8_t key[4] = {0, 0, 0, 0};
    if (masked) {
      for (std::uint8_t& k : key) {
        k = byte(pos++);
      }
    }
    conn.consume(header_len);

    bool control = (opcode & 0x8) != 0;
    bool known = opcode == kContinuation || opcode == kText || opcode == kBinary ||
                 opcode == kClose || opcode == kPing || opcode == kPong;
    if ((first & 0x70) != 0 || !masked || !known || (len >> 63) != 0 ||
        (control && (!fin || len > 125))) {
      co_await close_with(conn, kProtocolError);
      co_return;
    }

    if (control) {
      if (co_await conn.fill(len)) {
        conn.reset();
        co_return;
      }
      std::uint8_t payload[125];
      std::memcpy(payload, conn.buffered().data(), len);
      conn.consume(len);
      unmask(reinterpret_cast<char*>(payload), len, key, 0);
      if (opcode == kPing) {
        if (co_await send_control(conn, kPong, payload, len)) {
          conn.reset();
          co_return;
        }
      } else if (opcode == kClose) {
        if (len == 1) {
          co_await close_with(conn, kProtocolError);
        } else {
          // Echo the status code (or an empty close for an empty one), not the reason text.
          co_await send_control(conn, kClose, payload, len >= 2 ? 2 : 0);
          co_await conn.lingering_close();
        }
        co_return;
      }
      continue;  // pong: nothing to answer
    }

    // A data frame: echo its header unmasked together with the first piece of the payload, then
    // stream the rest through the buffer.
    std::uint8_t out_header[10];
    std::size_t out_len = frame_header(first, len, out_header);
    std::uint64_t done = 0;
    do {
      if (done < len && conn.buffered().empty()) {
        if (co_await conn.read_more()) {
          conn.reset();
          co_return;
        }
      }
      std::size_t n =
          static_cast<std::size_t>(std::min<std::uint64_t>(len - done, conn.buffered().size()));
      unmask(conn.buffered_data(), n, key, done);
      std::array<asio::const_buffer, 2> pieces = {asio::buffer(out_header, out_len),
                                                  asio::buffer(conn.buffered_data(), n)};
      out_len = 0;
      if (co_await conn.write(pieces)) {
        conn.reset();
        co_return;
      }
      conn.consume(n);
      done += n;
    } while (done < len);
  }
}

}  // namespace whoami
