// Every label in examples/compose decodes with portier's own decoder, so the example cannot
// rot: a renamed option or a typo there fails this test.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "providers/docker/config_builder.h"
#include "providers/docker/labels.h"

namespace portier::providers::docker {
namespace {

TEST(Examples, ComposeLabelsDecode) {
  YAML::Node compose = YAML::LoadFile(EXAMPLES_DIR "/compose/docker-compose.yml");
  int services_with_labels = 0;
  for (const auto& svc : compose["services"]) {
    const YAML::Node labels = svc.second["labels"];
    if (!labels) continue;
    ++services_with_labels;
    std::map<std::string, std::string> map;
    for (const auto& kv : labels) map[kv.first.Scalar()] = kv.second.Scalar();
    SCOPED_TRACE(svc.first.Scalar());
    auto decoded = decode_labels(map, {"portier", "traefik"}, svc.first.Scalar());
    for (const auto& e : decoded.errors)
      ADD_FAILURE() << e.kind << " " << e.name << ": " << e.message;
    EXPECT_FALSE(decoded.config.http.routers.empty());
    Container c;
    c.name = svc.first.Scalar();
    c.labels = map;
    c.network_mode = "bridge";
    c.networks = {{"default", "172.20.0.2"}};
    auto out = build_configuration({c}, BuilderOptions{});
    for (const auto& p : out.problems) {
      if (p.level == Problem::Level::Error) ADD_FAILURE() << p.object << ": " << p.message;
    }
  }
  EXPECT_EQ(services_with_labels, 2);
}

}  // namespace
}  // namespace portier::providers::docker
