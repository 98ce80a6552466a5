// Users and password hashes for the basicAuth and digestAuth middlewares, as Traefik reads them
// (pkg/middlewares/auth: `users` entries and `usersFile` contents), and password verification.
//
// Pure functions: no I/O (the caller reads the users file), no logging, no shared state besides
// a per-thread libxcrypt scratch area. Safe to call from any thread.
//
// verify_password() is slow on purpose for bcrypt (tens of ms at cost 10) and SHA-crypt: call it
// behind CredentialCache, never for every request on an event loop without one.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"

namespace portier::proxy::mw {

enum class UsersFormat {
  Basic,   // "user:hash" (htpasswd)
  Digest,  // "user:realm:HA1" (htdigest), HA1 = hex MD5("user:realm:password")
};

// Keyed like Traefik's map: "user" for Basic, "user:realm" for Digest; the value is the hash
// (Basic) or the hex HA1 (Digest).
using UserMap = std::unordered_map<std::string, std::string>;

struct UserEntry {
  std::string key;   // "user" or "user:realm"
  std::string hash;  // the secret
};

// One entry. As in Traefik, it must split on ':' into exactly 2 (Basic) or 3 (Digest) fields
// (so a hash cannot contain ':'); empty fields are accepted, as there. Errors never repeat the
// entry (it holds a secret).
Result<UserEntry> parse_user(std::string_view entry, UsersFormat format);

// Users file contents: each line trimmed of spaces, tabs and CR; blank lines and lines starting
// with '#' skipped. Errors name the 1-based line: "line 3: expected user:hash".
Result<std::vector<UserEntry>> parse_users_file(std::string_view contents, UsersFormat format);

// The middleware's table, as Traefik builds it: the file's entries first, then `users`; a later
// entry for the same key replaces an earlier one. Basic with no user at all is an error
// ("no users found"), as in Traefik; Digest may be empty.
Result<UserMap> load_users(std::string_view file_contents, const std::vector<std::string>& users,
                           UsersFormat format);

// True when `password` matches `hash`. Accepted hash forms:
//   $2a$ $2b$ $2y$ $2x$  bcrypt (libxcrypt; $2x$ is its compatibility mode for the old 8-bit bug)
//   $apr1$               Apache MD5 (our implementation; libxcrypt lacks it)
//   $1$                  MD5-crypt;  $5$ / $6$  SHA-256 / SHA-512 crypt (rounds= accepted)
//   {SHA}                base64(SHA-1(password)), Apache's htpasswd -s
//   13 chars [./0-9A-Za-z]  traditional DES crypt (only the first 8 password bytes count)
// Anything else, plain text included, never matches (go-http-auth's CheckSecret compares plain
// text as if it were MD5-crypt, so it never matches there either). A password with a NUL byte
// never matches a crypt(3) hash (crypt reads C strings). Malformed or truncated hashes: false.
// The final comparison is constant time (CRYPTO_memcmp).
bool verify_password(std::string_view hash, std::string_view password);

// Apache's $apr1$ hash of `password` with `salt` (at most 8 characters are used). Exposed for
// tests and for tools that write users files.
std::string apr1_hash(std::string_view password, std::string_view salt);

}  // namespace portier::proxy::mw
