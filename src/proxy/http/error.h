// Errors found in HTTP messages, as std::error_code values (the data plane never throws), and the
// status code each one is answered with.
#pragma once

#include <cstdint>
#include <string_view>
#include <system_error>

namespace portier::http {

enum class Error : std::uint8_t {
  None = 0,
  BadRequestLine,               // 400
  BadMethod,                    // 400
  BadTarget,                    // 400
  BadVersion,                   // 400
  UnsupportedVersion,           // 505
  BareLineEnd,                  // 400: CR or LF alone
  ObsFold,                      // 400: a field line starting with whitespace
  BadFieldName,                 // 400
  SpaceBeforeColon,             // 400
  BadFieldValue,                // 400
  MissingHost,                  // 400
  DuplicateHost,                // 400
  BadHost,                      // 400
  BadContentLength,             // 400
  DuplicateContentLength,       // 400
  LengthWithChunked,            // 400: Content-Length together with Transfer-Encoding
  BadTransferEncoding,          // 400: Transfer-Encoding whose final coding is not chunked
  UnsupportedTransferEncoding,  // 501: a coding other than chunked
  BadChunk,                     // 400 / 502: malformed chunk size line, extension or terminator
  ChunkTooLarge,                // 400 / 502: chunk size beyond 2^62
  TrailersTooLarge,             // 431 / 502
  HeadTooLarge,                 // 431
  TooManyFields,                // 431
  TargetTooLong,                // 414
  BadStatusLine,                // 502 (responses only)
  BadConnectMethod,             // 405: CONNECT is not proxied
  UserinfoInTarget,             // 400: absolute-form target with user@ in its authority
  BadPercentEncoding,           // 400: '%' not followed by two hex digits in the path
  EncodedCharacter,             // 400: %2F, %5C, %00, %3B, %25, %3F or %23 in the path, refused
  FragmentInTarget,             // 400: '#' in the path
  H2cUpgrade,                   // 400: Upgrade: h2c (would switch protocol behind the proxy)
  UnderscoreField,              // 400: a field name with '_' (underscoreHeadersStrategy: reject)
};

const std::error_category& error_category();
std::error_code make_error_code(Error e);

// The status code a request failing with `e` is answered with (400, 414, 431, 501, 505, ...).
int status_for(Error e);

// A short, stable description for logs ("bare CR or LF", ...).
std::string_view describe(Error e);

}  // namespace portier::http

template <>
struct std::is_error_code_enum<portier::http::Error> : std::true_type {};
