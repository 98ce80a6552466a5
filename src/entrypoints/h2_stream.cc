#include "entrypoints/h2_stream.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

#include "proxy/h1_serialize.h"
#include "proxy/h2_fields.h"
#include "proxy/http/parser.h"

namespace portier::entrypoints {
namespace {

// Fields HTTP/2 forbids (RFC 9113 8.2.2); the HTTP/1.1 writer adds some of them.
using proxy::connection_specific;
using proxy::make_nv;

// Bytes that would end or split an HTTP/1.1 field line: a name may hold none of them (nor a
// colon or a space after its first byte), a value none but the colon and the space.
constexpr std::uint8_t kBreaksLine = 1, kBreaksName = 2;
constexpr std::array<std::uint8_t, 256> make_breaks() {
  std::array<std::uint8_t, 256> t{};
  for (unsigned char c : {'\r', '\n', '\0'}) t[c] = kBreaksLine | kBreaksName;
  for (unsigned char c : {':', ' '}) t[c] = kBreaksName;
  return t;
}
constexpr auto kBreaks = make_breaks();

bool has_any(std::string_view s, std::uint8_t what) {
  std::uint8_t seen = 0;  // no early exit: the loop has no branch but the count
  for (char c : s) seen |= kBreaks[static_cast<unsigned char>(c)];
  return (seen & what) != 0;
}

ssize_t read_body_cb(nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t length,
                     std::uint32_t* flags, nghttp2_data_source* source, void*) {
  return static_cast<H2Stream*>(source->ptr)->read_body(buf, length, flags);
}

}  // namespace

H2Stream::H2Stream(nghttp2_session* session, std::int32_t id, std::size_t max_field_bytes,
                   const boost::asio::any_io_executor& ex, void (*wake)(void*), void* wake_ctx)
    : StreamPipe(ex),
      session_(session),
      id_(id),
      max_field_bytes_(max_field_bytes),
      wake_(wake),
      wake_ctx_(wake_ctx) {
  chunks_.keep_trailers(&trailers_);
}

void H2Stream::reuse(std::int32_t id) {
  id_ = id;
  for (std::string* str : {&method_, &authority_, &path_, &host_field_, &fields_, &cookie_, &in_,
                           &head_acc_, &out_, &trailers_}) {
    str->clear();
  }
  field_bytes_ = 0;
  bad_field_ = has_length_ = chunked_ = request_ended_ = false;
  in_off_ = unconsumed_ = out_off_ = 0;
  out_state_ = Out::Head;
  framing_ = {};
  remaining_ = 0;
  chunks_ = http::ChunkedDecoder();
  chunks_.keep_trailers(&trailers_);
  body_done_ = submitted_ = handler_running_ = closed_ = gone_ = false;
  handle = {};
}

void H2Stream::add_field(std::string_view name, std::string_view value) {
  field_bytes_ += name.size() + value.size() + 32;
  if (field_bytes_ > max_field_bytes_) return;  // headers_done answers 431
  // nghttp2 checks names and values (RFC 9113 8.2.1); checked again here, because these bytes
  // become an HTTP/1.1 head, where a CR or LF would start another field or another request.
  if (name.empty() || has_any(name.substr(1), kBreaksName) || has_any(value, kBreaksLine)) {
    bad_field_ = true;
    return;
  }
  // nghttp2 has checked the block: pseudo-fields first and once each, lower-case names, no
  // connection-specific field, no CR, LF or NUL in a value.
  if (name == ":method") {
    method_.assign(value);
  } else if (name == ":path") {
    path_.assign(value);
  } else if (name == ":authority") {
    authority_.assign(value);
  } else if (name == ":scheme" || name == ":protocol") {
    // The scheme is the connection's; :protocol (RFC 8441) is never enabled.
  } else if (name == "host") {
    host_field_.assign(value);
  } else if (name == "cookie") {
    if (value.empty()) return;  // an empty crumb adds nothing (and would leave a stray "; ")
    if (!cookie_.empty()) cookie_ += "; ";
    cookie_.append(value);
  } else {
    if (name == "content-length") has_length_ = true;
    // Go's canonical form (X-Foo), as Traefik forwards HTTP/2 fields to HTTP/1.1 servers.
    const std::size_t at = fields_.size();
    proxy::append_field(fields_, name, value);
    bool up = true;
    for (std::size_t i = at; i < at + name.size(); ++i) {
      char& c = fields_[i];
      if (up && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
      up = c == '-';
    }
  }
}

int H2Stream::headers_done(bool end_stream) {
  if (field_bytes_ > max_field_bytes_) return 431;
  if (bad_field_ || method_.empty() || path_.empty()) return 400;
  request_ended_ = end_stream;
  chunked_ = !end_stream && !has_length_;
  // :authority wins over a Host field (RFC 9113 8.3.1); the HTTP/1.1 parser refuses a request
  // with neither, as it refuses one without Host.
  const std::string& host = authority_.empty() ? host_field_ : authority_;
  in_.reserve(method_.size() + path_.size() + host.size() + fields_.size() + cookie_.size() + 64);
  in_.append(method_).append(" ").append(path_).append(" HTTP/1.1\r\n");
  if (!host.empty()) in_.append("host: ").append(host).append("\r\n");
  in_.append(fields_);
  if (!cookie_.empty()) in_.append("Cookie: ").append(cookie_).append("\r\n");
  if (chunked_) in_.append("transfer-encoding: chunked\r\n");
  in_.append("\r\n");
  fields_.clear();
  cookie_.clear();
  return 0;
}

void H2Stream::add_data(const std::uint8_t* data, std::size_t n) {
  if (n == 0) return;
  unconsumed_ += n;
  if (in_off_ > 0 && in_off_ == in_.size()) {
    in_.clear();
    in_off_ = 0;
  }
  if (chunked_) {
    char size[20];
    auto [end, ec] = std::to_chars(size, size + sizeof size, n, 16);
    in_.append(size, end).append("\r\n");
  }
  in_.append(reinterpret_cast<const char*>(data), n);
  if (chunked_) in_.append("\r\n");
  wake_reader();
}

void H2Stream::request_end() {
  if (request_ended_) return;
  request_ended_ = true;
  if (chunked_) in_.append("0\r\n\r\n");
  wake_reader();
}

std::size_t H2Stream::take(char* out, std::size_t n, bool& eof) {
  const std::size_t k = std::min(n, in_.size() - in_off_);
  std::memcpy(out, in_.data() + in_off_, k);
  in_off_ += k;
  if (in_off_ == in_.size()) {
    in_.clear();
    in_off_ = 0;
  } else if (in_off_ > 64 * 1024) {
    in_.erase(0, in_off_);
    in_off_ = 0;
  }
  eof = in_.empty() && request_ended_;
  // Reopen the client's windows for what was taken (a little early by the chunk framing's few
  // bytes, never by more than was received).
  if (const std::size_t c = std::min(k, unconsumed_); c > 0 && !closed_) {
    unconsumed_ -= c;
    nghttp2_session_consume(session_, id_, c);
    wake_(wake_ctx_);
  }
  return k;
}

bool H2Stream::give(std::string_view bytes) {
  while (!bytes.empty()) {
    switch (out_state_) {
      case Out::Head: {
        head_acc_.append(bytes);
        bytes = {};
        http::ResponseHead head;
        http::Limits limits;
        limits.max_head_bytes = 64 * 1024;
        http::ParseResult pr = http::parse_response_head(head_acc_, limits, head);
        if (pr.status == http::ParseStatus::Partial) return true;
        if (pr.status == http::ParseStatus::Failed) return false;
        if (head.status < 200) {
          // 100 Continue, 103 Early Hints: optional in HTTP/2, dropped.
          head_acc_.erase(0, pr.head_size);
          if (head_acc_.empty()) return true;
          std::string rest;
          rest.swap(head_acc_);
          return give(rest);
        }
        http::ResponseInfo info;
        if (http::analyze_response(head, method_, info) != http::Error::None) return false;
        framing_ = info.framing;
        remaining_ = framing_.length;
        const bool has_body = framing_.kind != http::BodyKind::None;
        if (!submit_head(head, has_body)) return false;
        out_state_ = has_body ? Out::Body : Out::Done;
        // The body bytes that came with the head are next; head_acc_ is left alone until the
        // end of this call (it is only appended to in the Head state).
        bytes = std::string_view(head_acc_).substr(pr.head_size);
        break;
      }
      case Out::Body:
        switch (framing_.kind) {
          case http::BodyKind::Length: {
            const std::size_t n =
                static_cast<std::size_t>(std::min<std::uint64_t>(bytes.size(), remaining_));
            queue_body(bytes.substr(0, n));
            remaining_ -= n;
            bytes.remove_prefix(n);
            if (remaining_ == 0) {
              body_done_ = true;
              out_state_ = Out::Done;
            }
            break;
          }
          case http::BodyKind::Chunked: {
            auto step = chunks_.feed(bytes);
            if (step.error != http::Error::None) return false;
            queue_body(step.data);
            bytes.remove_prefix(step.consumed);
            if (step.done) {
              body_done_ = true;
              out_state_ = Out::Done;
            } else if (step.consumed == 0) {
              return false;
            }
            break;
          }
          default:
            queue_body(bytes);
            bytes = {};
            break;
        }
        resume();
        break;
      case Out::Done:
        if (!bytes.empty()) return false;  // nothing may follow the response
        break;
    }
  }
  if (out_state_ != Out::Head) head_acc_.clear();  // keeps its capacity for the next stream
  return true;
}

bool H2Stream::submit_head(const http::ResponseHead& head, bool has_body) {
  if (gone_ || closed_) return false;
  // Names lower-cased into one arena (sized first: the views must not move).
  std::size_t bytes = 0;
  for (const auto& f : head.fields) bytes += f.name.size();
  thread_local std::string names;  // reused: nghttp2 copies what it keeps
  thread_local std::vector<nghttp2_nv> nva;
  names.resize(bytes);
  nva.clear();
  char status[4];
  std::to_chars(status, status + 3, head.status);
  nva.push_back(make_nv(":status", std::string_view(status, 3)));
  char* out = names.data();
  for (const auto& f : head.fields) {
    std::string_view lower(out, f.name.size());
    for (char c : f.name) *out++ = c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
    if (connection_specific(lower)) continue;
    nva.push_back(make_nv(lower, f.value));
  }
  nghttp2_data_provider prd;
  prd.source.ptr = this;
  prd.read_callback = read_body_cb;
  if (nghttp2_submit_response(session_, id_, nva.data(), nva.size(), has_body ? &prd : nullptr) !=
      0) {
    return false;
  }
  submitted_ = true;
  wake_(wake_ctx_);
  return true;
}

bool H2Stream::submit_trailers() {
  // trailers_ holds "name: value\r\n" lines the chunked decoder checked (token names, no CR,
  // LF or NUL in values).
  thread_local std::string names;
  thread_local std::vector<nghttp2_nv> nva;
  names.assign(trailers_);
  nva.clear();
  std::size_t at = 0;
  while (at < names.size()) {
    const std::size_t end = names.find("\r\n", at);
    if (end == std::string::npos) break;
    const std::size_t colon = names.find(':', at);
    if (colon == std::string::npos || colon > end) break;
    for (std::size_t i = at; i < colon; ++i) {
      if (names[i] >= 'A' && names[i] <= 'Z') names[i] = static_cast<char>(names[i] + 32);
    }
    std::string_view name(names.data() + at, colon - at);
    std::string_view value(names.data() + colon + 1, end - colon - 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (!connection_specific(name) && name != "te" && name != "host") {
      nva.push_back(make_nv(name, value));
    }
    at = end + 2;
  }
  trailers_.clear();
  if (nva.empty()) return false;
  return nghttp2_submit_trailer(session_, id_, nva.data(), nva.size()) == 0;
}

void H2Stream::answer_status(int status) {
  const std::string_view reason = http::reason_phrase(status);
  out_ = std::to_string(status) + " " + std::string(reason) + "\n";
  body_done_ = true;
  out_state_ = Out::Done;
  char code[4];
  std::to_chars(code, code + 3, status);
  const std::string length = std::to_string(out_.size());
  nghttp2_nv nva[] = {make_nv(":status", std::string_view(code, 3)),
                      make_nv("content-type", "text/plain; charset=utf-8"),
                      make_nv("content-length", length)};
  nghttp2_data_provider prd;
  prd.source.ptr = this;
  prd.read_callback = read_body_cb;
  if (nghttp2_submit_response(session_, id_, nva, 3, &prd) == 0) submitted_ = true;
  wake_(wake_ctx_);
}

void H2Stream::queue_body(std::string_view data) {
  if (data.empty()) return;
  if (out_off_ > 0 && out_off_ == out_.size()) {
    out_.clear();
    out_off_ = 0;
  }
  out_.append(data);
}

void H2Stream::resume() {
  if (closed_) return;
  nghttp2_session_resume_data(session_, id_);  // fails harmlessly when not deferred
  wake_(wake_ctx_);
}

ssize_t H2Stream::read_body(std::uint8_t* buf, std::size_t length, std::uint32_t* flags) {
  const bool was_blocked = write_blocked();
  const std::size_t n = std::min(length, out_.size() - out_off_);
  std::memcpy(buf, out_.data() + out_off_, n);
  out_off_ += n;
  if (out_off_ == out_.size()) {
    out_.clear();
    out_off_ = 0;
  } else if (out_off_ >= kMaxQueued) {
    out_.erase(0, out_off_);
    out_off_ = 0;
  }
  if (was_blocked && !write_blocked()) wake_writer();
  if (out_.empty() && body_done_) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    // The chunked trailer section goes as a trailing HEADERS frame, which ends the stream.
    if (!trailers_.empty() && submit_trailers()) *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
    return static_cast<ssize_t>(n);
  }
  if (n == 0) return NGHTTP2_ERR_DEFERRED;
  return static_cast<ssize_t>(n);
}

void H2Stream::handler_done() {
  handler_running_ = false;
  if (closed_ || gone_) return;
  if (out_state_ == Out::Body && framing_.kind == http::BodyKind::UntilClose) {
    body_done_ = true;
    out_state_ = Out::Done;
    resume();
  }
  if (out_state_ != Out::Done) {
    // No response, or a cut one: the client must not take it as complete.
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id_, NGHTTP2_INTERNAL_ERROR);
    wake_(wake_ctx_);
  }
}

std::size_t H2Stream::close(bool reset) {
  closed_ = true;
  if (reset || out_state_ != Out::Done) gone_ = true;
  wake_reader();
  wake_writer();
  if (gone_ && handle.upstream != nullptr) {
    boost::system::error_code ec;
    handle.upstream->cancel(ec);
  }
  const std::size_t left = unconsumed_;
  unconsumed_ = 0;
  return left;
}

}  // namespace portier::entrypoints
