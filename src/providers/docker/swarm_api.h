// The Swarm part of the Docker Engine API, as the Swarm provider needs it (a manager's API: the
// others answer 503). An interface, the seam where tests could put a fake; the real one
// (swarm_api_curl) speaks HTTP to the Engine through engine_http. Calls block; the provider
// runs them on its own threads (events() on one, the others on another, at the same time).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/result.h"
#include "providers/docker/docker_api.h"
#include "providers/docker/swarm.h"

namespace portier::providers::docker {

class SwarmApi {
 public:
  virtual ~SwarmApi() = default;
  // Negotiates the API version (GET /version); later calls use it. Returns it ("1.41").
  virtual Result<std::string> connect() = 0;
  // Every service with its tasks, the nodes' addresses and the networks' names.
  virtual Result<SwarmState> snapshot() = 0;
  // One service with its tasks, or nullopt when it no longer exists.
  virtual Result<std::optional<SwarmService>> service(const std::string& id) = 0;
  // Streams service, node and container events since `since` (unix seconds) to on_event until
  // it returns false, stop() is called, or the connection fails (an error). Containers are
  // this Engine's only: a task elsewhere changes with no event here.
  virtual Result<bool> events(long long since,
                              const std::function<bool(const Event&)>& on_event) = 0;
  // Makes a blocking events() return soon; thread-safe; for shutdown.
  virtual void stop() = 0;
};

Result<std::unique_ptr<SwarmApi>> make_swarm_curl_api(const std::string& endpoint,
                                                      const std::optional<TlsFiles>& tls,
                                                      std::chrono::milliseconds timeout);

}  // namespace portier::providers::docker
