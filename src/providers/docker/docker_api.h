// The Docker Engine API as the provider needs it. An interface because it is the seam where
// tests could put a fake; the real one (docker_api_curl) speaks HTTP over the Engine's unix
// socket (or tcp://) with libcurl. Calls block; the provider runs them on its own thread.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "providers/docker/container.h"
#include "providers/docker/engine_http.h"

namespace portier::providers::docker {

struct Event {
  std::string type;    // "container", "network", "service", "node"
  std::string action;  // "start", "die", "health_status: healthy", "connect", "update", ...
  std::string id;      // the container's id (for network events, the container concerned)
  // Container events of Swarm tasks: the task's service (its com.docker.swarm.service.id label).
  std::string swarm_service;
};

class DockerApi {
 public:
  virtual ~DockerApi() = default;
  // Negotiates the API version (GET /version); later calls use it. Returns it ("1.41").
  virtual Result<std::string> connect() = 0;
  // Ids of the containers routing may need: running ones (paused and restarting included), and
  // others whose labels under one of `label_prefixes` allow routing while not running
  // (`<prefix>.docker.allownonrunning=true`). Lists all containers, as Traefik does.
  virtual Result<std::vector<std::string>> list(const std::vector<std::string>& label_prefixes) = 0;
  // The container, or nullopt when it no longer exists.
  virtual Result<std::optional<Container>> inspect(const std::string& id) = 0;
  // Streams container and network events since `since` (unix seconds: nothing between a
  // listing and the subscription is missed) to on_event until it returns false, stop() is
  // called, or the connection fails (an error).
  virtual Result<bool> events(long long since,
                              const std::function<bool(const Event&)>& on_event) = 0;
  // Makes a blocking events() return soon; thread-safe.
  virtual void stop() = 0;
};

// endpoint: "unix:///var/run/docker.sock" or "tcp://host:port"; with `tls`, tcp:// speaks
// HTTPS with those client certificates (the Engine's --tlsverify). timeout: each call's bound
// (providers.docker.httpClientTimeout; 0: 10 s), the event stream excepted.
Result<std::unique_ptr<DockerApi>> make_curl_api(
    const std::string& endpoint, const std::optional<TlsFiles>& tls = {},
    std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

// Pure parsing of Engine API JSON, for the client and its tests.
Result<Container> parse_inspect(const std::string& json);
Result<std::vector<std::string>> parse_container_ids(const std::string& json,
                                                     const std::vector<std::string>& label_prefixes);
std::optional<Event> parse_event(const std::string& json_line);

// EngineHttp::events of these `types`, each line parsed (lines that are not events are
// skipped): what DockerApi::events and SwarmApi::events do.
Result<bool> stream_events(EngineHttp& http, long long since,
                           const std::vector<std::string>& types,
                           const std::function<bool(const Event&)>& on_event);

}  // namespace portier::providers::docker
