// HTTP Digest authentication (RFC 7616, MD5, qop=auth), as Traefik's digestAuth middleware does
// it through go-http-auth's DigestAuth, with stateless nonces so that every worker can check a
// nonce another worker issued.
//
// A nonce is base64url(issued-at (8 bytes, ms on the steady clock) || 8 random bytes ||
// HMAC-SHA256(key, those 16 bytes || realm)[0..16)). The key is per process and shared by the
// workers (read-only after construction); a restart invalidates outstanding nonces, and clients
// then get a fresh challenge. A nonce older than `nonce_ttl` answers Stale, so the client retries
// with the same credentials and a new nonce (stale=true, RFC 7616 3.3) without prompting.
//
// Not tracked, unlike go-http-auth (which keeps a per-process table of nonces and their last
// nonce count): replays of a request within the nonce lifetime. Tracking nc needs shared state,
// which shared-nothing workers do not have; the lifetime bounds the replay window instead.
//
// Threading: a DigestAuth is immutable after construction; check() and challenge() are const
// and safe from any thread. No I/O, nothing blocks (MD5 and HMAC over a few bytes).
#pragma once

#include <array>
#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "proxy/middlewares/htpasswd.h"

namespace portier::proxy::mw {

// The fields of an `Authorization: Digest ...` value that the check uses. Unknown parameters
// are ignored; a repeated parameter keeps its last value (as go-http-auth's map does).
struct DigestCredentials {
  std::string username, realm, nonce, uri, response, algorithm, cnonce, opaque, qop, nc;
};

// Parses a header value "Digest k=v, k2=\"quoted, with \\\" escapes\"". The scheme is matched
// case-insensitively. nullopt: another scheme, or malformed (unterminated quote, missing '=',
// junk between parameters).
std::optional<DigestCredentials> parse_digest_authorization(std::string_view value);

// Lower-case hex MD5.
std::string md5_hex(std::string_view data);
// H(HA1:nonce:nc:cnonce:qop:H(method:uri)), lower-case hex (RFC 7616 3.4.1, qop=auth).
std::string digest_response(std::string_view ha1, std::string_view nonce, std::string_view nc,
                            std::string_view cnonce, std::string_view qop, std::string_view method,
                            std::string_view uri);

class DigestAuth {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::minutes kDefaultNonceTtl{5};

  // `key`: at least 16 bytes, the same for every worker of the process (RAND_bytes at startup).
  // `realm`: Traefik's default is "traefik". Throws std::invalid_argument on a short key.
  DigestAuth(std::string realm, std::span<const unsigned char> key,
             Clock::duration nonce_ttl = kDefaultNonceTtl);

  // The WWW-Authenticate value: Digest realm="..", nonce="..", opaque="..", [stale=true, ]
  // algorithm=MD5, qop="auth". Draws 8 random bytes for the nonce.
  std::string challenge(Clock::time_point now, bool stale = false) const;
  // A nonce with the given random part (tests; challenge() uses RAND_bytes).
  std::string make_nonce(Clock::time_point now, std::span<const unsigned char, 8> random) const;

  enum class Outcome {
    Ok,
    Missing,  // no Digest credentials (or unparsable): answer 401 with a challenge
    Invalid,  // wrong password, unknown user, forged nonce, other uri, opaque, qop, algorithm
    Stale,    // the response was right but the nonce expired: 401 with stale=true
  };
  struct Result {
    Outcome outcome = Outcome::Missing;
    std::string username;             // Ok, Stale, Invalid: as the client sent it (for logs)
    std::string authentication_info;  // Ok: the Authentication-Info value (with rspauth)
  };
  // `authorization`: the header value (empty when absent). `request_target`: the request-target
  // exactly as received; the credentials' uri must equal it (stricter than go-http-auth, which
  // also accepts a uri whose path is a prefix of the request path). `users`: load_users(...,
  // Digest), keyed "user:realm"; only this object's realm is looked up, as in Traefik.
  Result check(std::string_view authorization, std::string_view method,
               std::string_view request_target, const UserMap& users, Clock::time_point now) const;

  const std::string& opaque() const { return opaque_; }

 private:
  enum class NonceState { Bad, Fresh, Expired };
  NonceState nonce_state(std::string_view nonce, Clock::time_point now) const;
  std::array<unsigned char, 16> nonce_mac(std::span<const unsigned char> body) const;

  std::string realm_;
  std::string key_;
  Clock::duration ttl_;
  std::string opaque_;  // derived from the key: equal on every worker
};

}  // namespace portier::proxy::mw
