// The deployment examples cannot rot: every compose file under examples/ (and the swarm stack)
// has its labels decoded by portier's own decoder and its portier service's command and
// environment decoded as static configuration, after compose's variable substitution
// (`${VAR}`, `${VAR:-default}`, `$$`); and the Dockerfile's default arguments and environment
// decode too. A renamed option or a
// typo in any of them fails here. (examples/compose-host also runs for real in the e2e test
// tests/e2e/image_test.cc.)
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "config/static_sources.h"
#include "proxy/middlewares/htpasswd.h"
#include "providers/docker/config_builder.h"
#include "providers/docker/labels.h"
#include "providers/docker/swarm_builder.h"

namespace portier::providers::docker {
namespace {

using Vars = std::map<std::string, std::string>;

// Compose's interpolation: ${NAME} and ${NAME:-default} (empty when unset and no default),
// $$ for a literal $.
std::string substitute(const std::string& in, const Vars& vars) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '$') {
      out += in[i];
    } else if (i + 1 < in.size() && in[i + 1] == '$') {
      out += '$';
      ++i;
    } else if (i + 1 < in.size() && in[i + 1] == '{') {
      const std::size_t end = in.find('}', i);
      const std::string body = in.substr(i + 2, end - i - 2);
      const std::size_t dash = body.find(":-");
      const std::string name = body.substr(0, dash);
      if (auto it = vars.find(name); it != vars.end() && !it->second.empty()) {
        out += it->second;
      } else if (dash != std::string::npos) {
        out += body.substr(dash + 2);
      }
      i = end;
    } else {
      out += in[i];
    }
  }
  return out;
}

TEST(Examples, SubstituteIsComposes) {
  const Vars vars = {{"A", "x"}, {"E", ""}};
  EXPECT_EQ(substitute("${A}-${B}-${B:-d}-${A:-d}-${E:-d}-$$2y$$", vars), "x--d-x-d-$2y$");
}

struct Decoded {
  int labelled_services = 0;
  std::vector<std::string> errors;  // label decoding and builder errors, "service: message"
  std::optional<config::StaticConfig> portier;
};

Decoded decode_example(const std::string& dir, const Vars& vars) {
  Decoded out;
  YAML::Node compose = YAML::LoadFile(std::string(EXAMPLES_DIR) + "/" + dir + "/docker-compose.yml");
  for (const auto& svc : compose["services"]) {
    const std::string name = svc.first.Scalar();
    if (name == "portier") {
      std::vector<std::string> args;
      for (const auto& a : svc.second["command"]) args.push_back(substitute(a.Scalar(), vars));
      std::vector<std::string> env;
      for (const auto& kv : svc.second["environment"]) {
        env.push_back(kv.first.Scalar() + "=" + substitute(kv.second.Scalar(), vars));
      }
      auto flags = config::flags_to_keys(args);
      if (!flags) {
        out.errors.push_back(name + ": " + flags.error().message);
      } else if (auto cfg = config::decode_static_sources("", "", config::env_to_keys(env), *flags);
                 !cfg) {
        out.errors.push_back(name + ": " + cfg.error().message);
      } else {
        out.portier = *cfg;
      }
    }
    const YAML::Node labels = svc.second["labels"];
    if (!labels) continue;
    ++out.labelled_services;
    std::map<std::string, std::string> map;
    for (const auto& kv : labels) map[kv.first.Scalar()] = substitute(kv.second.Scalar(), vars);
    auto decoded = decode_labels(map, {"portier", "traefik"}, name);
    for (const auto& e : decoded.errors) {
      if (!e.warning) out.errors.push_back(name + ": " + e.kind + " " + e.name + ": " + e.message);
    }
    if (decoded.config.http.routers.empty()) out.errors.push_back(name + ": no router");
    Container c;
    c.name = name;
    c.labels = map;
    c.network_mode = "bridge";
    c.networks = {{"default", "172.20.0.2"}};
    auto built = build_configuration({c}, BuilderOptions{});
    for (const auto& p : built.problems) {
      if (p.level == Problem::Level::Error) out.errors.push_back(name + ": " + p.object + ": " + p.message);
    }
  }
  return out;
}

// What a user sets before `docker-compose up` (README).
const Vars kUserVars = {{"DOCKER_GID", "998"},
                        {"DASHBOARD_USERS", "admin:$apr1$Xy7pQ2aB$WvPTp4t97m31FCKFaB5bp."}};

struct ExampleCase {
  std::string dir;
  int labelled_services;
  std::string docker_endpoint;
};

class ExampleFiles : public ::testing::TestWithParam<ExampleCase> {};

TEST_P(ExampleFiles, LabelsAndFlagsDecode) {
  const ExampleCase& tc = GetParam();
  Decoded d = decode_example(tc.dir, kUserVars);
  for (const auto& e : d.errors) ADD_FAILURE() << e;
  EXPECT_EQ(d.labelled_services, tc.labelled_services);
  ASSERT_TRUE(d.portier.has_value());
  ASSERT_TRUE(d.portier->providers.docker.has_value());
  EXPECT_EQ(d.portier->providers.docker->endpoint, tc.docker_endpoint);
  EXPECT_FALSE(d.portier->providers.docker->exposed_by_default);
  EXPECT_TRUE(d.portier->api.has_value());
  EXPECT_EQ(d.portier->entry_points.at("web").address.substr(0, 1), ":");
}

INSTANTIATE_TEST_SUITE_P(
    Compose, ExampleFiles,
    ::testing::Values(ExampleCase{"compose", 3, "unix:///var/run/docker.sock"},
                      ExampleCase{"compose-host", 3, "unix:///var/run/docker.sock"},
                      ExampleCase{"compose-socket-proxy", 2, "tcp://socket-proxy:2375"}),
    [](const auto& info) {
      std::string n = info.param.dir;
      for (char& ch : n) ch = ch == '-' ? '_' : ch;
      return n;
    });

// Forgetting DASHBOARD_USERS must not open the dashboard: compose substitutes an empty string,
// the label decodes, and building the basicAuth middleware fails ("no users found"), which
// disables it and the dashboard's router (as the running portier logs).
TEST(Examples, DashboardWithoutUsersIsRefused) {
  for (const char* dir : {"compose", "compose-host", "compose-socket-proxy"}) {
    SCOPED_TRACE(dir);
    YAML::Node compose =
        YAML::LoadFile(std::string(EXAMPLES_DIR) + "/" + dir + "/docker-compose.yml");
    for (const Vars& vars : {Vars{}, kUserVars}) {
      std::map<std::string, std::string> map;
      for (const auto& kv : compose["services"]["portier"]["labels"]) {
        map[kv.first.Scalar()] = substitute(kv.second.Scalar(), vars);
      }
      auto decoded = decode_labels(map, {"portier", "traefik"}, "portier");
      const auto& mws = decoded.config.http.middlewares;
      auto it = mws.find("dashboard-auth");
      ASSERT_NE(it, mws.end());
      ASSERT_TRUE(it->second.basic_auth.has_value());
      auto users = proxy::mw::load_users("", it->second.basic_auth->users, proxy::mw::UsersFormat::Basic);
      if (vars.empty()) {
        ASSERT_FALSE(users);
        EXPECT_EQ(users.error().message, "no users found");
      } else {
        EXPECT_TRUE(users) << users.error().message;
      }
      EXPECT_EQ(decoded.config.http.routers.at("dashboard").middlewares,
                std::vector<std::string>{"dashboard-auth"});
    }
  }
}

// The host-network variant's variables move its addresses (the e2e test relies on them).
TEST(Examples, HostVariantFollowsItsVariables) {
  Vars vars = kUserVars;
  vars["WEB_ADDRESS"] = "127.0.0.1:18080";
  vars["PING_ADDRESS"] = "127.0.0.1:18082";
  vars["ACME_CA_SERVER"] = "https://127.0.0.1:14000/dir";
  Decoded d = decode_example("compose-host", vars);
  for (const auto& e : d.errors) ADD_FAILURE() << e;
  ASSERT_TRUE(d.portier.has_value());
  EXPECT_EQ(d.portier->entry_points.at("web").address, "127.0.0.1:18080");
  EXPECT_EQ(d.portier->entry_points.at("traefik").address, "127.0.0.1:18082");
  EXPECT_EQ(d.portier->certificates_resolvers.at("le").ca_server, "https://127.0.0.1:14000/dir");
}

// examples/swarm/stack.yml: portier's command decodes as static configuration (the Swarm
// provider, Redis storage, PROXY protocol), and the whoami service's deploy labels, read by the
// Swarm provider's builder as one of its tasks on the stack's network, give its router.
TEST(Examples, SwarmStackDecodes) {
  YAML::Node stack = YAML::LoadFile(std::string(EXAMPLES_DIR) + "/swarm/stack.yml");
  std::vector<std::string> args;
  for (const auto& a : stack["services"]["portier"]["command"]) {
    args.push_back(substitute(a.Scalar(), kUserVars));
  }
  auto flags = config::flags_to_keys(args);
  ASSERT_TRUE(flags) << flags.error().message;
  auto cfg = config::decode_static_sources("", "", {}, *flags);
  ASSERT_TRUE(cfg) << cfg.error().message;
  ASSERT_TRUE(cfg->providers.swarm.has_value());
  EXPECT_FALSE(cfg->providers.docker.has_value());
  EXPECT_EQ(cfg->certificates_resolvers.at("le").storage.rfind("redis://redis:6379/0", 0), 0u);
  ASSERT_TRUE(cfg->entry_points.at("websecure").proxy_protocol.has_value());
  EXPECT_EQ(stack["services"]["portier"]["deploy"]["mode"].Scalar(), "global");

  SwarmService whoami;
  whoami.id = "w";
  whoami.name = "demo_whoami";
  for (const auto& kv : stack["services"]["whoami"]["deploy"]["labels"]) {
    whoami.labels[kv.first.Scalar()] = kv.second.Scalar();
  }
  SwarmTask task;
  task.id = "t1";
  task.slot = 1;
  task.state = task.desired_state = "running";
  task.addresses = {{"demo_front", "10.0.1.5"}, {"ingress", "10.0.0.5"}};
  whoami.tasks.push_back(task);
  SwarmState state;
  state.services[whoami.id] = whoami;
  auto options = builder_options(*cfg->providers.swarm);
  ASSERT_TRUE(options);
  options->dialect = LabelDialect::Swarm;
  auto built = build_swarm_configuration(state, *options);
  for (const auto& p : built.problems) ADD_FAILURE() << p.container << ": " << p.message;
  ASSERT_TRUE(built.config.http.routers.count("whoami"));
  EXPECT_EQ(built.config.http.routers.at("whoami").rule, "Host(`whoami.example.com`)");
  EXPECT_EQ(built.config.http.services.at("whoami").load_balancer->servers.at(0).url,
            "http://10.0.1.5:80");
}

// The image's own defaults: its CMD and ENV decode, and ping is on for HEALTHCHECK.
TEST(Examples, DockerfileDefaultsDecode) {
  std::ifstream in(std::string(EXAMPLES_DIR) + "/../Dockerfile");
  std::string line;
  std::vector<std::string> cmd;
  std::vector<std::string> env;
  bool in_env = false;
  bool healthcheck = false;
  while (std::getline(in, line)) {
    if (line.rfind("CMD [", 0) == 0) cmd = nlohmann::json::parse(line.substr(4)).get<std::vector<std::string>>();
    if (line.find("/usr/local/bin/portier\", \"healthcheck\"]") != std::string::npos) healthcheck = true;
    if (line.rfind("ENV ", 0) == 0) in_env = true;
    if (!in_env) continue;
    std::istringstream words(line.rfind("ENV ", 0) == 0 ? line.substr(4) : line);
    std::string w;
    while (words >> w) {
      if (w != "\\") env.push_back(w);
    }
    in_env = !line.empty() && line.back() == '\\';
  }
  EXPECT_TRUE(healthcheck);
  ASSERT_FALSE(cmd.empty());
  auto flags = config::flags_to_keys(cmd);
  ASSERT_TRUE(flags) << flags.error().message;
  auto cfg = config::decode_static_sources("", "", config::env_to_keys(env), *flags);
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_TRUE(cfg->ping.has_value());
  EXPECT_EQ(cfg->entry_points.at("traefik").address, "127.0.0.1:8080");
  EXPECT_EQ(cfg->entry_points.at("web").address, ":80");
  EXPECT_EQ(cfg->entry_points.at("websecure").address, ":443");
}

}  // namespace
}  // namespace portier::providers::docker
