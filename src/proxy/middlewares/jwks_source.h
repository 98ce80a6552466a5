// A JWKS document fetched from a URL in the background, for the jwt middleware.
//
// One helper thread per source (libcurl easy handle, never on a worker) fetches the document at
// start, then every `refresh`, sooner after a failure (1s doubling up to `refresh`), and when a
// request asks for it (a token's kid is unknown: keys rotated). Such asks are rate-limited: at
// most one per `min_refresh`, so tokens with random kids cannot make portier hammer the JWKS
// server. A failed fetch keeps the last good key set.
//
// Workers read the current key set with keys(): an atomic shared_ptr load, no lock held; a set
// is immutable once published. generation() counts finished fetches (good or bad), so a request
// can wait, with a deadline, for the first fetch or for the refetch it asked for.
//
// Lifetime: owned through shared_ptr by the filters (kept across reloads while the middleware's
// configuration is unchanged). The destructor only signals the thread, which ends after its
// current transfer (bounded by `timeout`) without touching the destroyed object: it never blocks
// a worker that drops the last reference.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "proxy/middlewares/jwt_verify.h"

namespace portier::proxy::jwt {

class JwksSource {
 public:
  struct Options {
    std::string url;
    std::chrono::milliseconds refresh{std::chrono::minutes(15)};
    std::chrono::milliseconds min_refresh{std::chrono::seconds(10)};
    std::chrono::milliseconds timeout{std::chrono::seconds(5)};  // one transfer
    std::string log_name;                                        // the middleware, for log lines
  };
  // Starts the helper thread (the first fetch begins at once).
  static std::shared_ptr<JwksSource> start(Options o);
  ~JwksSource();
  JwksSource(const JwksSource&) = delete;
  JwksSource& operator=(const JwksSource&) = delete;

  // The last good key set, or null before the first good fetch. Any thread.
  std::shared_ptr<const KeySet> keys() const;
  // Fetches finished so far (good or bad). Any thread.
  std::uint64_t generation() const;
  // Asks for a refetch now. True when one is pending (asked now or before); false when the
  // last ask or fetch start was less than min_refresh ago. Any thread; never blocks.
  bool request_refresh();

  struct Shared;  // state shared with the helper thread

 private:
  explicit JwksSource(std::shared_ptr<Shared> s) : shared_(std::move(s)) {}
  std::shared_ptr<Shared> shared_;
};

// One HTTP GET of `url` (libcurl, at most 1 MiB, `timeout` for the whole transfer): the body of a
// 200 answer, or an error naming what went wrong. Blocks: helper threads only.
Result<std::string> fetch_url(const std::string& url, std::chrono::milliseconds timeout);

}  // namespace portier::proxy::jwt
