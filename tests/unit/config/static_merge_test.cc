// How the three static sources merge: key by key, flags over environment over file, and a bare
// enable (`--providers.docker`, `PORTIER_API=true`, `ping: {}`) never resets a section.
#include <gtest/gtest.h>

#include <functional>

#include "config/static_sources.h"

namespace portier::config {
namespace {

struct Case {
  std::string name;
  std::string file;  // YAML, "" for none
  std::vector<std::string> env;
  std::vector<std::string> flags;
  std::function<void(const StaticConfig&)> check;
};

Result<StaticConfig> decode(const Case& c) {
  auto flags = flags_to_keys(c.flags);
  if (!flags) return flags.error();
  return decode_static_sources(c.file.empty() ? "" : "s.yml", c.file, env_to_keys(c.env), *flags);
}

const std::string kEp = "--entryPoints.web.address=:80";
const std::string kDockerFile =
    "entryPoints: {web: {address: \":80\"}}\n"
    "providers:\n  docker:\n    exposedByDefault: false\n    network: front\n";

void docker_kept(const StaticConfig& c) {
  ASSERT_TRUE(c.providers.docker);
  EXPECT_FALSE(c.providers.docker->exposed_by_default);
  EXPECT_EQ(c.providers.docker->network, "front");
}

TEST(StaticMerge, EnableNeverResetsASection) {
  const std::vector<Case> cases = {
      // The security fault: a flag enabling Docker dropped exposedByDefault: false.
      {"flag=true over file", kDockerFile, {}, {"--providers.docker=true"}, docker_kept},
      {"bare flag over file", kDockerFile, {}, {"--providers.docker"}, docker_kept},
      {"mixed-case flag over file", kDockerFile, {}, {"--PROVIDERS.Docker"}, docker_kept},
      {"env over file", kDockerFile, {"PORTIER_PROVIDERS_DOCKER=true"}, {}, docker_kept},
      {"TRAEFIK_ env over file", kDockerFile, {"TRAEFIK_PROVIDERS_DOCKER=true"}, {}, docker_kept},
      {"env and flag over file",
       kDockerFile,
       {"PORTIER_PROVIDERS_DOCKER=true"},
       {"--providers.docker"},
       docker_kept},
      {"sub-key from a flag merges with the file",
       kDockerFile,
       {},
       {"--providers.docker.endpoint=tcp://10.0.0.1:2375"},
       [](const StaticConfig& c) {
         docker_kept(c);
         EXPECT_EQ(c.providers.docker->endpoint, "tcp://10.0.0.1:2375");
       }},
      {"file enables, flag sets a key",
       "entryPoints: {web: {address: \":80\"}}\nproviders: {docker: true}\n",
       {},
       {"--providers.docker.exposedByDefault=false"},
       [](const StaticConfig& c) {
         ASSERT_TRUE(c.providers.docker);
         EXPECT_FALSE(c.providers.docker->exposed_by_default);
       }},
      {"flag false disables what the file enables",
       kDockerFile,
       {},
       {"--providers.docker=false"},
       [](const StaticConfig& c) { EXPECT_FALSE(c.providers.docker); }},
      {"false disables whatever the order",
       "",
       {},
       {"--providers.docker=false", "--providers.docker.network=x", kEp},
       [](const StaticConfig& c) { EXPECT_FALSE(c.providers.docker); }},
      {"a higher source re-enables",
       kDockerFile,
       {"PORTIER_PROVIDERS_DOCKER=false"},
       {"--providers.docker"},
       [](const StaticConfig& c) {
         ASSERT_TRUE(c.providers.docker);
         EXPECT_TRUE(c.providers.docker->exposed_by_default);  // the file's keys went with false
       }},
      {"PORTIER_ wins over TRAEFIK_",
       "",
       {"PORTIER_LOG_LEVEL=debug", "TRAEFIK_LOG_LEVEL=error",
        "TRAEFIK_ENTRYPOINTS_WEB_ADDRESS=:81"},
       {},
       [](const StaticConfig& c) {
         EXPECT_EQ(c.log.level, "debug");
         EXPECT_EQ(c.entry_points.at("web").address, ":81");
       }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto cfg = decode(c);
    ASSERT_TRUE(cfg) << cfg.error().message;
    c.check(*cfg);
  }
}

// Each pair of flags in both orders: a bare section flag and a key inside it.
TEST(StaticMerge, BareEnableFlagsInEveryOrder) {
  struct Pair {
    std::string bare;
    std::string key;
    std::function<void(const StaticConfig&)> check;
  };
  const std::vector<Pair> pairs = {
      {"--providers.docker", "--providers.docker.endpoint=tcp://h:2375",
       [](const StaticConfig& c) {
         ASSERT_TRUE(c.providers.docker);
         EXPECT_EQ(c.providers.docker->endpoint, "tcp://h:2375");
       }},
      {"--providers.docker=true", "--providers.docker.exposedByDefault=false",
       [](const StaticConfig& c) {
         ASSERT_TRUE(c.providers.docker);
         EXPECT_FALSE(c.providers.docker->exposed_by_default);
       }},
      {"--api", "--api.insecure",
       [](const StaticConfig& c) {
         ASSERT_TRUE(c.api);
         EXPECT_TRUE(c.api->insecure);
       }},
      {"--api=true", "--api.dashboard=false",
       [](const StaticConfig& c) {
         ASSERT_TRUE(c.api);
         EXPECT_FALSE(c.api->dashboard);
       }},
      {"--log", "--log.level=debug",
       [](const StaticConfig& c) { EXPECT_EQ(c.log.level, "debug"); }},
      {"--accesslog", "--accessLog.format=json",
       [](const StaticConfig& c) { EXPECT_TRUE(c.access_log); }},
      {"--ping", "--ping.entryPoint=web", [](const StaticConfig& c) { EXPECT_TRUE(c.ping); }},
      {"--metrics.prometheus", "--metrics.prometheus.addRoutersLabels",
       [](const StaticConfig& c) { EXPECT_TRUE(c.metrics); }},
  };
  for (const auto& p : pairs) {
    for (bool bare_last : {false, true}) {
      for (bool alone : {false, true}) {
        std::vector<std::string> flags = {kEp};
        if (alone) {
          flags.push_back(p.bare);
        } else if (bare_last) {
          flags.insert(flags.end(), {p.key, p.bare});
        } else {
          flags.insert(flags.end(), {p.bare, p.key});
        }
        SCOPED_TRACE(p.bare + (alone ? " alone" : bare_last ? " last" : " first"));
        auto cfg = decode({"", "", {}, flags, {}});
        ASSERT_TRUE(cfg) << cfg.error().message;
        if (!alone) p.check(*cfg);
      }
    }
  }
}

TEST(StaticMerge, EnableFormsInFilesAndEnvironment) {
  const std::vector<Case> cases = {
      {"api: {}", "api: {}\n", {}, {}, [](const StaticConfig& c) { EXPECT_TRUE(c.api); }},
      {"api: true", "api: true\n", {}, {}, [](const StaticConfig& c) { EXPECT_TRUE(c.api); }},
      {"api: false", "api: false\n", {}, {}, [](const StaticConfig& c) { EXPECT_FALSE(c.api); }},
      {"api: (empty)", "api:\n", {}, {}, [](const StaticConfig& c) { EXPECT_TRUE(c.api); }},
      {"providers.docker: true",
       "providers: {docker: true}\n",
       {},
       {},
       [](const StaticConfig& c) { EXPECT_TRUE(c.providers.docker); }},
      {"ping: {}", "ping: {}\n", {}, {}, [](const StaticConfig& c) { EXPECT_TRUE(c.ping); }},
      {"PORTIER_API=true",
       "",
       {"PORTIER_API=true"},
       {},
       [](const StaticConfig& c) { EXPECT_TRUE(c.api); }},
      {"PORTIER_API_INSECURE then PORTIER_API",
       "",
       {"PORTIER_API_INSECURE=true", "PORTIER_API=true"},
       {},
       [](const StaticConfig& c) {
         ASSERT_TRUE(c.api);
         EXPECT_TRUE(c.api->insecure);
       }},
      {"TRAEFIK_PROVIDERS_DOCKER",
       "",
       {"TRAEFIK_PROVIDERS_DOCKER=true"},
       {},
       [](const StaticConfig& c) { EXPECT_TRUE(c.providers.docker); }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto cfg = decode(c);
    ASSERT_TRUE(cfg) << cfg.error().message;
    c.check(*cfg);
  }
}

}  // namespace
}  // namespace portier::config
