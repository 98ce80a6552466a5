// The Swarm provider's pure half on Engine JSON recorded from a real swarm
// (tests/fixtures/swarm/README.md): parsing services, tasks, nodes, networks and events, and
// turning them into configuration with the Docker provider's builder.
#include "providers/docker/swarm.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "providers/docker/docker_api.h"
#include "providers/docker/labels.h"
#include "providers/docker/swarm_builder.h"

namespace portier::providers::docker {
namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(SWARM_FIXTURES_DIR) + "/" + name);
  EXPECT_TRUE(in) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The recorded swarm as the provider assembles it: `dir` is "steady" or "updating".
SwarmState recorded(const std::string& dir) {
  SwarmState state;
  auto services = parse_services(fixture(dir + "/services.json"));
  auto tasks = parse_tasks(fixture(dir + "/tasks.json"));
  auto nodes = parse_nodes(fixture("nodes.json"));
  auto networks = parse_networks(fixture("networks.json"));
  EXPECT_TRUE(services && tasks && nodes && networks);
  for (auto& s : *services) state.services[s.id] = s;
  for (auto& t : *tasks) state.services.at(t.service_id).tasks.push_back(t);
  state.nodes = *nodes;
  state.networks = *networks;
  return state;
}

SwarmService& by_name(SwarmState& state, const std::string& name) {
  for (auto& [id, s] : state.services) {
    if (s.name == name) return s;
  }
  throw std::runtime_error("no service " + name);
}

BuilderOptions swarm_options() {
  BuilderOptions o;
  o.dialect = LabelDialect::Swarm;
  return o;
}

std::vector<std::string> urls(const BuildOutput& out, const std::string& service) {
  std::vector<std::string> v;
  for (const auto& s : out.config.http.services.at(service).load_balancer->servers) {
    v.push_back(s.url);
  }
  return v;
}

bool has_problem(const BuildOutput& out, const std::string& service, const std::string& text) {
  for (const auto& p : out.problems) {
    if (p.container == service && p.message.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST(SwarmJson, RecordedServices) {
  SwarmState state = recorded("steady");
  ASSERT_EQ(state.services.size(), 4u);
  const auto& web = by_name(state, "web");
  EXPECT_EQ(web.labels.at("traefik.http.routers.web.rule"), "Host(`web.example`)");
  EXPECT_FALSE(web.global);
  EXPECT_EQ(web.update_state, "completed");
  EXPECT_TRUE(web.virtual_ips.empty()) << "the host network has no virtual IP";
  EXPECT_TRUE(by_name(state, "glob").global);
  const auto& vip = by_name(state, "vip");
  ASSERT_EQ(vip.virtual_ips.size(), 1u);
  EXPECT_EQ(state.networks.at(vip.virtual_ips.begin()->first), "front");
  EXPECT_EQ(vip.virtual_ips.begin()->second, "10.0.1.2");
  EXPECT_EQ(vip.ports, std::set<int>{8080}) << "a published port's target port";
  EXPECT_TRUE(by_name(state, "dns").dnsrr);
  EXPECT_EQ(state.nodes.size(), 1u);
  EXPECT_EQ(state.nodes.begin()->second, "127.0.0.1");

  // Tasks: history included; host-network tasks have no address of their own.
  const auto& dns_task = by_name(state, "dns").tasks.at(0);
  EXPECT_EQ(dns_task.state, "pending");
  EXPECT_EQ(dns_task.addresses.at("front"), "10.0.1.3");
  int running = 0;
  for (const auto& t : web.tasks) {
    EXPECT_TRUE(t.host_network);
    EXPECT_TRUE(t.addresses.empty());
    running += routable(t);
  }
  EXPECT_EQ(running, 2);
  EXPECT_EQ(by_name(state, "glob").tasks.at(0).slot, 0);
}

TEST(SwarmJson, NodeAddressFallsBackToTheManagerAddress) {
  auto nodes = parse_nodes(R"([
    {"ID": "a", "Status": {"Addr": "10.0.0.7"}},
    {"ID": "b", "Status": {"Addr": "0.0.0.0"}, "ManagerStatus": {"Addr": "10.0.0.8:2377"}},
    {"ID": "c", "Status": {}, "ManagerStatus": {"Addr": "[fd00::9]:2377"}}
  ])");
  ASSERT_TRUE(nodes);
  EXPECT_EQ(*nodes, (std::map<std::string, std::string>{
                        {"a", "10.0.0.7"}, {"b", "10.0.0.8"}, {"c", "fd00::9"}}));
  EXPECT_FALSE(parse_nodes("{}"));
  EXPECT_FALSE(parse_tasks("not json"));
  EXPECT_FALSE(parse_service("[]"));
}

TEST(SwarmJson, RecordedEvents) {
  std::istringstream in(fixture("events.jsonl"));
  std::map<std::string, Event> by_kind;
  for (std::string line; std::getline(in, line);) {
    auto e = parse_event(line);
    ASSERT_TRUE(e) << line;
    by_kind[e->type + " " + e->action.substr(0, e->action.find(':'))] = *e;
  }
  ASSERT_TRUE(by_kind.count("service update"));
  EXPECT_EQ(by_kind["service update"].id.size(), 25u) << "a service ID";
  EXPECT_TRUE(by_kind["service update"].swarm_service.empty());
  ASSERT_TRUE(by_kind.count("node update"));
  ASSERT_TRUE(by_kind.count("container start"));
  EXPECT_EQ(by_kind["container start"].swarm_service.size(), 25u) << "the task's service";
  ASSERT_TRUE(by_kind.count("container health_status"));
}

TEST(SwarmJson, Converging) {
  struct Case {
    std::string name;
    std::string update_state;
    std::vector<std::pair<std::string, std::string>> tasks;  // desired, state
    bool converging;
  };
  const std::vector<Case> cases = {
      {"at rest", "completed", {{"running", "running"}, {"shutdown", "complete"}}, false},
      {"updating", "updating", {{"running", "running"}}, true},
      {"rolling back", "rollback_started", {{"running", "running"}}, true},
      {"a task starting", "", {{"running", "starting"}}, true},
      {"a start-first task ready", "", {{"ready", "ready"}}, true},
      {"a task being shut down", "", {{"shutdown", "running"}}, true},
      {"a failed task", "", {{"shutdown", "failed"}}, false},
      {"a task that failed to start", "", {{"running", "rejected"}}, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    SwarmService s;
    s.update_state = c.update_state;
    for (const auto& [desired, state] : c.tasks) {
      s.tasks.push_back(SwarmTask{.state = state, .desired_state = desired});
    }
    EXPECT_EQ(converging(s), c.converging);
  }
}

TEST(SwarmBuilder, RecordedSwarmAtRest) {
  SwarmState state = recorded("steady");
  auto out = build_swarm_configuration(state, swarm_options());
  // Two tasks of `web` on one node's host network: one server, the node's address.
  ASSERT_TRUE(out.config.http.routers.count("web"));
  EXPECT_EQ(out.config.http.routers.at("web").rule, "Host(`web.example`)");
  EXPECT_EQ(out.config.http.routers.at("web").service, "web");
  EXPECT_EQ(urls(out, "web"), std::vector<std::string>{"http://127.0.0.1:29281"});
  // The global service, from portier. labels.
  EXPECT_EQ(out.config.http.routers.at("glob").rule, "Host(`glob.example`)");
  EXPECT_EQ(urls(out, "glob"), std::vector<std::string>{"http://127.0.0.1:29282"});
  // lbswarm: the virtual IP, with no task running, and the published port's target.
  EXPECT_EQ(out.config.http.routers.at("vip").rule, "Host(`vip.example`)");
  EXPECT_EQ(urls(out, "vip"), std::vector<std::string>{"http://10.0.1.2:8080"});
  // dnsrr has no virtual IP: its tasks instead, and its only task is pending: dropped.
  EXPECT_TRUE(has_problem(out, "dns", "DNS round robin")) << out.problems.size();
  EXPECT_FALSE(out.config.http.services.count("dns"));
  EXPECT_FALSE(out.config.http.routers.count("dns"));
}

TEST(SwarmBuilder, RecordedRollingUpdate) {
  SwarmState state = recorded("updating");
  SwarmService& web = by_name(state, "web");
  EXPECT_TRUE(converging(web));
  int leaving = 0, coming = 0;
  for (const auto& t : web.tasks) {
    leaving += t.desired_state == "shutdown" && t.state == "running";
    coming += t.desired_state == "running" && t.state == "starting";
  }
  EXPECT_EQ(leaving, 1);
  EXPECT_EQ(coming, 1);
  auto out = build_swarm_configuration(state, swarm_options());
  EXPECT_EQ(urls(out, "web"), std::vector<std::string>{"http://127.0.0.1:29281"});
  // Only routable tasks become containers: the leaving and the starting one do not.
  std::vector<Problem> problems;
  int web_containers = 0;
  for (const auto& c : swarm_containers(state, swarm_options(), problems)) {
    if (c.service_name != "web") continue;
    ++web_containers;
    EXPECT_EQ(c.network_mode, "host");
    EXPECT_EQ(c.host_address, "127.0.0.1");
  }
  EXPECT_EQ(web_containers, 1) << "two routable tasks on one node share its address";
}

TEST(SwarmBuilder, TasksOnAnOverlayNetwork) {
  SwarmState state = recorded("steady");
  SwarmService& dns = by_name(state, "dns");
  dns.tasks.at(0).state = "running";  // as it would be on a node that meets the constraint
  SwarmTask second = dns.tasks.at(0);
  second.id = "second";
  second.slot = 2;
  second.addresses = {{"front", "10.0.1.4"}, {"other", "10.0.2.4"}};
  dns.tasks.push_back(second);
  auto out = build_swarm_configuration(state, swarm_options());
  // traefik.swarm.network=front picks the address; the port is the label's.
  EXPECT_EQ(urls(out, "dns"),
            (std::vector<std::string>{"http://10.0.1.3:8080", "http://10.0.1.4:8080"}));
  EXPECT_EQ(out.config.http.routers.at("dns").rule, "Host(`dns`)") << "defaultRule";

  // providers.swarm.network applies when no label says.
  dns.labels.erase("traefik.swarm.network");
  dns.tasks.at(0).addresses["other"] = "10.0.2.3";
  BuilderOptions o = swarm_options();
  o.network = "other";
  out = build_swarm_configuration(state, o);
  EXPECT_EQ(urls(out, "dns"),
            (std::vector<std::string>{"http://10.0.2.3:8080", "http://10.0.2.4:8080"}));
  o.network = "missing";
  out = build_swarm_configuration(state, o);
  EXPECT_TRUE(has_problem(out, "dns", "not on network `missing`"));
  std::string all;
  int of_dns = 0;
  for (const auto& p : out.problems) {
    all += p.container + ": " + p.message + "\n";
    of_dns += p.container == "dns";
  }
  // lbswarm on dnsrr, the older label name, and the network: each once for the service, not
  // once per task.
  EXPECT_EQ(of_dns, 3) << all;
}

TEST(SwarmBuilder, GlobalServiceOnSeveralNodes) {
  SwarmState state = recorded("steady");
  SwarmService& glob = by_name(state, "glob");
  SwarmTask other = glob.tasks.at(0);
  other.id = "on-node-b";
  other.node_id = "node-b";
  glob.tasks.push_back(other);
  state.nodes["node-b"] = "fd00::b";
  auto out = build_swarm_configuration(state, swarm_options());
  EXPECT_EQ(urls(out, "glob"),
            (std::vector<std::string>{"http://127.0.0.1:29282", "http://[fd00::b]:29282"}));
  // A node whose address is unknown: its task is left out, and said so.
  state.nodes.erase("node-b");
  out = build_swarm_configuration(state, swarm_options());
  EXPECT_EQ(urls(out, "glob"), std::vector<std::string>{"http://127.0.0.1:29282"});
  EXPECT_TRUE(has_problem(out, "glob", "whose address the Engine does not give"));
}

TEST(SwarmBuilder, OptionsAndLabels) {
  SwarmState state = recorded("steady");
  // allowEmptyServices: a service with no running task keeps its router, without servers.
  BuilderOptions keep = swarm_options();
  keep.allow_empty_services = true;
  auto out = build_swarm_configuration(state, keep);
  ASSERT_TRUE(out.config.http.services.count("dns"));
  EXPECT_TRUE(out.config.http.services.at("dns").load_balancer->servers.empty());
  EXPECT_EQ(out.config.http.routers.at("dns").service, "dns");

  // exposedByDefault false: only services labelled enable=true.
  BuilderOptions opt_in = swarm_options();
  opt_in.exposed_by_default = false;
  by_name(state, "glob").labels["portier.enable"] = "true";
  out = build_swarm_configuration(state, opt_in);
  EXPECT_EQ(out.config.http.routers.size(), 1u);
  EXPECT_TRUE(out.config.http.routers.count("glob"));

  // constraints, on the services' labels.
  BuilderOptions constrained = swarm_options();
  constrained.constraints = *parse_constraints("Label(`traefik.swarm.lbswarm`, `true`)");
  out = build_swarm_configuration(state, constrained);
  EXPECT_EQ(out.config.http.routers.size(), 1u);
  EXPECT_TRUE(out.config.http.routers.count("vip"));

  // A label typo is reported once, naming the service, with the closest key.
  by_name(state, "web").labels["traefik.http.routers.web.rulle"] = "Host(`x`)";
  out = build_swarm_configuration(state, swarm_options());
  EXPECT_TRUE(has_problem(out, "web", "did you mean")) << out.problems.size();
  EXPECT_FALSE(out.config.http.routers.at("web").provider_error.empty());
  EXPECT_NE(out.config.http.routers.at("web").provider_error.find("task web.1."), std::string::npos)
      << out.config.http.routers.at("web").provider_error;
}

TEST(SwarmLabels, ProviderKeysByDialect) {
  struct Case {
    std::string name;
    std::map<std::string, std::string> labels;
    LabelDialect dialect;
    std::string network;
    bool lb_swarm;
    std::string problem;  // substring of an error or warning, "" for none
  };
  const std::vector<Case> cases = {
      {"swarm keys",
       {{"traefik.swarm.network", "front"}, {"traefik.swarm.lbswarm", "true"}},
       LabelDialect::Swarm,
       "front",
       true,
       ""},
      {"older docker keys",
       {{"traefik.docker.network", "n"}, {"traefik.docker.lbswarm", "TRUE"}},
       LabelDialect::Swarm,
       "n",
       true,
       "older name"},
      {"swarm.* wins",
       {{"traefik.docker.network", "a"}, {"traefik.swarm.network", "b"}},
       LabelDialect::Swarm,
       "b",
       false,
       "older name"},
      {"bad flag",
       {{"portier.swarm.lbswarm", "yes"}},
       LabelDialect::Swarm,
       "",
       false,
       "must be true or false"},
      {"allownonrunning on a service",
       {{"traefik.docker.allownonrunning", "true"}},
       LabelDialect::Swarm,
       "",
       false,
       "applies to containers"},
      {"swarm keys on a container",
       {{"traefik.swarm.network", "front"}},
       LabelDialect::Docker,
       "",
       false,
       "applies to Swarm services"},
      {"lbswarm on a container",
       {{"traefik.docker.lbswarm", "true"}},
       LabelDialect::Docker,
       "",
       false,
       "applies to Swarm services"},
      {"a typo",
       {{"traefik.swarm.netwrk", "x"}},
       LabelDialect::Swarm,
       "",
       false,
       "did you mean `swarm.network...`?"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    DecodedLabels d = decode_labels(c.labels, {"portier", "traefik"}, "x", c.dialect);
    EXPECT_EQ(d.network, c.network);
    EXPECT_EQ(d.lb_swarm, c.lb_swarm);
    std::string all;
    for (const auto& e : d.errors) all += e.message + "\n";
    if (c.problem.empty()) {
      EXPECT_TRUE(d.errors.empty()) << all;
    } else {
      EXPECT_NE(all.find(c.problem), std::string::npos) << all;
    }
  }
}

}  // namespace
}  // namespace portier::providers::docker
