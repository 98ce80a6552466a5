#include "support/h2_client.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace portier::test {

std::string H2Response::header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return "";
}

struct H2Callbacks {
  static H2Client* of(void* user) { return static_cast<H2Client*>(user); }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                       std::size_t namelen, const std::uint8_t* value, std::size_t valuelen,
                       std::uint8_t, void* user) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    auto& r = of(user)->responses[frame->hd.stream_id];
    std::string n(reinterpret_cast<const char*>(name), namelen);
    std::string v(reinterpret_cast<const char*>(value), valuelen);
    if (n == ":status") {
      r.status = std::stoi(v);
    } else {
      r.headers.emplace_back(std::move(n), std::move(v));
    }
    return 0;
  }
  static int on_data(nghttp2_session*, std::uint8_t, std::int32_t id, const std::uint8_t* data,
                     std::size_t len, void* user) {
    of(user)->responses[id].body.append(reinterpret_cast<const char*>(data), len);
    return 0;
  }
  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    H2Client* c = of(user);
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
      c->responses[frame->hd.stream_id].done = true;
    }
    if (frame->hd.type == NGHTTP2_RST_STREAM) {
      auto& r = c->responses[frame->hd.stream_id];
      r.reset = true;
      r.reset_code = frame->rst_stream.error_code;
    }
    if (frame->hd.type == NGHTTP2_GOAWAY) {
      c->goaway = true;
      c->goaway_code = frame->goaway.error_code;
      c->goaway_last_stream = frame->goaway.last_stream_id;
    }
    if (frame->hd.type == NGHTTP2_SETTINGS && !(frame->hd.flags & NGHTTP2_FLAG_ACK)) {
      for (std::size_t i = 0; i < frame->settings.niv; ++i) {
        c->server_settings[frame->settings.iv[i].settings_id] = frame->settings.iv[i].value;
      }
    }
    return 0;
  }
  static int on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t code, void* user) {
    auto& r = of(user)->responses[id];
    if (!r.done) {
      r.reset = true;
      if (r.reset_code == 0) r.reset_code = code;
    }
    return 0;
  }
  static ssize_t read_body(nghttp2_session*, std::int32_t id, std::uint8_t* buf, std::size_t length,
                           std::uint32_t* flags, nghttp2_data_source*, void* user) {
    auto& [body, off] = of(user)->bodies_[id];
    const std::size_t n = std::min(length, body.size() - off);
    std::memcpy(buf, body.data() + off, n);
    off += n;
    if (off == body.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }
};

H2Client::H2Client(Conn& conn) : conn_(conn) {
  nghttp2_session_callbacks* cbs;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_header_callback(cbs, H2Callbacks::on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, H2Callbacks::on_data);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, H2Callbacks::on_frame_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, H2Callbacks::on_stream_close);
  // Header blocks up to 1 MiB may be sent (nghttp2's default stops at 64 KiB before HPACK):
  // tests of the server's limits send more.
  nghttp2_option* opt;
  nghttp2_option_new(&opt);
  nghttp2_option_set_max_send_header_block_length(opt, 1 << 20);
  nghttp2_session_client_new2(&session_, cbs, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
  // A large window, so tests measure the server's flow control, not ours.
  nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 16 * 1024 * 1024},
                                 {NGHTTP2_SETTINGS_ENABLE_PUSH, 0}};
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, iv, 2);
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, 64 * 1024 * 1024);
  flush();
}

H2Client::~H2Client() { nghttp2_session_del(session_); }

bool H2Client::flush() {
  std::string out;
  for (;;) {
    const std::uint8_t* data;
    ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n <= 0) break;
    out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
  }
  return out.empty() || conn_.send(out);
}

std::int32_t H2Client::request(const std::string& method, const std::string& authority,
                               const std::string& path,
                               const std::vector<std::pair<std::string, std::string>>& headers,
                               const std::string& body, bool with_body, const std::string& scheme) {
  std::vector<std::pair<std::string, std::string>> all = {
      {":method", method}, {":scheme", scheme}, {":authority", authority}, {":path", path}};
  all.insert(all.end(), headers.begin(), headers.end());
  std::vector<nghttp2_nv> nva;
  for (auto& [n, v] : all) {
    nva.push_back({reinterpret_cast<std::uint8_t*>(n.data()),
                   reinterpret_cast<std::uint8_t*>(v.data()), n.size(), v.size(),
                   NGHTTP2_NV_FLAG_NONE});
  }
  nghttp2_data_provider prd{};
  prd.read_callback = H2Callbacks::read_body;
  const bool send_body = with_body || !body.empty();
  std::int32_t id = nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(),
                                           send_body ? &prd : nullptr, nullptr);
  if (id < 0) throw std::runtime_error("nghttp2_submit_request failed");
  if (send_body) bodies_[id] = {body, 0};
  responses[id];
  flush();
  return id;
}

void H2Client::reset(std::int32_t id, std::uint32_t code) {
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, code);
  flush();
}

bool H2Client::pump(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (!flush()) closed = true;
    if (done()) return true;
    if (closed || std::chrono::steady_clock::now() > end) return done();
    auto data = conn_.read_some();
    if (!data) {
      closed = true;
      return done();
    }
    if (nghttp2_session_mem_recv(session_, reinterpret_cast<const std::uint8_t*>(data->data()),
                                 data->size()) < 0) {
      closed = true;
      return done();
    }
  }
}

bool H2Client::wait_all(std::chrono::milliseconds timeout) {
  return pump(
      [this] {
        for (const auto& [id, r] : responses) {
          if (!r.done && !r.reset) return false;
        }
        return true;
      },
      timeout);
}

std::string h2_frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream_id,
                     const std::string& payload) {
  std::string f(9, '\0');
  const std::size_t n = payload.size();
  f[0] = static_cast<char>((n >> 16) & 0xff);
  f[1] = static_cast<char>((n >> 8) & 0xff);
  f[2] = static_cast<char>(n & 0xff);
  f[3] = static_cast<char>(type);
  f[4] = static_cast<char>(flags);
  f[5] = static_cast<char>((stream_id >> 24) & 0x7f);
  f[6] = static_cast<char>((stream_id >> 16) & 0xff);
  f[7] = static_cast<char>((stream_id >> 8) & 0xff);
  f[8] = static_cast<char>(stream_id & 0xff);
  return f + payload;
}

std::string h2_preface() {
  return std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") + h2_frame(0x4, 0, 0, "");
}

HpackEncoder::HpackEncoder() { nghttp2_hd_deflate_new(&deflater_, 4096); }
HpackEncoder::~HpackEncoder() { nghttp2_hd_deflate_del(deflater_); }

std::string HpackEncoder::encode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::vector<nghttp2_nv> nva;
  for (const auto& [n, v] : fields) {
    nva.push_back({reinterpret_cast<std::uint8_t*>(const_cast<char*>(n.data())),
                   reinterpret_cast<std::uint8_t*>(const_cast<char*>(v.data())), n.size(), v.size(),
                   NGHTTP2_NV_FLAG_NO_INDEX});
  }
  std::string out(nghttp2_hd_deflate_bound(deflater_, nva.data(), nva.size()), '\0');
  ssize_t n = nghttp2_hd_deflate_hd(deflater_, reinterpret_cast<std::uint8_t*>(out.data()),
                                    out.size(), nva.data(), nva.size());
  out.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
  return out;
}

}  // namespace portier::test
