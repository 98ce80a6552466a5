#include "common/redis_url.h"

#include <charconv>

#include "common/ascii.h"

namespace portier {
namespace {

// %XX decoding (userinfo and query values may hold reserved characters).
bool unescape(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size() || hex_value(in[i + 1]) < 0 || hex_value(in[i + 2]) < 0) return false;
    out += static_cast<char>(hex_value(in[i + 1]) * 16 + hex_value(in[i + 2]));
    i += 2;
  }
  return true;
}

bool parse_int(std::string_view s, int lo, int hi, int& out) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi) return false;
  out = v;
  return true;
}

}  // namespace

bool is_redis_url(std::string_view s) {
  return s.starts_with("redis://") || s.starts_with("rediss://");
}

std::string RedisEndpoint::redacted() const {
  std::string out = tls ? "rediss://" : "redis://";
  if (!username.empty() || !password.empty()) out += username + (password.empty() ? "@" : ":***@");
  out += host.find(':') != std::string::npos ? "[" + host + "]" : host;
  out += ":" + std::to_string(port) + "/" + std::to_string(db) + "?prefix=" + prefix;
  return out;
}

Result<RedisEndpoint> parse_redis_url(std::string_view url) {
  RedisEndpoint ep;
  std::string_view rest;
  if (url.starts_with("redis://")) {
    rest = url.substr(8);
  } else if (url.starts_with("rediss://")) {
    rest = url.substr(9);
    ep.tls = true;
  } else {
    return Error{"a Redis storage URL starts with redis:// or rediss://"};
  }
  std::string_view query;
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  std::string_view path;
  if (auto s = rest.find('/'); s != std::string_view::npos) {
    path = rest.substr(s + 1);
    rest = rest.substr(0, s);
  }
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    std::string_view user = userinfo, pass;
    if (auto c = userinfo.find(':'); c != std::string_view::npos) {
      user = userinfo.substr(0, c);
      pass = userinfo.substr(c + 1);
    } else {
      // "redis://secret@host" is the password alone, as redis-cli reads it.
      pass = userinfo;
      user = {};
    }
    if (!unescape(user, ep.username) || !unescape(pass, ep.password)) {
      return Error{"the Redis URL's user or password has a bad %-escape"};
    }
  }
  std::string_view port;
  if (rest.starts_with('[')) {
    auto close = rest.find(']');
    if (close == std::string_view::npos) return Error{"the Redis URL's IPv6 host lacks ']'"};
    ep.host = std::string(rest.substr(1, close - 1));
    rest = rest.substr(close + 1);
    if (rest.starts_with(':')) {
      port = rest.substr(1);
    } else if (!rest.empty()) {
      return Error{"unexpected text after the Redis URL's host"};
    }
  } else if (auto c = rest.find(':'); c != std::string_view::npos) {
    ep.host = std::string(rest.substr(0, c));
    port = rest.substr(c + 1);
  } else {
    ep.host = std::string(rest);
  }
  if (ep.host.empty()) return Error{"the Redis URL has no host"};
  if (!port.empty() && !parse_int(port, 1, 65535, ep.port)) {
    return Error{"the Redis URL's port must be 1-65535"};
  }
  if (!path.empty() && !parse_int(path, 0, 1 << 20, ep.db)) {
    return Error{"the Redis URL's path is the database number (/0, /1, ...)"};
  }
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view kv = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    auto eq = kv.find('=');
    std::string_view key = kv.substr(0, eq);
    std::string value;
    if (eq == std::string_view::npos || !unescape(kv.substr(eq + 1), value)) {
      return Error{"the Redis URL's query parameter `" + std::string(key) + "` needs a value"};
    }
    if (key == "prefix") {
      if (value.empty()) return Error{"the Redis URL's prefix must not be empty"};
      ep.prefix = value;
    } else if (key == "ca") {
      ep.ca_file = value;
    } else if (key == "serverName") {
      ep.server_name = value;
    } else {
      return Error{"unknown Redis URL parameter `" + std::string(key) +
                   "` (known: prefix, ca, serverName)"};
    }
  }
  if (!ep.tls && (!ep.ca_file.empty() || !ep.server_name.empty())) {
    return Error{"`ca` and `serverName` need rediss:// (TLS)"};
  }
  return ep;
}

}  // namespace portier
