// An HTTP/2 client for tests, on nghttp2's client session over a support Conn (TLS with ALPN h2,
// or plain for h2c): many streams at once, bodies both ways, resets; and raw frames for the
// attack tests (a client that breaks the rules on purpose).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "support/net.h"

struct nghttp2_session;
struct nghttp2_hd_deflater;

namespace portier::test {

struct H2Response {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool done = false;        // END_STREAM received
  bool reset = false;       // RST_STREAM received (or the stream was refused)
  std::uint32_t reset_code = 0;
  std::string header(const std::string& name) const;  // first of that name, or ""
};

class H2Client {
 public:
  // Sends the preface and SETTINGS at once. `conn` must outlive the client.
  explicit H2Client(Conn& conn);
  ~H2Client();
  H2Client(const H2Client&) = delete;
  H2Client& operator=(const H2Client&) = delete;

  // Starts a request; `body` is sent as DATA (none when empty and !with_body). Returns the id.
  std::int32_t request(const std::string& method, const std::string& authority,
                       const std::string& path,
                       const std::vector<std::pair<std::string, std::string>>& headers = {},
                       const std::string& body = "", bool with_body = false,
                       const std::string& scheme = "https");
  void reset(std::int32_t id, std::uint32_t code = 8 /* CANCEL */);
  // Exchanges frames until `done` holds, the connection ends, or the timeout. Returns done().
  bool pump(const std::function<bool()>& done,
            std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Until every started stream has ended (completed or reset).
  bool wait_all(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  std::map<std::int32_t, H2Response> responses;
  bool goaway = false;
  std::uint32_t goaway_code = 0;
  std::int32_t goaway_last_stream = 0;
  bool closed = false;  // the server closed the connection
  std::map<int, std::uint32_t> server_settings;  // SETTINGS the server sent, by id

  // The raw session, for what the helpers above do not cover.
  nghttp2_session* session() { return session_; }
  bool flush();  // sends what nghttp2 has queued

 private:
  Conn& conn_;
  nghttp2_session* session_ = nullptr;
  std::map<std::int32_t, std::pair<std::string, std::size_t>> bodies_;  // to send, and offset
  friend struct H2Callbacks;
};

// Raw frames, for clients that misbehave. A frame with its 9-byte header.
std::string h2_frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream_id,
                     const std::string& payload);
// The client connection preface and an empty SETTINGS frame.
std::string h2_preface();
// An HPACK header block for these fields (no Huffman, no indexing), in the encoder's state.
class HpackEncoder {
 public:
  HpackEncoder();
  ~HpackEncoder();
  HpackEncoder(const HpackEncoder&) = delete;
  HpackEncoder& operator=(const HpackEncoder&) = delete;
  std::string encode(const std::vector<std::pair<std::string, std::string>>& fields);

 private:
  nghttp2_hd_deflater* deflater_ = nullptr;
};

}  // namespace portier::test
