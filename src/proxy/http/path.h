// The path of a request target made safe to route on and to forward, as Traefik v3's entrypoint
// handlers make it (normalizePath, the encodedCharacters check, sanitizePath), in this order:
//
//   1. percent-escapes: a malformed one is an error; an escape of an unreserved character
//      (RFC 3986 §2.3: ALPHA DIGIT - . _ ~) is decoded, so `%2e%2e` is `..`; an escape of a
//      refused character (PathPolicy::denied) is an error; every other escape is kept with its
//      hex digits in upper case (RFC 3986 §6.2.2.1);
//   2. a '#' (a fragment, which a request target never carries) is an error;
//   3. with PathPolicy::sanitize, dot segments and empty segments are removed as Go's
//      path.Clean does (RFC 3986 §5.2.4 plus "//" -> "/"): `..` above the root stays at the root
//      (`/..` is `/`), and a trailing slash is kept (`/a/b/../` is `/a/`, `/a/.` is `/a`).
//
// Encoded slashes stay encoded: `/a%2F..%2Fb` is one segment, not a climb (and is refused unless
// allowEncodedSlash). The query is not part of the path and is never touched.
//
// Cost: a path with no '%', '#', "//" or dot segment (the common case) is scanned once and
// returned as is, without a copy. Otherwise the result is written into a caller's string, which
// a session reuses, so nothing is allocated once it has grown. Safe to call from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/http/error.h"

namespace portier::http {

// Encoded characters that can change the meaning of a path: one bit each in PathPolicy::denied.
namespace encoded {
inline constexpr std::uint8_t kSlash = 1 << 0;         // %2F
inline constexpr std::uint8_t kBackSlash = 1 << 1;     // %5C
inline constexpr std::uint8_t kNull = 1 << 2;          // %00
inline constexpr std::uint8_t kSemicolon = 1 << 3;     // %3B
inline constexpr std::uint8_t kPercent = 1 << 4;       // %25
inline constexpr std::uint8_t kQuestionMark = 1 << 5;  // %3F
inline constexpr std::uint8_t kHash = 1 << 6;          // %23
inline constexpr std::uint8_t kAll = 0x7f;
}  // namespace encoded

struct PathPolicy {
  std::uint8_t denied = encoded::kAll;  // escapes refused with 400
  bool sanitize = true;                 // remove dot segments and empty segments
};

struct PathResult {
  Error error = Error::None;  // BadPercentEncoding, EncodedCharacter or FragmentInTarget
  std::string_view path;      // `raw` itself, or a view into the caller's scratch string
};

// Normalizes `raw` (the path of an origin-form target, without the query; empty means "/").
PathResult normalize_path(std::string_view raw, const PathPolicy& policy, std::string& scratch);

}  // namespace portier::http
