// One HTTP request for the DNS providers that speak HTTP (httpreq, cloudflare), by libcurl with
// the system's trust store. Blocking, bounded by `timeout`.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

namespace portier::acme {

struct DnsHttpResponse {
  long status = 0;
  std::string body;
};

// `method`: GET, POST, DELETE. `headers`: "Name: value" lines. `basic`: "user:password" or "".
Result<DnsHttpResponse> dns_http(const std::string& method, const std::string& url,
                                 const std::vector<std::string>& headers, const std::string& body,
                                 const std::string& basic, std::chrono::milliseconds timeout);

}  // namespace portier::acme
