#include "acme/dns_http.h"

#include "common/curl_lib.h"

namespace portier::acme {
namespace {

// `url` without its user:password@ part, for messages (logs never show secrets).
std::string shown(const std::string& url) {
  auto scheme = url.find("://");
  auto at = url.find('@');
  auto slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  if (scheme == std::string::npos || at == std::string::npos || at > slash) return url;
  return url.substr(0, scheme + 3) + url.substr(at + 1);
}

size_t append(char* data, size_t size, size_t n, void* user) {
  auto* out = static_cast<std::string*>(user);
  if (out->size() < (1u << 20)) out->append(data, size * n);  // bounded: 1 MiB
  return size * n;
}

}  // namespace

Result<DnsHttpResponse> dns_http(const std::string& method, const std::string& url,
                                 const std::vector<std::string>& headers, const std::string& body,
                                 const std::string& basic, std::chrono::milliseconds timeout) {
  CURL* h = curl::easy_init();
  if (h == nullptr) return Error{"cannot create an HTTP client"};
  DnsHttpResponse r;
  curl_slist* list = nullptr;
  for (const auto& line : headers) list = curl::slist_append(list, line.c_str());
  curl::easy_setopt(h, CURLOPT_URL, url.c_str());
  curl::easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "POST" || !body.empty()) {
    curl::easy_setopt(h, CURLOPT_POSTFIELDS, body.c_str());
    curl::easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  if (method == "GET") curl::easy_setopt(h, CURLOPT_HTTPGET, 1L);
  curl::easy_setopt(h, CURLOPT_HTTPHEADER, list);
  if (!basic.empty()) {
    curl::easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl::easy_setopt(h, CURLOPT_USERPWD, basic.c_str());
  }
  curl::easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl::easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl::easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl::easy_setopt(h, CURLOPT_WRITEFUNCTION, append);
  curl::easy_setopt(h, CURLOPT_WRITEDATA, &r.body);
  CURLcode rc = curl::easy_perform(h);
  if (rc == CURLE_OK) curl::easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
  curl::slist_free_all(list);
  curl::easy_cleanup(h);
  if (rc != CURLE_OK) return Error{method + " " + shown(url) + ": " + curl::easy_strerror(rc)};
  return r;
}

}  // namespace portier::acme
