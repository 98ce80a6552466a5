// SwarmApi over the Engine's HTTP API (engine_http).
#include "common/curl_lib.h"

#include "providers/docker/swarm_api.h"

namespace portier::providers::docker {
namespace {

class SwarmCurlApi final : public SwarmApi {
 public:
  explicit SwarmCurlApi(std::unique_ptr<EngineHttp> http) : http_(std::move(http)) {}

  Result<std::string> connect() override { return http_->negotiate(); }

  Result<SwarmState> snapshot() override {
    SwarmState state;
    auto services = get("/services", parse_services);
    if (!services) return services.error();
    auto tasks = get("/tasks", parse_tasks);
    if (!tasks) return tasks.error();
    auto nodes = get("/nodes", parse_nodes);
    if (!nodes) return nodes.error();
    auto networks = get("/networks", parse_networks);
    if (!networks) return networks.error();
    for (auto& s : *services) state.services[s.id] = std::move(s);
    for (auto& t : *tasks) {
      if (auto it = state.services.find(t.service_id); it != state.services.end()) {
        it->second.tasks.push_back(std::move(t));
      }
    }
    state.nodes = std::move(*nodes);
    state.networks = std::move(*networks);
    return state;
  }

  Result<std::optional<SwarmService>> service(const std::string& id) override {
    auto r = http_->get("/services/" + escape(id));
    if (!r) return r.error();
    if (r->status == 404) return std::optional<SwarmService>();
    if (r->status != 200) {
      return Error{"swarm: /services/" + id + " answered " + std::to_string(r->status)};
    }
    auto s = parse_service(r->body);
    if (!s) return s.error();
    // filters={"service":["<id>"]}
    auto tasks = get("/tasks?filters=" + escape("{\"service\":[\"" + id + "\"]}"), parse_tasks);
    if (!tasks) return tasks.error();
    s->tasks = std::move(*tasks);
    return std::optional<SwarmService>(std::move(*s));
  }

  Result<bool> events(long long since, const std::function<bool(const Event&)>& on_event) override {
    return stream_events(*http_, since, {"service", "node", "container"}, on_event);
  }

  void stop() override { http_->stop(); }

 private:
  template <typename Parse>
  auto get(const std::string& path, Parse parse) -> decltype(parse(std::string())) {
    auto r = http_->get(path);
    if (!r) return r.error();
    if (r->status != 200) {
      // 503 from a node that is not a manager (or not in a swarm) says why in its message.
      return Error{"swarm: " + path.substr(0, path.find('?')) + " answered " +
                   std::to_string(r->status) + ": " + r->body.substr(0, 200)};
    }
    return parse(r->body);
  }

  static std::string escape(const std::string& s) {
    char* e = curl::easy_escape(nullptr, s.c_str(), static_cast<int>(s.size()));
    std::string out = e != nullptr ? e : "";
    curl::free(e);
    return out;
  }

  std::unique_ptr<EngineHttp> http_;
};

}  // namespace

Result<std::unique_ptr<SwarmApi>> make_swarm_curl_api(const std::string& endpoint,
                                                      const std::optional<TlsFiles>& tls,
                                                      std::chrono::milliseconds timeout) {
  auto http = EngineHttp::make(endpoint, tls, timeout, "providers.swarm");
  if (!http) return http.error();
  return std::unique_ptr<SwarmApi>(std::make_unique<SwarmCurlApi>(std::move(*http)));
}

}  // namespace portier::providers::docker
