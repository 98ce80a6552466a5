#include "proxy/http/parser.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace portier::http {
namespace {

// tchar per RFC 9110 §5.6.2.
constexpr std::array<bool, 256> make_token_table() {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}
constexpr auto kToken = make_token_table();

// field-vchar / SP / HTAB / obs-text (RFC 9110 §5.5): everything but CTLs, with HTAB allowed.
constexpr bool is_value_char(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }
constexpr std::array<bool, 256> make_value_table() {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) t[c] = is_value_char(static_cast<unsigned char>(c));
  return t;
}
constexpr auto kValue = make_value_table();

// Request-target characters: visible ASCII only (no SP, no CTL, no obs-text).
inline bool is_target_char(unsigned char c) { return c > 0x20 && c < 0x7f; }

struct Cursor {
  const char* p;
  const char* end;
};

// Finds the end of the line starting at c.p. Returns a pointer to the CR of the CRLF, nullptr when
// the line is not complete yet. Sets err for a bare CR or LF.
const char* find_line_end(const Cursor& c, Error& err) {
  const char* lf = static_cast<const char*>(std::memchr(c.p, '\n', c.end - c.p));
  // A CR anywhere but right before the LF is a bare CR.
  const char* limit = lf ? lf : c.end;
  const char* cr = static_cast<const char*>(std::memchr(c.p, '\r', limit - c.p));
  if (lf == nullptr) {
    if (cr != nullptr && cr + 1 < c.end) {
      err = Error::BareLineEnd;  // CR followed by something other than LF
    }
    return nullptr;
  }
  if (cr == nullptr || cr + 1 != lf) {
    err = Error::BareLineEnd;
    return nullptr;
  }
  return cr;
}

std::string_view trim_ows(const char* b, const char* e) {
  while (b < e && (*b == ' ' || *b == '\t')) ++b;
  while (e > b && (e[-1] == ' ' || e[-1] == '\t')) --e;
  return {b, static_cast<std::size_t>(e - b)};
}

// True when the 8 bytes at p are all field-value characters and none is a tab: no byte below
// 0x20, none 0x7f (bytes from 0x80 are obs-text, allowed). The two tests are the exact
// "some byte is less than n" word test (n <= 128), so a group is skipped only when the byte
// loop would have passed all of it; from a group with a tab (allowed) on, the byte loop goes
// on. parse_fields: 2.6k -> 2.4k instructions a proxied HTTP/2 request (callgrind).
inline bool value_chars8(const char* p) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL, kHighs = 0x8080808080808080ULL;
  std::uint64_t x;
  std::memcpy(&x, p, sizeof x);
  const std::uint64_t control = (x - kOnes * 0x20) & ~x & kHighs;
  const std::uint64_t d = x ^ (kOnes * 0x7f);
  const std::uint64_t del = (d - kOnes) & ~d & kHighs;
  return (control | del) == 0;
}

// The common case of a field line, in one pass: a token, ':', field-value characters, CRLF, all
// within the buffer. Returns the CR, with `colon` set; nullptr for anything else (an incomplete
// line, a bare CR or LF, a bad character, the empty line), which the general code below then
// parses from the same place with its own checks and errors. What this accepts is exactly what
// that code accepts as one complete field line, so the two agree; it only skips the two memchr
// scans per line that the general code needs to find and check the line's end first.
const char* plain_field_line(const Cursor& c, const char*& colon) {
  const char* p = c.p;
  while (p < c.end && kToken[static_cast<unsigned char>(*p)]) ++p;
  if (p == c.p || p == c.end || *p != ':') return nullptr;
  colon = p++;
  while (c.end - p >= 8 && value_chars8(p)) p += 8;
  while (p < c.end && kValue[static_cast<unsigned char>(*p)]) ++p;
  if (c.end - p < 2 || p[0] != '\r' || p[1] != '\n') return nullptr;
  return p;
}

// Parses field lines until the empty line. On Complete, c.p is after the final CRLF.
ParseStatus parse_fields(Cursor& c, const Limits& limits, const char* head_start, Fields& out,
                         Error& err) {
  out.count = 0;
  for (;;) {
    if (static_cast<std::size_t>(c.p - head_start) > limits.max_head_bytes) {
      err = Error::HeadTooLarge;
      return ParseStatus::Failed;
    }
    const char* colon = nullptr;
    if (const char* cr = plain_field_line(c, colon); cr != nullptr) {
      if (!out.push(Field{std::string_view(c.p, static_cast<std::size_t>(colon - c.p)),
                          trim_ows(colon + 1, cr)})) {
        err = Error::TooManyFields;
        return ParseStatus::Failed;
      }
      c.p = cr + 2;
      continue;
    }
    const char* eol = find_line_end(c, err);
    if (err != Error::None) return ParseStatus::Failed;
    if (eol == nullptr) {
      if (static_cast<std::size_t>(c.end - head_start) > limits.max_head_bytes) {
        err = Error::HeadTooLarge;
        return ParseStatus::Failed;
      }
      // A line that already starts with whitespace is obs-fold whatever follows.
      if (c.p < c.end && (*c.p == ' ' || *c.p == '\t') && out.count > 0) {
        err = Error::ObsFold;
        return ParseStatus::Failed;
      }
      return ParseStatus::Partial;
    }
    if (eol == c.p) {  // empty line: end of head
      c.p = eol + 2;
      if (static_cast<std::size_t>(c.p - head_start) > limits.max_head_bytes) {
        err = Error::HeadTooLarge;
        return ParseStatus::Failed;
      }
      return ParseStatus::Complete;
    }
    if (*c.p == ' ' || *c.p == '\t') {
      err = out.count > 0 ? Error::ObsFold : Error::BadFieldName;
      return ParseStatus::Failed;
    }
    const char* p = c.p;
    while (p < eol && kToken[static_cast<unsigned char>(*p)]) ++p;
    if (p == eol || p == c.p) {
      err = Error::BadFieldName;
      return ParseStatus::Failed;
    }
    if (*p != ':') {
      err = (*p == ' ' || *p == '\t') ? Error::SpaceBeforeColon : Error::BadFieldName;
      return ParseStatus::Failed;
    }
    std::string_view name(c.p, p - c.p);
    for (const char* v = p + 1; v < eol; ++v) {
      if (!kValue[static_cast<unsigned char>(*v)]) {
        err = Error::BadFieldValue;
        return ParseStatus::Failed;
      }
    }
    if (!out.push(Field{name, trim_ows(p + 1, eol)})) {
      err = Error::TooManyFields;
      return ParseStatus::Failed;
    }
    c.p = eol + 2;
  }
}

// Parses "HTTP/1.x" exactly; other versions give UnsupportedVersion, garbage BadVersion.
bool parse_version(std::string_view v, int& minor, Error& err) {
  if (v.size() != 8 || v.substr(0, 5) != "HTTP/" || v[6] != '.' || v[5] < '0' || v[5] > '9' ||
      v[7] < '0' || v[7] > '9') {
    err = Error::BadVersion;
    return false;
  }
  if (v[5] != '1' || (v[7] != '0' && v[7] != '1')) {
    err = Error::UnsupportedVersion;
    return false;
  }
  minor = v[7] - '0';
  return true;
}

}  // namespace

bool is_token_char(unsigned char c) { return kToken[c]; }

namespace {

// Eight bytes of two names: equal, or differing only in the case of letters.
inline bool iequals8(const char* a, const char* b) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL, kHighs = kOnes * 0x80;
  std::uint64_t x, y;
  std::memcpy(&x, a, sizeof x);
  std::memcpy(&y, b, sizeof y);
  const std::uint64_t d = x ^ y;
  if (d == 0) return true;
  if ((d & ~(kOnes * 0x20)) != 0) return false;  // a difference other than the case bit
  // Where the case bit differs, the byte (lower-cased) must be a letter: below 0x80, at least
  // 'a' and at most 'z'. Each test leaves its answer in the byte's top bit, with no borrow
  // between bytes (each byte's top bit is set before the subtraction).
  const std::uint64_t lower = x | (kOnes * 0x20);
  const std::uint64_t low7 = lower & ~kHighs;
  const std::uint64_t at_least_a = ((low7 | kHighs) - kOnes * 'a') & kHighs;
  const std::uint64_t at_most_z = ((kOnes * 'z' | kHighs) - low7) & kHighs;
  const std::uint64_t letter = at_least_a & at_most_z & ~(lower & kHighs);
  return ((d << 2) & ~letter) == 0;  // the case bit (0x20) moved to the top bit (0x80)
}

}  // namespace

bool iequals_same_length(const char* a, const char* b, std::size_t n) {
  if (n >= 8) {
    // Words of eight, the last one overlapping the one before it when n is not a multiple.
    for (std::size_t i = 0; i + 8 < n; i += 8) {
      if (!iequals8(a + i, b + i)) return false;
    }
    return iequals8(a + n - 8, b + n - 8);
  }
  for (std::size_t i = 0; i < n; ++i) {
    unsigned char x = a[i], y = b[i];
    if (x != y) {
      if ((x | 0x20) != (y | 0x20) || (x | 0x20) < 'a' || (x | 0x20) > 'z') return false;
    }
  }
  return true;
}

void Fields::spill() {
  more_ = std::make_unique<Field[]>(kMaxFields);
  std::copy(inline_.begin(), inline_.begin() + count, more_.get());
  items_ = more_.get();
}

const Field* Fields::find(std::string_view name) const {
  for (const Field& f : *this) {
    if (iequals(f.name, name)) return &f;
  }
  return nullptr;
}

ParseResult parse_request_head(std::string_view buf, const Limits& limits, RequestHead& out) {
  ParseResult r;
  Cursor c{buf.data(), buf.data() + buf.size()};
  // Skip empty lines before the request line (RFC 9112 §2.2), but not forever.
  while (c.end - c.p >= 2 && c.p[0] == '\r' && c.p[1] == '\n') {
    c.p += 2;
    if (static_cast<std::size_t>(c.p - buf.data()) > limits.max_head_bytes) {
      return {ParseStatus::Failed, Error::HeadTooLarge, 0};
    }
  }
  const char* head_start = buf.data();

  // method SP
  const char* p = c.p;
  while (p < c.end && kToken[static_cast<unsigned char>(*p)]) ++p;
  if (p == c.end) {
    return p - c.p > 32 ? ParseResult{ParseStatus::Failed, Error::BadMethod, 0} : r;
  }
  if (p == c.p) {
    if (*p == '\r' && p + 1 == c.end) return r;  // maybe the CR of an empty line
    Error e = (*p == '\r' || *p == '\n') ? Error::BareLineEnd : Error::BadRequestLine;
    return {ParseStatus::Failed, e, 0};
  }
  if (*p != ' ') {
    return {ParseStatus::Failed, Error::BadMethod, 0};
  }
  out.method = std::string_view(c.p, p - c.p);

  // request-target SP
  const char* t = ++p;
  while (p < c.end && is_target_char(static_cast<unsigned char>(*p))) ++p;
  if (static_cast<std::size_t>(p - t) > limits.max_target) {
    return {ParseStatus::Failed, Error::TargetTooLong, 0};
  }
  if (p == c.end) return r;
  if (*p != ' ' || p == t) {
    return {ParseStatus::Failed, Error::BadTarget, 0};
  }
  out.target = std::string_view(t, p - t);

  // HTTP-version CRLF
  const char* v = ++p;
  Cursor line{v, c.end};
  Error err = Error::None;
  const char* eol = find_line_end(line, err);
  if (err != Error::None) return {ParseStatus::Failed, err, 0};
  if (eol == nullptr) {
    if (c.end - v > 10) return {ParseStatus::Failed, Error::BadVersion, 0};
    if (static_cast<std::size_t>(c.end - head_start) > limits.max_head_bytes) {
      return {ParseStatus::Failed, Error::HeadTooLarge, 0};
    }
    return r;
  }
  if (!parse_version(std::string_view(v, eol - v), out.version_minor, err)) {
    return {ParseStatus::Failed, err, 0};
  }
  if (out.target.front() != '/') {
    // absolute-form (http://...), asterisk-form for OPTIONS, authority-form for CONNECT.
    bool ok = out.target == "*"
                  ? out.method == "OPTIONS"
                  : out.target.find("://") != std::string_view::npos || out.method == "CONNECT";
    if (!ok) return {ParseStatus::Failed, Error::BadTarget, 0};
  }
  c.p = eol + 2;

  ParseStatus st = parse_fields(c, limits, head_start, out.fields, err);
  if (st == ParseStatus::Complete) {
    return {st, Error::None, static_cast<std::size_t>(c.p - buf.data())};
  }
  return {st, err, 0};
}

ParseResult parse_response_head(std::string_view buf, const Limits& limits, ResponseHead& out) {
  ParseResult r;
  Cursor c{buf.data(), buf.data() + buf.size()};
  Error err = Error::None;
  const char* eol = find_line_end(c, err);
  if (err != Error::None) return {ParseStatus::Failed, Error::BadStatusLine, 0};
  if (eol == nullptr) {
    if (buf.size() > limits.max_head_bytes) return {ParseStatus::Failed, Error::HeadTooLarge, 0};
    return r;
  }
  std::string_view line(c.p, eol - c.p);
  // HTTP/1.x SP 3DIGIT SP reason  (the reason may be empty, the SP before it is then optional)
  if (line.size() < 12 || line[8] != ' ' ||
      !parse_version(line.substr(0, 8), out.version_minor, err)) {
    return {ParseStatus::Failed, Error::BadStatusLine, 0};
  }
  int status = 0;
  for (int i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') return {ParseStatus::Failed, Error::BadStatusLine, 0};
    status = status * 10 + (line[i] - '0');
  }
  if (status < 100 || (line.size() > 12 && line[12] != ' ')) {
    return {ParseStatus::Failed, Error::BadStatusLine, 0};
  }
  out.status = status;
  out.reason = line.size() > 13 ? line.substr(13) : std::string_view();
  for (char ch : out.reason) {
    if (!is_value_char(static_cast<unsigned char>(ch))) {
      return {ParseStatus::Failed, Error::BadStatusLine, 0};
    }
  }
  c.p = eol + 2;
  ParseStatus st = parse_fields(c, limits, buf.data(), out.fields, err);
  if (st == ParseStatus::Complete) {
    return {st, Error::None, static_cast<std::size_t>(c.p - buf.data())};
  }
  return {st, err, 0};
}

}  // namespace portier::http
