// The apiKey middleware's key table: entries "name:hash" from `keys` and a keys file, where the
// hash is `sha256:<64 hex digits>` (the SHA-256 of the key; `echo -n KEY | sha256sum`) or any
// htpasswd hash verify_password() accepts (bcrypt...: slow, checked off the event loop).
//
// Pure data once loaded: safe to read from any thread. Errors name the entry's position, never
// its text (it holds a secret hash).
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace portier::proxy::mw {

struct ApiKeyTable {
  struct Fast {
    std::string name;
    std::array<unsigned char, 32> sha256;
  };
  struct Slow {
    std::string name;
    std::string hash;
  };
  std::vector<Fast> fast;
  std::vector<Slow> slow;

  // File lines (trimmed; blank and '#' lines skipped) first, then `keys`. Names must be unique
  // and non-empty; at least one key. Errors: "apiKey.keysFile: line 3: ..." or
  // "apiKey.keys[1]: ...".
  static Result<ApiKeyTable> load(std::string_view file_contents,
                                  const std::vector<std::string>& keys);

  // The name of the sha256 key `key` matches, or null. Constant time in the key's value: every
  // entry is compared in full.
  const std::string* match_fast(std::string_view key) const;
  // The name of the htpasswd-hashed key `key` matches, or null. Slow (bcrypt): helper threads.
  const std::string* match_slow(std::string_view key) const;
};

}  // namespace portier::proxy::mw
