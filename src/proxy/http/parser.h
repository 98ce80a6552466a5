// The HTTP/1.1 message-head parser: the one place where portier parses bytes from the wire.
//
// Strict per RFC 9112: CRLF line ends only (a bare CR or LF is an error), no obs-fold, no
// whitespace between a field name and its colon, field names are tokens, field values hold no
// control characters. It is zero-copy: every string_view in a parsed head points into the buffer
// given to the parser and is valid only while that buffer is unchanged.
//
// The parser is not resumable; callers re-run it on the whole buffer when more bytes arrive
// (heads are bounded by Limits::max_head_bytes, so the cost is bounded). It allocates only for a
// head of more than Fields::kInline fields, once per head object, and is safe to call from any
// thread. Semantic checks (Host, Content-Length, Transfer-Encoding) live in
// message.h, apart from the grammar.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "common/header_view.h"
#include "proxy/http/error.h"

namespace portier::http {

struct Limits {
  std::size_t max_head_bytes = 16 * 1024;  // request line + fields + CRLFs; over it: 431
  std::size_t max_target = 8 * 1024;       // request target; over it: 414
};

inline constexpr std::size_t kMaxFields = 100;  // more fields than this: 431

using Field = HeaderView;  // name as sent (compare with iequals()), value trimmed

// A head's fields in order. The first kInline live in the object itself; the 33rd moves them
// to an array of kMaxFields, made then and kept for the heads parsed into the same object
// later. Most heads have 5-25 fields, and a request's or a pooled server connection's state
// then holds 1 KiB of views instead of 3.2 (the array was all inline before).
struct Fields {
  static constexpr std::size_t kInline = 32;
  std::size_t count = 0;

  Fields() = default;
  Fields(const Fields& other) { *this = other; }
  Fields& operator=(const Fields& other) {
    if (this == &other) return *this;
    count = 0;
    for (const Field& f : other) push(f);
    return *this;
  }

  const Field* data() const { return items_; }
  Field* data() { return items_; }
  const Field* begin() const { return items_; }
  const Field* end() const { return items_ + count; }
  const Field& operator[](std::size_t i) const { return items_[i]; }
  Field& operator[](std::size_t i) { return items_[i]; }
  // Appends a field; false when kMaxFields are there already.
  bool push(const Field& f) {
    if (count >= kInline) [[unlikely]] {
      if (count == kMaxFields) return false;
      if (!more_) spill();
    }
    items_[count++] = f;
    return true;
  }
  // The first field with this name (case-insensitive), or nullptr.
  const Field* find(std::string_view name) const;

 private:
  void spill();
  // No move operations (a copy is made instead): items_ points into the object itself.
  std::array<Field, kInline> inline_;
  std::unique_ptr<Field[]> more_;  // kMaxFields, once a head had more than kInline
  Field* items_ = inline_.data();  // inline_ or more_
};

struct RequestHead {
  std::string_view method;
  std::string_view target;
  int version_minor = 1;  // HTTP/1.<minor>; only 0 and 1 are accepted
  Fields fields;
};

struct ResponseHead {
  int status = 0;
  std::string_view reason;
  int version_minor = 1;
  Fields fields;
};

enum class ParseStatus : std::uint8_t { Complete, Partial, Failed };

struct ParseResult {
  ParseStatus status = ParseStatus::Partial;
  Error error = Error::None;  // set when status == Failed
  std::size_t head_size = 0;  // bytes of the head including the final CRLF, when Complete
};

// Parses a request head at the start of `buf`. Leading empty lines (CRLF) are skipped as RFC 9112
// §2.2 allows; they count in head_size.
ParseResult parse_request_head(std::string_view buf, const Limits& limits, RequestHead& out);

// Parses a response head (status line + fields) at the start of `buf`.
ParseResult parse_response_head(std::string_view buf, const Limits& limits, ResponseHead& out);

// ASCII case-insensitive equality, for field names and tokens. The length test is inline: most
// calls compare a field's name with a name of another length (dozens for each request and
// response), and then the call itself was most of the cost.
bool iequals_same_length(const char* a, const char* b, std::size_t n);
inline bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && iequals_same_length(a.data(), b.data(), a.size());
}

// True when c may appear in a token (RFC 9110 §5.6.2).
bool is_token_char(unsigned char c);

}  // namespace portier::http
