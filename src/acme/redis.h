// A small Redis client (RESP2) for the shared ACME storage: one blocking connection, plain TCP or
// TLS (OpenSSL), with a deadline on every connect, write and read.
//
// Why our own and not Debian's libhiredis-dev: Debian 12 ships hiredis 0.14.1, which has no TLS
// (hiredis_ssl came with 1.0) and no read timeouts on a subscribed connection; the part of RESP
// portier uses (arrays of bulk strings out; simple strings, errors, integers, bulk strings and
// arrays in) is small, bounded below, and unit-tested.
//
// Threading: a RedisConnection is used by one thread at a time (callers lock around it).
// Failure: every error closes the connection; the next command connects again (AUTH, SELECT). A
// command that fails on a connection opened earlier is sent once more on a new one.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/redis_url.h"
#include "common/result.h"

namespace portier::acme {

struct RedisReply {
  enum class Type { Nil, Status, Error, Integer, Bulk, Array };
  Type type = Type::Nil;
  std::string str;  // Status, Error, Bulk
  long long integer = 0;
  std::vector<RedisReply> elements;  // Array
  bool is_error() const { return type == Type::Error; }
};

enum class ParseStatus { Ok, Incomplete, Invalid };
// Parses one reply from the start of `in`; on Ok, `used` is its length. Bounded: bulk strings up
// to 64 MiB, arrays up to 1M elements, nesting up to 8.
ParseStatus parse_reply(std::string_view in, RedisReply& out, std::size_t& used);
// A command as RESP: an array of bulk strings.
std::string encode_command(const std::vector<std::string>& args);

class RedisConnection {
 public:
  RedisConnection(RedisEndpoint ep, std::chrono::milliseconds timeout);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Sends one command and reads its reply (connecting first when needed). A Redis error reply
  // is returned as a reply of type Error, not as a failure.
  Result<RedisReply> command(const std::vector<std::string>& args);
  // For a subscribed connection: send without reading, and read one pushed message, waiting up
  // to `wait` (nothing on a quiet connection).
  Result<bool> send(const std::vector<std::string>& args);
  Result<std::optional<RedisReply>> read(std::chrono::milliseconds wait);
  bool connected() const;
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace portier::acme
