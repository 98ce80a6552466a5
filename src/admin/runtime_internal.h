// What the JSON views of runtime.cc and runtime_l4.cc share: an object's provider, its errors
// and Traefik's status field. Internal to src/admin.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "admin/runtime.h"

namespace portier::admin::detail {

// "whoami@file" -> "file"; "" without a provider.
inline std::string provider_of(const std::string& name) {
  auto at = name.find('@');
  return at == std::string::npos ? "" : name.substr(at + 1);
}

struct Problems {
  std::vector<std::string> messages;
  bool disabled = false;
  bool empty() const { return messages.empty(); }
};

// The errors and warnings recorded for the object `name` of `kind` ("router", "tcp service", ...).
inline Problems errors_of(const Runtime& rt, const std::string& kind, const std::string& name) {
  Problems out;
  for (const auto& e : rt.errors) {
    if (e.kind == kind && e.name == name) {
      out.messages.push_back(e.message);
      out.disabled = out.disabled || !e.warning;
    }
  }
  return out;
}

// Traefik's status ("enabled", "warning", "disabled") and its `error` list.
inline nlohmann::json with_status(nlohmann::json j, const Problems& p) {
  j["status"] = p.empty() ? "enabled" : p.disabled ? "disabled" : "warning";
  if (!p.empty()) j["error"] = p.messages;
  return j;
}

}  // namespace portier::admin::detail
