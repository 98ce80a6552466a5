// entryPoints.<ep>.http.middlewares go in front of the routers on that entrypoint.
#include <gtest/gtest.h>

#include "config/merge.h"

namespace portier::config {
namespace {

TEST(EntryPointMiddlewares, PrependedToTheRoutersOnTheEntryPoint) {
  struct Case {
    std::string name;
    std::vector<std::string> router_eps;
    std::vector<std::string> router_mws;
    std::vector<std::string> want_mws;
    std::string want_error;
  };
  const std::map<std::string, std::vector<std::string>> eps = {
      {"web", {"auth", "ip@docker"}}, {"websecure", {}}, {"admin", {"auth", "ip@docker"}}};
  const std::vector<Case> cases = {
      {"on web", {"web"}, {"strip@file"}, {"auth@file", "ip@docker", "strip@file"}, ""},
      {"on websecure: nothing to add", {"websecure"}, {"strip@file"}, {"strip@file"}, ""},
      {"on web and admin (same list)", {"web", "admin"}, {}, {"auth@file", "ip@docker"}, ""},
      {"on every entrypoint, lists differ", {}, {"strip@file"}, {"strip@file"},
       "different http.middlewares"},
      {"on web and websecure", {"web", "websecure"}, {}, {}, "different http.middlewares"},
      {"unknown entrypoint left to the builder", {"nowhere"}, {}, {}, ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Configuration cfg;
    Router r;
    r.entry_points = c.router_eps;
    r.middlewares = c.router_mws;
    cfg.http.routers["r@file"] = r;
    add_entrypoint_middlewares(cfg, eps);
    const Router& got = cfg.http.routers.at("r@file");
    EXPECT_EQ(got.middlewares, c.want_mws);
    if (c.want_error.empty()) {
      EXPECT_EQ(got.provider_error, "");
    } else {
      EXPECT_NE(got.provider_error.find(c.want_error), std::string::npos) << got.provider_error;
    }
  }
}

}  // namespace
}  // namespace portier::config
