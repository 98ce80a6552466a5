// What the admin API shows: the configuration as applied, with each object's provider, status
// and errors. Plain data, built on the control plane after each apply and then only read.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/server_health.h"
#include "config/dynamic.h"
#include "config/provider_status.h"
#include "config/static_config.h"

namespace portier::admin {

struct ObjectError {
  std::string kind;  // "router", "service", "middleware"
  std::string name;  // qualified: "whoami@file"
  std::string message;
  bool warning = false;  // shown, but the object is still served (Traefik's "warning" status)
};

struct Runtime {
  config::Configuration config;  // merged, qualified names
  std::vector<ObjectError> errors;
  std::map<std::string, std::string> entrypoints;  // name -> bound address
  // Live health of checked servers, by service and server URL (the engine's flags: read with
  // relaxed loads, never written here). A server of a service that is not listed is UP.
  std::map<std::string, std::map<std::string, std::shared_ptr<const ServerHealth>>> health;
  // Requests in flight by server URL (all workers, all services using the URL).
  std::map<std::string, std::shared_ptr<const ServerLoad>> loads;
  // Each configured provider, with what it refused or is waiting for (as the provider reported
  // it; updated without an apply, since a refused file changes no configuration).
  std::map<std::string, config::ProviderStatus> providers;
  // Static options accepted with no effect yet ("file:line:col: `key` is not supported yet").
  std::vector<std::string> static_warnings;
};

// JSON views, in Traefik's API shapes (name, provider, status, error list).
nlohmann::json router_json(const Runtime& rt, const std::string& name);
nlohmann::json service_json(const Runtime& rt, const std::string& name);
nlohmann::json middleware_json(const Runtime& rt, const std::string& name);
nlohmann::json overview_json(const Runtime& rt);
nlohmann::json rawdata_json(const Runtime& rt);
// One provider: name, status ("enabled", "warning" when it only has warnings, "error" when it
// refused a source and serves that source's last good version or nothing) and its errors
// (file, line, message, level, since).
nlohmann::json provider_json(const Runtime& rt, const std::string& name);

// The latest Runtime, shared between the control plane (writer) and the API thread (reader).
class RuntimeStore {
 public:
  void set(std::shared_ptr<const Runtime> rt) {
    std::lock_guard lock(mu_);
    rt_ = std::move(rt);
  }
  std::shared_ptr<const Runtime> get() const {
    std::lock_guard lock(mu_);
    return rt_;
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Runtime> rt_ = std::make_shared<Runtime>();
};

}  // namespace portier::admin
