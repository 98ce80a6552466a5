// Transport over libcurl easy handles (one per request: ACME traffic is a few requests a day).
#include "common/curl_lib.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <mutex>
#include <sstream>

#include "acme/transport.h"

namespace portier::acme {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* out = static_cast<std::string*>(user);
  // ACME bodies are small (a certificate chain is a few KiB): refuse anything absurd.
  if (out->size() + size * n > 4 * 1024 * 1024) return 0;
  out->append(data, size * n);
  return size * n;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* headers = static_cast<std::vector<std::pair<std::string, std::string>>*>(user);
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) {
    headers->clear();  // a new response (after a redirect or 100 Continue) starts over
  } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
    headers->emplace_back(std::string(trim(line.substr(0, colon))),
                          std::string(trim(line.substr(colon + 1))));
  }
  return size * n;
}

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl::global_init(CURL_GLOBAL_DEFAULT); });
}

class CurlTransport final : public Transport {
 public:
  CurlTransport(std::string ca_pem, std::chrono::milliseconds timeout,
                const std::atomic<bool>* cancel)
      : ca_pem_(std::move(ca_pem)), timeout_(timeout), cancel_(cancel) {}

  Result<HttpResponse> post(const std::string& url, const std::string& body,
                            const std::string& accept) override {
    return perform(url, "POST", &body, accept);
  }
  Result<HttpResponse> get(const std::string& url) override {
    return perform(url, "GET", nullptr, "");
  }
  Result<HttpResponse> head(const std::string& url) override {
    return perform(url, "HEAD", nullptr, "");
  }

 private:
  Result<HttpResponse> perform(const std::string& url, const char* method, const std::string* body,
                               const std::string& accept) {
    HttpResponse resp;
    CURL* h = curl::easy_init();
    if (h == nullptr) return Error{"acme: cannot create a curl handle"};
    curl_slist* hdrs = nullptr;
    hdrs = curl::slist_append(hdrs, "User-Agent: portier-acme/0.1");
    if (!accept.empty()) hdrs = curl::slist_append(hdrs, ("Accept: " + accept).c_str());
    curl::easy_setopt(h, CURLOPT_URL, url.c_str());
    curl::easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl::easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout_.count()));
    curl::easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_.count()));
    curl::easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https,http");
    if (!ca_pem_.empty()) {
      // Only the configured CAs: the process environment (SSL_CERT_FILE, CURL_CA_BUNDLE) and
      // the compiled-in CA path are not consulted.
      curl_blob blob{ca_pem_.data(), ca_pem_.size(), CURL_BLOB_NOCOPY};
      curl::easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
      curl::easy_setopt(h, CURLOPT_CAPATH, nullptr);
    }
    if (std::string_view(method) == "POST") {
      hdrs = curl::slist_append(hdrs, "Content-Type: application/jose+json");
      curl::easy_setopt(h, CURLOPT_POST, 1L);
      curl::easy_setopt(h, CURLOPT_POSTFIELDS, body->c_str());
      curl::easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(body->size()));
    } else if (std::string_view(method) == "HEAD") {
      curl::easy_setopt(h, CURLOPT_NOBODY, 1L);
    }
    curl::easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl::easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl::easy_setopt(h, CURLOPT_WRITEDATA, &resp.body);
    curl::easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl::easy_setopt(h, CURLOPT_HEADERDATA, &resp.headers);
    if (cancel_ != nullptr) {
      curl::easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
      curl::easy_setopt(h, CURLOPT_XFERINFODATA, cancel_);
      curl::easy_setopt(
          h, CURLOPT_XFERINFOFUNCTION,
          +[](void* c, curl_off_t, curl_off_t, curl_off_t, curl_off_t) -> int {
            return static_cast<const std::atomic<bool>*>(c)->load() ? 1 : 0;
          });
    }
    CURLcode rc = curl::easy_perform(h);
    curl::easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
    curl::easy_cleanup(h);
    curl::slist_free_all(hdrs);
    if (rc != CURLE_OK) {
      return Error{std::string(method) + " " + url + ": " + curl::easy_strerror(rc)};
    }
    return resp;
  }

  std::string ca_pem_;
  std::chrono::milliseconds timeout_;
  const std::atomic<bool>* cancel_;
};

}  // namespace

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return {};
}

std::vector<std::string> HttpResponse::links(std::string_view rel) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : headers) {
    if (!iequals(k, "Link")) continue;
    // <url>;rel="alternate", <url2>; rel=up  (one header may carry several entries)
    std::string_view rest = v;
    while (true) {
      auto lt = rest.find('<');
      if (lt == std::string_view::npos) break;
      auto gt = rest.find('>', lt);
      if (gt == std::string_view::npos) break;
      std::string_view target = rest.substr(lt + 1, gt - lt - 1);
      auto next = rest.find('<', gt);
      std::string_view params = rest.substr(
          gt + 1, next == std::string_view::npos ? std::string_view::npos : next - gt - 1);
      auto r = params.find("rel=");
      if (r != std::string_view::npos) {
        std::string_view value = params.substr(r + 4);
        if (!value.empty() && value.front() == '"') {
          value.remove_prefix(1);
          value = value.substr(0, value.find('"'));
        } else {
          value = value.substr(0, value.find_first_of(";, "));
        }
        if (value == rel) out.emplace_back(target);
      }
      if (next == std::string_view::npos) break;
      rest = rest.substr(next);
    }
  }
  return out;
}

std::chrono::seconds HttpResponse::retry_after(std::chrono::seconds fallback) const {
  std::string v = header("Retry-After");
  if (v.empty()) return fallback;
  if (std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (v.size() > 9) return fallback;
    return std::chrono::seconds(std::stol(v));
  }
  std::tm tm{};
  std::istringstream in(v);
  in >> std::get_time(&tm, "%a, %d %b %Y %H:%M:%S");
  if (in.fail()) return fallback;
  std::int64_t delta = static_cast<std::int64_t>(timegm(&tm)) - std::time(nullptr);
  return std::chrono::seconds(delta > 0 ? delta : 0);
}

Result<std::unique_ptr<Transport>> make_curl_transport(const std::vector<std::string>& ca_files,
                                                       std::chrono::milliseconds timeout,
                                                       const std::atomic<bool>* cancel) {
  global_init();
  std::string pem;
  for (const auto& f : ca_files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) return Error{"acme: cannot read the CA certificate file " + f};
    std::stringstream ss;
    ss << in.rdbuf();
    pem += ss.str();
    pem += '\n';
  }
  return std::unique_ptr<Transport>(new CurlTransport(std::move(pem), timeout, cancel));
}

}  // namespace portier::acme
