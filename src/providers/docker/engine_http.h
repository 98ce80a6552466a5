// HTTP to the Docker Engine API over libcurl, shared by the Docker and the Swarm provider: the
// Engine's unix socket (CURLOPT_UNIX_SOCKET_PATH) or tcp://, with TLS client certificates
// (the Engine's --tlsverify) when `tls` is given.
//
// Threading: every call makes its own curl handle, so get() and events() may run on different
// threads at once; negotiate() must come first (it sets the API version the others use).
// Calls block: get() for at most `timeout`, events() until stop() or the stream ends.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace portier::providers::docker {

struct TlsFiles {
  std::string ca, cert, key;  // paths; empty: not used
  bool insecure_skip_verify = false;
};

class EngineHttp {
 public:
  struct Reply {
    long status = 0;
    std::string body;
  };

  // endpoint: "unix:///var/run/docker.sock" or "tcp://host:port". `what` names the option in
  // errors ("providers.docker"). timeout: each get()'s bound; 0 means portier's 10 s (a call to
  // a stuck Engine must not hang the provider).
  static Result<std::unique_ptr<EngineHttp>> make(const std::string& endpoint,
                                                  const std::optional<TlsFiles>& tls,
                                                  std::chrono::milliseconds timeout,
                                                  const std::string& what);

  // GET /version; later calls use the Engine's API version, capped at the newest portier was
  // written against. Returns the Engine's version ("1.41").
  Result<std::string> negotiate();
  // GET /v<version><path> (path starts with '/', query included).
  Result<Reply> get(const std::string& path);
  // Streams events of these `types` ("container", "service", ...) since `since` (unix
  // seconds), one JSON object per call of on_line, until on_line returns false (then true),
  // stop() is called (true), or the connection fails or ends (an error).
  Result<bool> events(long long since, const std::vector<std::string>& types,
                      const std::function<bool(const std::string& line)>& on_line);
  // Makes a running and every later events() return soon; thread-safe. For shutdown.
  void stop() { stop_ = true; }

  EngineHttp(std::string socket_path, std::string base, std::optional<TlsFiles> tls,
             std::chrono::milliseconds timeout)
      : socket_(std::move(socket_path)),
        base_(std::move(base)),
        tls_(std::move(tls)),
        timeout_(timeout) {}

 private:
  void* handle(const std::string& url) const;  // a configured CURL*
  std::string prefix() const;

  std::string socket_;
  std::string base_;
  std::optional<TlsFiles> tls_;
  std::chrono::milliseconds timeout_;
  mutable std::mutex mu_;
  std::string version_prefix_;  // "/v1.41"; under mu_
  std::atomic<bool> stop_{false};
};

}  // namespace portier::providers::docker
