// Test helper: every error a dynamic file produced, whether it failed the file or disabled
// single objects (their provider_error).
#pragma once

#include <string>

#include "config/decode.h"

namespace portier::config {

inline std::string decode_errors(const std::string& yaml, const std::string& file) {
  auto cfg = decode_dynamic_yaml(yaml, file);
  if (!cfg) return cfg.error().message;
  std::string out;
  auto add = [&](const auto& objects) {
    for (const auto& [name, o] : objects) {
      if (!o.provider_error.empty()) out += o.provider_error + "\n";
    }
  };
  add(cfg->http.routers);
  add(cfg->http.services);
  add(cfg->http.middlewares);
  return out;
}

}  // namespace portier::config
