// A Redis endpoint as written in a storage option:
//
//   redis://[[username]:password@]host[:port][/db][?prefix=name&ca=/path/ca.pem&serverName=name]
//   rediss://...   the same over TLS (verified against `ca`, else the system's CAs)
//
// The scheme is the one redis-cli -u and most clients read. Pure parsing, no I/O.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace portier {

struct RedisEndpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::string username;  // empty: AUTH with the password only (Redis < 6 style)
  std::string password;  // empty: no AUTH
  bool tls = false;
  std::string ca_file;             // rediss: PEM file to trust; empty: the system's CAs
  std::string server_name;         // rediss: name to verify and send as SNI; empty: host
  std::string prefix = "portier";  // every key and channel starts with "<prefix>:"
  bool operator==(const RedisEndpoint&) const = default;

  // The URL without the password, for logs and the API.
  std::string redacted() const;
};

bool is_redis_url(std::string_view s);
// Errors name what is wrong (never echo the password).
Result<RedisEndpoint> parse_redis_url(std::string_view url);

}  // namespace portier
