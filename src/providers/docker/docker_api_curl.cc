// DockerApi over libcurl: HTTP on the Engine's unix socket (CURLOPT_UNIX_SOCKET_PATH) or TCP.
#include <curl/curl.h>

#include <atomic>
#include <nlohmann/json.hpp>

#include "providers/docker/docker_api.h"

namespace portier::providers::docker {
namespace {

size_t append_body(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

class CurlApi final : public DockerApi {
 public:
  CurlApi(std::string socket_path, std::string base, std::optional<TlsFiles> tls)
      : socket_(std::move(socket_path)), base_(std::move(base)), tls_(std::move(tls)) {}

  Result<std::string> connect() override {
    auto r = get("/version");
    if (!r) return r.error();
    auto j = nlohmann::json::parse(r->second, nullptr, false);
    if (j.is_discarded() || !j.contains("ApiVersion")) {
      return Error{"docker: /version did not answer with an ApiVersion"};
    }
    // Use the daemon's version, capped at the newest portier was written against.
    std::string v = j["ApiVersion"].get<std::string>();
    version_prefix_ = "/v" + (compare_versions(v, "1.45") > 0 ? std::string("1.45") : v);
    return Result<std::string>(boost::system::in_place_value, v);
  }

  Result<std::vector<std::string>> list(const std::vector<std::string>& label_prefixes) override {
    auto r = get(version_prefix_ + "/containers/json?all=1");
    if (!r) return r.error();
    if (r->first != 200)
      return Error{"docker: containers/json answered " + std::to_string(r->first)};
    return parse_container_ids(r->second, label_prefixes);
  }

  Result<std::optional<Container>> inspect(const std::string& id) override {
    auto r = get(version_prefix_ + "/containers/" + id + "/json");
    if (!r) return r.error();
    if (r->first == 404) return std::optional<Container>();
    if (r->first != 200) return Error{"docker: inspect answered " + std::to_string(r->first)};
    auto c = parse_inspect(r->second);
    if (!c) return c.error();
    return std::optional<Container>(std::move(*c));
  }

  Result<bool> events(long long since, const std::function<bool(const Event&)>& on_event) override {
    stop_ = false;
    struct Stream {
      const std::function<bool(const Event&)>* on_event;
      std::string pending;
      bool stopped = false;
    } stream{&on_event, {}, false};
    // filters={"type":["container","network"]}
    const std::string url = base_ + version_prefix_ + "/events?since=" + std::to_string(since) +
                            "&filters=%7B%22type%22%3A%5B%22container%22%2C%22network%22%5D%7D";
    CURL* h = handle(url);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &stream);
    curl_easy_setopt(
        h, CURLOPT_WRITEFUNCTION, +[](char* data, size_t size, size_t n, void* user) -> size_t {
          auto* s = static_cast<Stream*>(user);
          s->pending.append(data, size * n);
          std::size_t nl;
          while ((nl = s->pending.find('\n')) != std::string::npos) {
            std::string line = s->pending.substr(0, nl);
            s->pending.erase(0, nl + 1);
            if (auto e = parse_event(line); e && !(*s->on_event)(*e)) {
              s->stopped = true;
              return 0;  // aborts the transfer
            }
          }
          return size * n;
        });
    // The progress callback runs about once a second even when no event comes: it is how
    // stop() ends a quiet stream.
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &stop_);
    curl_easy_setopt(
        h, CURLOPT_XFERINFOFUNCTION,
        +[](void* stop, curl_off_t, curl_off_t, curl_off_t, curl_off_t) -> int {
          return static_cast<std::atomic<bool>*>(stop)->load() ? 1 : 0;
        });
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 0L);
    CURLcode rc = curl_easy_perform(h);
    curl_easy_cleanup(h);
    if (stream.stopped || stop_) return true;
    return Error{std::string("docker: event stream ended: ") + curl_easy_strerror(rc)};
  }

  void stop() override { stop_ = true; }

 private:
  static int compare_versions(const std::string& a, const std::string& b) {
    auto parts = [](const std::string& v) {
      int major = 0, minor = 0;
      std::sscanf(v.c_str(), "%d.%d", &major, &minor);
      return std::pair{major, minor};
    };
    auto pa = parts(a), pb = parts(b);
    return pa < pb ? -1 : pa > pb ? 1 : 0;
  }

  CURL* handle(const std::string& url) {
    CURL* h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    if (!socket_.empty()) curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, socket_.c_str());
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (tls_) {
      if (!tls_->ca.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, tls_->ca.c_str());
      if (!tls_->cert.empty()) curl_easy_setopt(h, CURLOPT_SSLCERT, tls_->cert.c_str());
      if (!tls_->key.empty()) curl_easy_setopt(h, CURLOPT_SSLKEY, tls_->key.c_str());
      if (tls_->insecure_skip_verify) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
      }
    }
    return h;
  }

  Result<std::pair<long, std::string>> get(const std::string& path) {
    std::string body;
    CURL* h = handle(base_ + path);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, append_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    if (rc != CURLE_OK) return Error{std::string("docker: ") + curl_easy_strerror(rc)};
    return std::pair{status, std::move(body)};
  }

  std::string socket_;
  std::string base_;
  std::optional<TlsFiles> tls_;
  std::string version_prefix_;
  std::atomic<bool> stop_{false};
};

}  // namespace

Result<std::unique_ptr<DockerApi>> make_curl_api(const std::string& endpoint,
                                                 const std::optional<TlsFiles>& tls) {
  static const bool initialized = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  if (!initialized) return Error{"docker: libcurl failed to initialize"};
  if (endpoint.rfind("unix://", 0) == 0) {
    if (tls) return Error{"providers.docker.tls applies to tcp:// endpoints only"};
    return std::unique_ptr<DockerApi>(
        std::make_unique<CurlApi>(endpoint.substr(7), "http://docker", std::nullopt));
  }
  if (endpoint.rfind("tcp://", 0) == 0) {
    const std::string scheme = tls ? "https://" : "http://";
    return std::unique_ptr<DockerApi>(
        std::make_unique<CurlApi>("", scheme + endpoint.substr(6), tls));
  }
  return Error{"providers.docker.endpoint `" + endpoint + "` must start with unix:// or tcp://"};
}

}  // namespace portier::providers::docker
