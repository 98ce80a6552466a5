// Small pure helpers for whoami's endpoints: which endpoint a target names, its query parameters,
// and the bytes /data sends. No I/O; safe from any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

namespace whoami {

enum class Route : std::uint8_t {
  Whoami, Health, Data, Slow, Echo, WebSocket, Reset, Stats, Auth, LastAuth, Status
};

// The endpoint for a path (exact match); Whoami for every other path.
Route route_for(std::string_view path);

// Path and query of an origin-form ("/a?b") or absolute-form ("http://h/a?b") target. The path is
// "/" when empty.
std::pair<std::string_view, std::string_view> split_target(std::string_view target);

// The value of `key` in a query ("a=1&b=2"), "" for a bare key, nullopt when absent. No
// percent-decoding.
std::optional<std::string_view> query_param(std::string_view query, std::string_view key);

// True when `key` is "1" or "true".
bool query_flag(std::string_view query, std::string_view key);

// A decimal number with nothing around it, or nullopt.
std::optional<std::uint64_t> parse_u64(std::string_view s);

// The status line reason phrase for `status`, for a few more codes than http::reason_phrase.
std::string_view reason(int status);

// kPatternBufferSize bytes repeating a 64-byte printable pattern: byte i of any /data body is
// pattern[i % 64], since every write but the last is a whole number of patterns.
inline constexpr std::size_t kPatternBufferSize = 64 * 1024;
const char* data_pattern();

// "1a2b\r\n" for a chunk of n bytes, written into `out`.
std::string_view chunk_size_line(std::size_t n, std::array<char, 24>& out);

}  // namespace whoami
