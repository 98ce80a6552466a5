#include "request.h"

#include <charconv>

#include "proxy/http/message.h"

namespace whoami {

namespace http = portier::http;

Route route_for(std::string_view path) {
  static constexpr std::pair<std::string_view, Route> kRoutes[] = {
      {"/health", Route::Health}, {"/data", Route::Data},    {"/slow", Route::Slow},
      {"/echo", Route::Echo},     {"/ws", Route::WebSocket}, {"/reset", Route::Reset},
      {"/stats", Route::Stats},   {"/auth", Route::Auth},    {"/last-auth", Route::LastAuth},
      {"/status", Route::Status},
  };
  for (const auto& [name, route] : kRoutes) {
    if (path == name) {
      return route;
    }
  }
  return Route::Whoami;
}

std::pair<std::string_view, std::string_view> split_target(std::string_view target) {
  if (!target.starts_with('/')) {
    std::size_t scheme = target.find("://");
    if (scheme != std::string_view::npos) {
      std::size_t start = target.find_first_of("/?", scheme + 3);
      target = start == std::string_view::npos ? std::string_view{} : target.substr(start);
    }
  }
  std::size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
  return {path.empty() ? std::string_view("/") : path, query};
}

std::optional<std::string_view> query_param(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) == key) {
      return eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    }
  }
  return std::nullopt;
}

std::optional<std::uint64_t> parse_u64(std::string_view s) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) {
    return std::nullopt;
  }
  return v;
}

bool query_flag(std::string_view query, std::string_view key) {
  std::optional<std::string_view> v = query_param(query, key);
  return v && (*v == "1" || *v == "true");
}

const char* data_pattern() {
  static const std::array<char, kPatternBufferSize> bytes = [] {
    constexpr std::string_view kPattern =
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_";
    static_assert(kPattern.size() == 64 && kPatternBufferSize % 64 == 0);
    std::array<char, kPatternBufferSize> b;
    for (std::size_t i = 0; i < b.size(); ++i) {
      b[i] = kPattern[i % kPattern.size()];
    }
    return b;
  }();
  return bytes.data();
}

// Codes portier's table lacks that tests may set on /health.
std::string_view reason(int status) {
  switch (status) {
    case 202:
      return "Accepted";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 418:
      return "I'm a teapot";
    case 426:
      return "Upgrade Required";
    case 429:
      return "Too Many Requests";
    default:
      return http::reason_phrase(status);
  }
}

std::string_view chunk_size_line(std::size_t n, std::array<char, 24>& out) {
  auto [end, ec] = std::to_chars(out.data(), out.data() + 20, n, 16);
  *end++ = '\r';
  *end++ = '\n';
  return {out.data(), static_cast<std::size_t>(end - out.data())};
}

}  // namespace whoami
