// DockerApi over the Engine's HTTP API (engine_http: libcurl, unix socket or TCP).
#include "providers/docker/docker_api.h"

namespace portier::providers::docker {
namespace {

class CurlApi final : public DockerApi {
 public:
  explicit CurlApi(std::unique_ptr<EngineHttp> http) : http_(std::move(http)) {}

  Result<std::string> connect() override { return http_->negotiate(); }

  Result<std::vector<std::string>> list(const std::vector<std::string>& label_prefixes) override {
    auto r = http_->get("/containers/json?all=1");
    if (!r) return r.error();
    if (r->status != 200) {
      return Error{"docker: containers/json answered " + std::to_string(r->status)};
    }
    return parse_container_ids(r->body, label_prefixes);
  }

  Result<std::optional<Container>> inspect(const std::string& id) override {
    auto r = http_->get("/containers/" + id + "/json");
    if (!r) return r.error();
    if (r->status == 404) return std::optional<Container>();
    if (r->status != 200) return Error{"docker: inspect answered " + std::to_string(r->status)};
    auto c = parse_inspect(r->body);
    if (!c) return c.error();
    return std::optional<Container>(std::move(*c));
  }

  Result<bool> events(long long since, const std::function<bool(const Event&)>& on_event) override {
    return stream_events(*http_, since, {"container", "network"}, on_event);
  }

  void stop() override { http_->stop(); }

 private:
  std::unique_ptr<EngineHttp> http_;
};

}  // namespace

Result<bool> stream_events(EngineHttp& http, long long since, const std::vector<std::string>& types,
                           const std::function<bool(const Event&)>& on_event) {
  return http.events(since, types, [&](const std::string& line) {
    auto e = parse_event(line);
    return !e || on_event(*e);
  });
}

Result<std::unique_ptr<DockerApi>> make_curl_api(const std::string& endpoint,
                                                 const std::optional<TlsFiles>& tls,
                                                 std::chrono::milliseconds timeout) {
  auto http = EngineHttp::make(endpoint, tls, timeout, "providers.docker");
  if (!http) return http.error();
  return std::unique_ptr<DockerApi>(std::make_unique<CurlApi>(std::move(*http)));
}

}  // namespace portier::providers::docker
