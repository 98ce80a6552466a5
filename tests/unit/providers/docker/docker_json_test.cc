// Parsing the Engine's container list: which containers the provider inspects.
#include <gtest/gtest.h>

#include "providers/docker/docker_api.h"

namespace portier::providers::docker {
namespace {

TEST(DockerJson, ListKeepsRunningContainersAndThoseThatAllowNonRunning) {
  const std::string list = R"([
    {"Id": "run", "State": "running", "Labels": {}},
    {"Id": "pause", "State": "paused", "Labels": {}},
    {"Id": "restart", "State": "restarting"},
    {"Id": "exited", "State": "exited", "Labels": {"traefik.enable": "true"}},
    {"Id": "kept", "State": "exited", "Labels": {"traefik.docker.allownonrunning": "true"}},
    {"Id": "created", "State": "created", "Labels": {"portier.docker.allownonrunning": "true"}},
    {"Id": "other-prefix", "State": "exited", "Labels": {"foo.docker.allownonrunning": "true"}},
    {"State": "running"}
  ])";
  auto ids = parse_container_ids(list, {"portier", "traefik"});
  ASSERT_TRUE(ids);
  EXPECT_EQ(*ids, (std::vector<std::string>{"run", "pause", "restart", "kept", "created"}));
  EXPECT_FALSE(parse_container_ids("{}", {"traefik"}));
}

}  // namespace
}  // namespace portier::providers::docker
