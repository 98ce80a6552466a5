#include "providers/docker/engine_http.h"

#include "common/curl_lib.h"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace portier::providers::docker {
namespace {

size_t append_body(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

int compare_versions(const std::string& a, const std::string& b) {
  auto parts = [](const std::string& v) {
    int major = 0, minor = 0;
    std::sscanf(v.c_str(), "%d.%d", &major, &minor);
    return std::pair{major, minor};
  };
  auto pa = parts(a), pb = parts(b);
  return pa < pb ? -1 : pa > pb ? 1 : 0;
}

// The newest Engine API version portier was written against: the Engine answers older
// clients in their version's shapes.
constexpr const char* kNewestApi = "1.45";

}  // namespace

Result<std::unique_ptr<EngineHttp>> EngineHttp::make(const std::string& endpoint,
                                                     const std::optional<TlsFiles>& tls,
                                                     std::chrono::milliseconds timeout,
                                                     const std::string& what) {
  static const bool initialized = curl::global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  if (!initialized) return Error{"docker: libcurl failed to initialize"};
  if (endpoint.rfind("unix://", 0) == 0) {
    if (tls) return Error{what + ".tls applies to tcp:// endpoints only"};
    return std::make_unique<EngineHttp>(endpoint.substr(7), "http://docker", std::nullopt, timeout);
  }
  if (endpoint.rfind("tcp://", 0) == 0) {
    const std::string scheme = tls ? "https://" : "http://";
    return std::make_unique<EngineHttp>("", scheme + endpoint.substr(6), tls, timeout);
  }
  return Error{what + ".endpoint `" + endpoint + "` must start with unix:// or tcp://"};
}

void* EngineHttp::handle(const std::string& url) const {
  CURL* h = curl::easy_init();
  curl::easy_setopt(h, CURLOPT_URL, url.c_str());
  if (!socket_.empty()) curl::easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, socket_.c_str());
  curl::easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl::easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  if (tls_) {
    if (!tls_->ca.empty()) curl::easy_setopt(h, CURLOPT_CAINFO, tls_->ca.c_str());
    if (!tls_->cert.empty()) curl::easy_setopt(h, CURLOPT_SSLCERT, tls_->cert.c_str());
    if (!tls_->key.empty()) curl::easy_setopt(h, CURLOPT_SSLKEY, tls_->key.c_str());
    if (tls_->insecure_skip_verify) {
      curl::easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
      curl::easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
  }
  return h;
}

std::string EngineHttp::prefix() const {
  std::lock_guard lock(mu_);
  return version_prefix_;
}

Result<std::string> EngineHttp::negotiate() {
  {
    std::lock_guard lock(mu_);
    version_prefix_.clear();  // /version is not versioned
  }
  auto r = get("/version");
  if (!r) return r.error();
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_discarded() || !j.contains("ApiVersion") || !j["ApiVersion"].is_string()) {
    return Error{"docker: /version did not answer with an ApiVersion"};
  }
  std::string v = j["ApiVersion"].get<std::string>();
  std::lock_guard lock(mu_);
  version_prefix_ = "/v" + (compare_versions(v, kNewestApi) > 0 ? std::string(kNewestApi) : v);
  return Result<std::string>(boost::system::in_place_value, v);
}

Result<EngineHttp::Reply> EngineHttp::get(const std::string& path) {
  Reply reply;
  CURL* h = static_cast<CURL*>(handle(base_ + prefix() + path));
  curl::easy_setopt(h, CURLOPT_WRITEFUNCTION, append_body);
  curl::easy_setopt(h, CURLOPT_WRITEDATA, &reply.body);
  const long ms = timeout_.count() > 0 ? static_cast<long>(timeout_.count()) : 10000L;
  curl::easy_setopt(h, CURLOPT_TIMEOUT_MS, ms);
  CURLcode rc = curl::easy_perform(h);
  curl::easy_getinfo(h, CURLINFO_RESPONSE_CODE, &reply.status);
  curl::easy_cleanup(h);
  if (rc != CURLE_OK) return Error{std::string("docker: ") + curl::easy_strerror(rc)};
  return reply;
}

Result<bool> EngineHttp::events(long long since, const std::vector<std::string>& types,
                                const std::function<bool(const std::string& line)>& on_line) {
  struct Stream {
    const std::function<bool(const std::string&)>* on_line;
    std::string pending;
    bool stopped = false;
  } stream{&on_line, {}, false};
  nlohmann::json filters = {{"type", types}};
  CURL* h = static_cast<CURL*>(handle(""));
  char* escaped = curl::easy_escape(h, filters.dump().c_str(), 0);
  const std::string url = base_ + prefix() + "/events?since=" + std::to_string(since) +
                          "&filters=" + (escaped != nullptr ? escaped : "");
  curl::free(escaped);
  curl::easy_setopt(h, CURLOPT_URL, url.c_str());
  curl::easy_setopt(h, CURLOPT_WRITEDATA, &stream);
  curl::easy_setopt(
      h, CURLOPT_WRITEFUNCTION, +[](char* data, size_t size, size_t n, void* user) -> size_t {
        auto* s = static_cast<Stream*>(user);
        s->pending.append(data, size * n);
        std::size_t nl;
        while ((nl = s->pending.find('\n')) != std::string::npos) {
          std::string line = s->pending.substr(0, nl);
          s->pending.erase(0, nl + 1);
          if (!(*s->on_line)(line)) {
            s->stopped = true;
            return 0;  // aborts the transfer
          }
        }
        return size * n;
      });
  // The progress callback runs about once a second even when no event comes: it is how
  // stop() ends a quiet stream.
  curl::easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl::easy_setopt(h, CURLOPT_XFERINFODATA, &stop_);
  curl::easy_setopt(
      h, CURLOPT_XFERINFOFUNCTION,
      +[](void* stop, curl_off_t, curl_off_t, curl_off_t, curl_off_t) -> int {
        return static_cast<std::atomic<bool>*>(stop)->load() ? 1 : 0;
      });
  curl::easy_setopt(h, CURLOPT_TIMEOUT, 0L);
  CURLcode rc = curl::easy_perform(h);
  curl::easy_cleanup(h);
  if (stream.stopped || stop_) return true;
  return Error{std::string("docker: event stream ended: ") + curl::easy_strerror(rc)};
}

}  // namespace portier::providers::docker
