// The ACME client's HTTP seam: the three requests RFC 8555 needs (POST of a JWS, GET, HEAD), with
// the response headers the protocol reads. One libcurl implementation; tests use it too.
//
// Threading: a Transport is used by one thread at a time. Calls block for at most the timeout
// given to make_curl_transport, or until `cancel` becomes true.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace portier::acme {

struct HttpResponse {
  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // in order, names as received
  std::string body;

  // First header with that name (case-insensitive), or "".
  std::string header(std::string_view name) const;
  // Targets of every Link header entry with rel="<rel>" (RFC 8288), in order.
  std::vector<std::string> links(std::string_view rel) const;
  // Retry-After in seconds (delta-seconds or HTTP-date), or `fallback` when absent or invalid.
  std::chrono::seconds retry_after(std::chrono::seconds fallback) const;
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Content-Type application/jose+json. `accept` empty: no Accept header.
  virtual Result<HttpResponse> post(const std::string& url, const std::string& body,
                                    const std::string& accept) = 0;
  virtual Result<HttpResponse> get(const std::string& url) = 0;
  virtual Result<HttpResponse> head(const std::string& url) = 0;
};

// `ca_files`: PEM files to trust instead of the system store (empty: the system store).
// An error when a CA file cannot be read.
Result<std::unique_ptr<Transport>> make_curl_transport(const std::vector<std::string>& ca_files,
                                                       std::chrono::milliseconds timeout,
                                                       const std::atomic<bool>* cancel = nullptr);

}  // namespace portier::acme
