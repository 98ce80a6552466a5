// Containers to configuration with Traefik's defaults: the pure half of the Docker provider.
#include "providers/docker/config_builder.h"
#include "providers/docker/labels.h"

#include <gtest/gtest.h>

namespace portier::providers::docker {
namespace {

Container container(std::string name, std::map<std::string, std::string> labels,
                    std::string ip = "172.18.0.2", std::set<int> ports = {80}) {
  Container c;
  c.id = name + "-id";
  c.name = std::move(name);
  c.labels = std::move(labels);
  c.network_mode = "bridge";
  c.networks = {{"bridge", ip}};
  c.exposed_ports = std::move(ports);
  return c;
}

std::vector<std::string> server_urls(const BuildOutput& out, const std::string& service) {
  std::vector<std::string> urls;
  for (const auto& s : out.config.http.services.at(service).load_balancer->servers) {
    urls.push_back(s.url);
  }
  return urls;
}

TEST(ConfigBuilder, DefaultsForABareContainer) {
  auto out = build_configuration({container("whoami", {})}, BuilderOptions{});
  EXPECT_TRUE(out.problems.empty());
  ASSERT_EQ(out.config.http.routers.count("whoami"), 1u);
  EXPECT_EQ(out.config.http.routers.at("whoami").rule, "Host(`whoami`)");
  EXPECT_EQ(out.config.http.routers.at("whoami").service, "whoami");
  EXPECT_EQ(server_urls(out, "whoami"), std::vector<std::string>{"http://172.18.0.2:80"});
}

TEST(ConfigBuilder, ComposeNamingAndReplicas) {
  std::map<std::string, std::string> compose = {{"com.docker.compose.project", "demo"},
                                                {"com.docker.compose.service", "web"}};
  auto out = build_configuration({container("demo-web-1", compose, "172.18.0.2"),
                                  container("demo-web-2", compose, "172.18.0.3")},
                                 BuilderOptions{});
  EXPECT_TRUE(out.problems.empty());
  EXPECT_EQ(out.config.http.routers.at("web-demo").rule, "Host(`web-demo`)");
  EXPECT_EQ(server_urls(out, "web-demo"),
            (std::vector<std::string>{"http://172.18.0.2:80", "http://172.18.0.3:80"}));
}

TEST(ConfigBuilder, Table) {
  struct Case {
    std::string name;
    std::vector<Container> containers;
    BuilderOptions options;
    std::map<std::string, std::vector<std::string>> servers;  // service -> urls
    std::vector<std::string> routers;
    std::string problem;  // substring of a problem, "" for none
  };
  BuilderOptions not_exposed;
  not_exposed.exposed_by_default = false;
  BuilderOptions on_front;
  on_front.network = "front";
  BuilderOptions template_rule;
  template_rule.default_rule =
      "Host(`{{ normalize .Name }}.example.com`) || "
      "Host(`{{ index .Labels \"alias\" }}`)";
  BuilderOptions allow_empty;
  allow_empty.allow_empty_services = true;
  Container host_net =
      container("h", {{"traefik.http.services.h.loadbalancer.server.port", "9000"}});
  host_net.network_mode = "host";
  host_net.networks.clear();
  host_net.exposed_ports.clear();
  Container paused = container("p", {});
  paused.paused = true;
  Container unhealthy = container("u", {});
  unhealthy.health = Health::Unhealthy;
  Container starting = container("st", {});
  starting.health = Health::Starting;
  Container healthy = container("hh", {});
  healthy.health = Health::Healthy;
  Container stopped = container("x", {});
  stopped.running = false;
  Container two_nets = container("n", {});
  two_nets.networks = {{"back", "10.0.1.5"}, {"front", "10.0.2.5"}};
  Container no_port = container("np", {}, "172.18.0.9", {});

  const std::vector<Case> cases = {
      {"explicit port wins",
       {container("a", {{"traefik.http.services.a.loadbalancer.server.port", "8080"}})},
       {},
       {{"a", {"http://172.18.0.2:8080"}}},
       {"a"},
       ""},
      {"lowest of several ports, said",
       {container("a", {}, "172.18.0.2", {8080, 443, 9000})},
       {},
       {{"a", {"http://172.18.0.2:443"}}},
       {"a"},
       "several exposed ports; using the lowest, 443"},
      // Mistakes keep their service as an error (shown disabled in the API), not dropped.
      {"no port is an error", {no_port}, {}, {{"np", {}}}, {"np"}, "no port"},
      {"host network: 127.0.0.1 and the label port",
       {host_net},
       {},
       {{"h", {"http://127.0.0.1:9000"}}},
       {"h"},
       ""},
      {"exposedByDefault=false skips", {container("a", {})}, not_exposed, {}, {}, ""},
      {"enable=true opts in",
       {container("a", {{"traefik.enable", "true"}})},
       not_exposed,
       {{"a", {"http://172.18.0.2:80"}}},
       {"a"},
       ""},
      {"enable=false opts out", {container("a", {{"traefik.enable", "false"}})}, {}, {}, {}, ""},
      {"paused gets no traffic", {paused}, {}, {}, {}, ""},
      // Unhealthy and starting containers keep their server, marked down (below).
      {"unhealthy keeps its server", {unhealthy}, {}, {{"u", {"http://172.18.0.2:80"}}}, {"u"}, ""},
      {"starting keeps its server",
       {starting},
       {},
       {{"st", {"http://172.18.0.2:80"}}},
       {"st"},
       ""},
      {"healthy does", {healthy}, {}, {{"hh", {"http://172.18.0.2:80"}}}, {"hh"}, ""},
      {"stopped is ignored", {stopped}, {}, {}, {}, ""},
      {"empty service kept when allowed", {paused}, allow_empty, {{"p", {}}}, {"p"}, ""},
      {"network option picks the address",
       {two_nets},
       on_front,
       {{"n", {"http://10.0.2.5:80"}}},
       {"n"},
       ""},
      {"network label overrides",
       {[&] {
         Container c = two_nets;
         c.labels["traefik.docker.network"] = "back";
         return c;
       }()},
       on_front,
       {{"n", {"http://10.0.1.5:80"}}},
       {"n"},
       ""},
      {"missing network is an error, not a guess",
       {container("a", {})},
       on_front,
       {{"a", {}}},
       {"a"},
       "not on network `front`"},
      {"url label",
       {container("a", {{"traefik.http.services.a.loadbalancer.server.url", "http://10.9.9.9:1"}})},
       {},
       {{"a", {"http://10.9.9.9:1"}}},
       {"a"},
       ""},
      {"router without service uses the only one",
       {container("a", {{"traefik.http.routers.r.rule", "Path(`/x`)"}})},
       {},
       {{"a", {"http://172.18.0.2:80"}}},
       {"r"},
       ""},
      {"router without service among several is an error",
       {container("a", {{"traefik.http.routers.r.rule", "Path(`/x`)"},
                        {"traefik.http.services.s1.loadbalancer.server.port", "1"},
                        {"traefik.http.services.s2.loadbalancer.server.port", "2"}})},
       {},
       {{"s1", {"http://172.18.0.2:1"}}, {"s2", {"http://172.18.0.2:2"}}},
       {},
       "say which one"},
      {"defaultRule template",
       {container("my_app", {{"alias", "app.local"}})},
       template_rule,
       {{"my-app", {"http://172.18.0.2:80"}}},
       {"my-app"},
       ""},
      {"router without a rule gets the default rule (Traefik's BuildRouterConfiguration)",
       {container("a", {{"traefik.http.routers.r.entrypoints", "web"}})},
       {},
       {{"a", {"http://172.18.0.2:80"}}},
       {"r"},
       ""},
      {"label typo disables only its router",
       {container("a", {{"traefik.http.routers.r.rul", "x"},
                        {"traefik.http.routers.ok.rule", "Path(`/`)"}})},
       {},
       {{"a", {"http://172.18.0.2:80"}}},
       {"ok", "r"},
       "did you mean `http.routers.r.rule`?"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto out = build_configuration(c.containers, c.options);
    std::map<std::string, std::vector<std::string>> servers;
    for (const auto& [name, svc] : out.config.http.services) servers[name] = server_urls(out, name);
    EXPECT_EQ(servers, c.servers);
    std::vector<std::string> routers;
    for (const auto& [name, r] : out.config.http.routers) routers.push_back(name);
    EXPECT_EQ(routers, c.routers);
    std::string all;
    for (const auto& p : out.problems) all += p.object + ": " + p.message + "\n";
    if (c.problem.empty()) {
      EXPECT_TRUE(out.problems.empty()) << all;
    } else {
      EXPECT_NE(all.find(c.problem), std::string::npos) << all;
    }
  }
  auto rule = build_configuration({container("my_app", {{"alias", "app.local"}})}, template_rule);
  EXPECT_EQ(rule.config.http.routers.at("my-app").rule,
            "Host(`my-app.example.com`) || Host(`app.local`)");
}

TEST(ConfigBuilder, RouterWithoutARuleGetsTheDefaultRule) {
  auto out = build_configuration(
      {container("my_app", {{"traefik.http.routers.r.middlewares", "m"},
                            {"traefik.http.middlewares.m.stripprefix.prefixes", "/a"}})},
      {});
  ASSERT_EQ(out.config.http.routers.count("r"), 1u);
  EXPECT_EQ(out.config.http.routers.at("r").rule, "Host(`my-app`)");
  EXPECT_EQ(out.config.http.routers.at("r").service, "my-app");
}

TEST(ConfigBuilder, DockerHealthMarksTheServerDown) {
  Container unhealthy = container("u", {});
  unhealthy.health = Health::Unhealthy;
  Container starting = container("st", {});
  starting.health = Health::Starting;
  Container healthy = container("hh", {});
  healthy.health = Health::Healthy;
  auto out = build_configuration({unhealthy, starting, healthy, container("none", {})}, {});
  auto server = [&](const std::string& s) {
    return out.config.http.services.at(s).load_balancer->servers.at(0);
  };
  EXPECT_EQ(server("u").down_reason, "Docker healthcheck: unhealthy");
  EXPECT_EQ(server("st").down_reason, "Docker healthcheck: starting");
  EXPECT_EQ(server("hh").down_reason, "");
  EXPECT_EQ(server("none").down_reason, "");  // no healthcheck: up
}

TEST(ConfigBuilder, ServiceWithoutAUsableServerIsAnError) {
  BuilderOptions on_front;
  on_front.network = "front";
  auto out = build_configuration({container("a", {})}, on_front);
  EXPECT_EQ(out.config.http.services.at("a").provider_error,
            "container a: the container is not on network `front`");
}

TEST(ConfigBuilder, BrokenObjectsStayVisibleAsErrors) {
  auto out = build_configuration(
      {container("a", {{"traefik.http.routers.r.rul", "x"},
                       {"traefik.http.middlewares.m.stripprefx.prefixes", "/a"}})},
      BuilderOptions{});
  EXPECT_NE(out.config.http.routers.at("r").provider_error.find("container a: "),
            std::string::npos);
  EXPECT_NE(out.config.http.middlewares.at("m").provider_error.find("stripPrefix"),
            std::string::npos);
}

// Two containers defining one name differently: the object is disabled, naming both (Traefik
// drops it), whatever their order; replicas with the same definition still merge (their
// servers, which may differ, add up).
TEST(ConfigBuilder, ConflictingDefinitionsDisableTheObjectNamingBothContainers) {
  auto a = container("a", {{"traefik.http.routers.r.rule", "Host(`a`)"},
                           {"traefik.http.routers.r.service", "s"},
                           {"traefik.http.services.s.loadbalancer.server.port", "80"},
                           {"traefik.http.middlewares.m.stripprefix.prefixes", "/a"}});
  auto b = container("b",
                     {{"traefik.http.routers.r.rule", "Host(`b`)"},
                      {"traefik.http.routers.r.service", "s"},
                      {"traefik.http.services.s.loadbalancer.server.port", "81"},
                      {"traefik.http.services.s.loadbalancer.passhostheader", "false"},
                      {"traefik.http.middlewares.m.stripprefix.prefixes", "/b"}},
                     "172.18.0.3");
  for (const auto& order : {std::vector<Container>{a, b}, std::vector<Container>{b, a}}) {
    auto out = build_configuration(order, BuilderOptions{});
    const std::string want = "defined differently by containers a, b; disabled";
    EXPECT_EQ(out.config.http.routers.at("r").provider_error, want);
    EXPECT_EQ(out.config.http.services.at("s").provider_error, want);
    EXPECT_EQ(out.config.http.middlewares.at("m").provider_error, want);
    int mentions = 0;
    for (const auto& p : out.problems) mentions += p.message == want;
    EXPECT_EQ(mentions, 6) << "each container hears about each of the three objects";
  }
  auto replica = container("a2", a.labels, "172.18.0.4");
  auto out = build_configuration({a, replica}, BuilderOptions{});
  EXPECT_TRUE(out.problems.empty());
  EXPECT_EQ(server_urls(out, "s"),
            (std::vector<std::string>{"http://172.18.0.2:80", "http://172.18.0.4:80"}));
}

// A name one container's labels break and another defines: a conflict naming both, in either
// order (found by the labels fuzz target: it named "" and the other container, or nobody).
TEST(ConfigBuilder, ConflictWithABrokenDefinitionNamesBothContainers) {
  const std::map<std::string, std::string> broken = {{"traefik.http.routers.r.rul", "x"}};
  const std::map<std::string, std::string> valid = {{"traefik.http.routers.r.rule", "Host(`b`)"}};
  // Containers are taken by name: the broken one first, then the valid one first.
  for (const auto& pair :
       {std::vector<Container>{container("a", broken), container("b", valid, "172.18.0.3")},
        std::vector<Container>{container("a", valid), container("b", broken, "172.18.0.3")}}) {
    auto out = build_configuration(pair, BuilderOptions{});
    const std::string want = "defined differently by containers a, b; disabled";
    EXPECT_EQ(out.config.http.routers.at("r").provider_error, want);
    for (const auto& p : out.problems) EXPECT_FALSE(p.container.empty()) << p.message;
  }
  // Replicas with the same typo: no conflict, the typo is what the API shows.
  auto out = build_configuration({container("a", broken), container("a2", broken, "172.18.0.4")},
                                 BuilderOptions{});
  EXPECT_NE(out.config.http.routers.at("r").provider_error.find("container a: "),
            std::string::npos)
      << out.config.http.routers.at("r").provider_error;
}

TEST(ConfigBuilder, TraefikV1LabelsAreIgnoredWithOneWarning) {
  auto out = build_configuration({container("old", {{"traefik.port", "8080"},
                                                    {"traefik.frontend.rule", "Host:old.test"},
                                                    {"traefik.backend", "old"},
                                                    {"traefik.web.frontend.rule", "Host:x"}})},
                                 BuilderOptions{});
  ASSERT_EQ(out.problems.size(), 1u);
  EXPECT_EQ(out.problems[0].level, Problem::Level::Warning);
  EXPECT_EQ(out.problems[0].message.rfind("Traefik v1 labels, ignored: ", 0), 0u)
      << out.problems[0].message;
  for (const char* k : {"port", "frontend.rule", "backend", "web.frontend.rule"}) {
    EXPECT_NE(out.problems[0].message.find(k), std::string::npos) << k;
  }
  // The container is still routed with v3's defaults.
  EXPECT_EQ(out.config.http.routers.at("old").rule, "Host(`old`)");
  EXPECT_EQ(server_urls(out, "old"), std::vector<std::string>{"http://172.18.0.2:80"});
}

// traefik.docker.allownonrunning: a stopped container keeps its router and a service without
// servers (503), even without allowEmptyServices.
TEST(ConfigBuilder, AllowNonRunningKeepsAStoppedContainersRoutes) {
  auto stopped = container("s", {{"traefik.docker.allownonrunning", "true"}});
  stopped.running = false;
  stopped.networks = {{"bridge", ""}};
  auto out = build_configuration({stopped}, BuilderOptions{});
  EXPECT_TRUE(out.problems.empty());
  ASSERT_EQ(out.config.http.routers.count("s"), 1u);
  ASSERT_EQ(out.config.http.services.count("s"), 1u);
  EXPECT_TRUE(out.config.http.services.at("s").load_balancer->servers.empty());
  EXPECT_TRUE(out.config.http.services.at("s").provider_error.empty());
  auto plain = container("p", {});
  plain.running = false;
  EXPECT_TRUE(build_configuration({plain}, BuilderOptions{}).config.http.routers.empty());
  auto bad = container("b", {{"traefik.docker.allownonrunning", "yes"}});
  auto bad_out = build_configuration({bad}, BuilderOptions{});
  ASSERT_FALSE(bad_out.problems.empty());
  EXPECT_NE(bad_out.problems[0].message.find("allownonrunning must be true or false"),
            std::string::npos);
  EXPECT_TRUE(allows_non_running({{"Traefik.Docker.AllowNonRunning", "TRUE"}}, {"traefik"}));
  EXPECT_FALSE(allows_non_running({{"traefik.docker.allownonrunning", "false"}}, {"traefik"}));
}

TEST(ConfigBuilder, DefaultRuleTemplateErrors) {
  EXPECT_FALSE(render_default_rule("Host(`{{ .Foo }}`)", "n", {}));
  EXPECT_FALSE(render_default_rule("Host(`{{ .Name `)", "n", {}));
  EXPECT_EQ(
      *render_default_rule("Host(`{{ normalize (index .Labels \"k\") }}`)", "n", {{"k", "a_b"}}),
      "Host(`a-b`)");
}

// A TCP-only container: no default HTTP router or service; its TCP router gets the container's
// service (made for it), with the address and the port label; replicas add servers.
TEST(ConfigBuilder, TcpOnlyContainers) {
  const std::map<std::string, std::string> labels = {
      {"traefik.tcp.routers.pg.rule", "HostSNI(`*`)"},
      {"traefik.tcp.routers.pg.entrypoints", "pg"}};
  auto out = build_configuration({container("db-1", labels, "172.18.0.5", {5432}),
                                  container("db-2", labels, "172.18.0.6", {5432})},
                                 BuilderOptions{});
  EXPECT_TRUE(out.config.http.routers.empty());
  EXPECT_TRUE(out.config.http.services.empty());
  ASSERT_EQ(out.config.tcp.routers.count("pg"), 1u);
  const std::string svc = out.config.tcp.routers.at("pg").service;
  EXPECT_EQ(svc, "db-1");
  const auto& servers = out.config.tcp.services.at(svc).load_balancer->servers;
  ASSERT_EQ(servers.size(), 1u);  // each container names its own default service
  EXPECT_EQ(servers[0].address, "172.18.0.5:5432");

  auto replicas = build_configuration(
      {container("r1", {{"traefik.tcp.routers.m.rule", "HostSNI(`*`)"},
                        {"traefik.tcp.services.mq.loadbalancer.server.port", "1883"}},
                 "172.18.0.7"),
       container("r2", {{"traefik.tcp.routers.m.rule", "HostSNI(`*`)"},
                        {"traefik.tcp.services.mq.loadbalancer.server.port", "1883"}},
                 "172.18.0.8")},
      BuilderOptions{});
  const auto& mq = replicas.config.tcp.services.at("mq").load_balancer->servers;
  ASSERT_EQ(mq.size(), 2u);
  EXPECT_EQ(mq[1].address, "172.18.0.8:1883");
  EXPECT_EQ(replicas.config.tcp.routers.at("m").service, "mq");
}

// A UDP-only container (traefik.udp.*): no default HTTP router; its UDP router gets the
// container's service with the address and the port label; replicas add servers.
TEST(ConfigBuilder, UdpOnlyContainers) {
  const std::map<std::string, std::string> labels = {
      {"traefik.udp.routers.dns.entrypoints", "dns"},
      {"traefik.udp.services.dns.loadbalancer.server.port", "5353"}};
  auto out = build_configuration({container("ns1", labels, "172.18.0.5", {53}),
                                  container("ns2", labels, "172.18.0.6", {53})},
                                 BuilderOptions{});
  EXPECT_TRUE(out.config.http.routers.empty());
  EXPECT_TRUE(out.config.http.services.empty());
  ASSERT_EQ(out.config.udp.routers.count("dns"), 1u);
  EXPECT_EQ(out.config.udp.routers.at("dns").service, "dns");
  EXPECT_EQ(out.config.udp.routers.at("dns").entry_points, std::vector<std::string>{"dns"});
  const auto& servers = *out.config.udp.services.at("dns").load_balancer;
  ASSERT_EQ(servers.size(), 2u);
  EXPECT_EQ(servers[0].address, "172.18.0.5:5353");
  EXPECT_EQ(servers[1].address, "172.18.0.6:5353");

  // Without a service label: the container's default service and its one exposed port.
  auto plain = build_configuration(
      {container("game", {{"traefik.udp.routers.g.entrypoints", "game"}}, "172.18.0.9", {27015})},
      BuilderOptions{});
  const std::string svc = plain.config.udp.routers.at("g").service;
  EXPECT_EQ(svc, "game");
  EXPECT_EQ(plain.config.udp.services.at(svc).load_balancer->at(0).address, "172.18.0.9:27015");
}

}  // namespace
}  // namespace portier::providers::docker
