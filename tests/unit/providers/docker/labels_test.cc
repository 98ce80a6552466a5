// Label decoding: Traefik's grammar under portier. and traefik., case-insensitive keys,
// misspellings reported per object with the closest key.
#include "providers/docker/labels.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>

namespace portier::providers::docker {
namespace {

const std::vector<std::string> kPrefixes = {"portier", "traefik"};

TEST(Labels, DecodesRoutersServicesMiddlewares) {
  auto d = decode_labels(
      {{"traefik.enable", "true"},
       {"traefik.http.routers.web.rule", "Host(`web.localhost`)"},
       {"traefik.http.routers.web.entrypoints", "web,websecure"},
       {"traefik.http.routers.web.middlewares", "strip,auth@file"},
       {"traefik.http.routers.web.priority", "42"},
       {"traefik.http.routers.web.tls", "true"},
       {"traefik.http.routers.web.tls.certresolver", "le"},
       {"traefik.http.routers.web.tls.domains[0].main", "example.com"},
       {"traefik.http.routers.web.tls.domains[0].sans", "a.example.com,b.example.com"},
       {"traefik.http.services.websvc.loadbalancer.server.port", "8080"},
       {"traefik.http.services.websvc.loadbalancer.server.scheme", "http"},
       {"traefik.http.services.websvc.loadbalancer.passhostheader", "false"},
       {"traefik.http.middlewares.strip.stripprefix.prefixes", "/api,/v2"},
       {"traefik.http.middlewares.hdr.headers.customrequestheaders.X-Env", "prod"},
       {"traefik.docker.network", "front"},
       {"com.docker.compose.project", "demo"}},
      kPrefixes, "web-1");
  ASSERT_TRUE(d.errors.empty()) << d.errors[0].message;
  EXPECT_EQ(d.enable, true);
  EXPECT_EQ(d.network, "front");
  const auto& r = d.config.http.routers.at("web");
  EXPECT_EQ(r.rule, "Host(`web.localhost`)");
  EXPECT_EQ(r.entry_points, (std::vector<std::string>{"web", "websecure"}));
  EXPECT_EQ(r.middlewares, (std::vector<std::string>{"strip", "auth@file"}));
  EXPECT_EQ(r.priority, 42);
  ASSERT_TRUE(r.tls);
  EXPECT_EQ(r.tls->cert_resolver, "le");
  EXPECT_EQ(r.tls->domains.at(0).sans.size(), 2u);
  EXPECT_FALSE(d.config.http.services.at("websvc").load_balancer->pass_host_header);
  EXPECT_EQ(d.servers.at("websvc").port, 8080);
  EXPECT_EQ(d.config.http.middlewares.at("strip").strip_prefix->prefixes.size(), 2u);
  EXPECT_EQ(d.config.http.middlewares.at("hdr").headers->custom_request_headers.at("X-Env"),
            "prod");
}

TEST(Labels, PortierWinsOverTraefikAndKeysAnyCase) {
  auto d = decode_labels({{"traefik.http.routers.r.rule", "Host(`old`)"},
                          {"portier.http.routers.r.rule", "Host(`new`)"},
                          {"TRAEFIK.HTTP.ROUTERS.r.ENTRYPOINTS", "web"}},
                         kPrefixes, "c");
  ASSERT_TRUE(d.errors.empty());
  EXPECT_EQ(d.config.http.routers.at("r").rule, "Host(`new`)");
  EXPECT_EQ(d.config.http.routers.at("r").entry_points.at(0), "web");
}

TEST(Labels, TyposDisableOnlyTheirObject) {
  struct Case {
    std::string label;
    std::string kind;  // of the error
    std::string message;
  };
  const std::vector<Case> cases = {
      {"traefik.http.routers.r.rulee", "router", "did you mean `http.routers.r.rule`?"},
      {"traefik.http.routers.r.entrypoint", "router", "did you mean `http.routers.r.entryPoints`?"},
      {"traefik.http.services.s.loadbalancer.server.prot", "service", "unknown option"},
      {"traefik.http.services.s.loadbalancer.server.port", "service", "invalid value `http`"},
      {"traefik.http.services.s.loadbalancr.passhostheader", "service", "did you mean"},
      {"traefik.http.middlewares.m.stripprefx.prefixes", "middleware",
       "did you mean `stripPrefix`?"},
      {"traefik.htp.routers.r.rule", "container", "did you mean `http.routers...`?"},
      {"traefik.udp.routers.r.rule", "udp router", "unknown key"},
      {"traefik.udp.services.s.loadbalancer.server.port", "udp service", "invalid value `http`"},
      {"traefik.tcp.routers.r.rulee", "tcp router", "did you mean `tcp.routers.r.rule`?"},
      {"traefik.tcp.services.s.loadbalancer.server.port", "tcp service", "invalid value `http`"},
      {"traefik.enable", "container", "true or false"},
      {"traefik.http.routers..rule", "container", "names no object"},  // found by fuzzing
      {"traefik.http.services..loadbalancer.server.port", "container", "names no object"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.label);
    std::string value = c.label.find("server.port") != std::string::npos ? "http"
                        : c.label == "traefik.enable"                    ? "yes"
                                                                         : "x";
    auto d = decode_labels({{c.label, value}, {"traefik.http.routers.ok.rule", "Host(`ok`)"}},
                           kPrefixes, "c");
    ASSERT_EQ(d.errors.size(), 1u);
    EXPECT_EQ(d.errors[0].kind, c.kind);
    EXPECT_NE(d.errors[0].message.find(c.message), std::string::npos) << d.errors[0].message;
    EXPECT_EQ(d.config.http.routers.count("ok"), 1u) << "other objects still decode";
  }
}

// Middleware options from labels go through the file decoder: lists are comma-separated values
// (Traefik's `basicauth.users=u1:h1,u2:h2`), maps are keys below the option, and `=true` enables
// a section with its defaults.
TEST(Labels, MiddlewareOptions) {
  using config::Middleware;
  struct Case {
    std::string name;
    std::map<std::string, std::string> labels;  // below traefik.http.middlewares.m.
    std::function<void(Middleware&)> want;      // fills the expected middleware
    std::string error;                          // substring of the middleware's error
  };
  const std::vector<Case> cases = {
      {"basicAuth users as one value",
       {{"basicauth.users", "u1:$apr1$a$b,u2:$2y$05$c"}, {"basicauth.realm", "in"}},
       [](Middleware& m) {
         m.type = "basicAuth";
         m.basic_auth.emplace().users = {"u1:$apr1$a$b", "u2:$2y$05$c"};
         m.basic_auth->realm = "in";
       },
       ""},
      {"rateLimit with a nested criterion",
       {{"ratelimit.average", "100"},
        {"ratelimit.period", "1m"},
        {"ratelimit.sourcecriterion.ipstrategy.depth", "2"}},
       [](Middleware& m) {
         m.type = "rateLimit";
         auto& r = m.rate_limit.emplace();
         r.average = 100;
         r.period = std::chrono::minutes(1);
         r.source_criterion.emplace().ip_strategy.emplace().depth = 2;
       },
       ""},
      {"ipAllowList with ipstrategy=true",
       {{"ipallowlist.sourcerange", "10.0.0.0/8, 192.168.0.0/16"},
        {"ipallowlist.ipstrategy", "true"}},
       [](Middleware& m) {
         m.type = "ipAllowList";
         auto& a = m.ip_allow_list.emplace();
         a.source_range = {"10.0.0.0/8", "192.168.0.0/16"};
         a.ip_strategy.emplace();
       },
       ""},
      {"grpcWeb with a list of origins",
       {{"grpcweb.alloworigins", "https://a.test,https://b.test"}},
       [](Middleware& m) {
         m.type = "grpcWeb";
         m.grpc_web.emplace().allow_origins = {"https://a.test", "https://b.test"};
       },
       ""},
      {"compress=true",
       {{"compress", "true"}},
       [](Middleware& m) {
         m.type = "compress";
         m.compress.emplace();
       },
       ""},
      {"errors with a status list and rewrites",
       {{"errors.status", "500-599,404"},
        {"errors.statusrewrites.418", "404"},
        {"errors.service", "pages"}},
       [](Middleware& m) {
         m.type = "errors";
         auto& e = m.errors.emplace();
         e.status = {"500-599", "404"};
         e.status_rewrites = {{"418", 404}};
         e.service = "pages";
       },
       ""},
      {"forwardAuth",
       {{"forwardauth.address", "http://auth"}, {"forwardauth.tls.ca", "ca.pem"}},
       [](Middleware& m) {
         m.type = "forwardAuth";
         auto& f = m.forward_auth.emplace();
         f.address = "http://auth";
         f.tls.emplace().ca = "ca.pem";
       },
       ""},
      // portier's own type: the same decoder as in files; rules with commas and newlines stay
      // one string, ruleFiles splits on commas.
      {"waf",
       {{"waf.mode", "detect"},
        {"waf.paranoialevel", "2"},
        {"waf.rules", "SecRuleRemoveById 920350\nSecRule ARGS \"@rx a,b\" \"id:1,deny\""},
        {"waf.rulefiles", "/etc/waf/a.conf,/etc/waf/*.conf"}},
       [](Middleware& m) {
         m.type = "waf";
         auto& w = m.waf.emplace();
         w.mode = "detect";
         w.paranoia_level = 2;
         w.rules = "SecRuleRemoveById 920350\nSecRule ARGS \"@rx a,b\" \"id:1,deny\"";
         w.rule_files = {"/etc/waf/a.conf", "/etc/waf/*.conf"};
       },
       ""},
      {"rateLimit redis",
       {{"ratelimit.redis.endpoints", "r:6379"}},
       nullptr,
       "`http.middlewares.m.rateLimit.redis` is not supported"},
      {"misspelt option",
       {{"compress.encoding", "gzip"}},
       nullptr,
       "did you mean `http.middlewares.m.compress.encodings`?"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::map<std::string, std::string> labels;
    for (const auto& [k, v] : c.labels) labels["traefik.http.middlewares.m." + k] = v;
    auto d = decode_labels(labels, kPrefixes, "c");
    if (!c.error.empty()) {
      ASSERT_EQ(d.errors.size(), 1u);
      EXPECT_EQ(d.errors[0].kind, "middleware");
      EXPECT_NE(d.errors[0].message.find(c.error), std::string::npos) << d.errors[0].message;
      continue;
    }
    ASSERT_TRUE(d.errors.empty()) << d.errors[0].message;
    Middleware want;
    c.want(want);
    EXPECT_TRUE(d.config.http.middlewares.at("m") == want);
  }
}

// Found by the labels fuzz target in CI: a key set both to a value and to keys below it made
// yaml-cpp throw out of the provider (a container's labels could end the process).
TEST(Labels, AKeyWithAValueAndKeysBelowItIsAnErrorNotACrash) {
  for (const auto& [first, second] :
       std::vector<std::pair<std::string, std::string>>{
           {"traefik.http.routers.p.tls.domains[0]", "traefik.http.routers.p.tls.domains[0].sans"},
           {"traefik.http.routers.p.tls.domains[0]", "traefik.http.routers.p.tls.domains[0].main"}}) {
    SCOPED_TRACE(first + " + " + second);
    auto d = decode_labels({{first, "le"},
                            {second, "a.example.com"},
                            {"traefik.http.routers.p.rule", "Host(`p`)"},
                            {"traefik.http.routers.ok.rule", "Host(`ok`)"}},
                           kPrefixes, "c");
    ASSERT_EQ(d.errors.size(), 1u);
    EXPECT_EQ(d.errors[0].kind, "router");
    EXPECT_EQ(d.errors[0].name, "p");
    EXPECT_NE(d.errors[0].message.find("malformed label key"), std::string::npos);
    EXPECT_EQ(d.config.http.routers.count("ok"), 1u);
  }
}

TEST(Labels, Normalize) {
  EXPECT_EQ(normalize("web_demo"), "web-demo");
  EXPECT_EQ(normalize("/my.app--1"), "my-app-1");
  EXPECT_EQ(normalize("ok"), "ok");
}

}  // namespace
}  // namespace portier::providers::docker

namespace portier::providers::docker {
namespace {

// traefik.tcp.* labels go through the file decoders; a TCP-only container gets no default HTTP
// router, and its TCP service gets the container's address and port.
TEST(TcpLabels, RoutersServicesMiddlewares) {
  auto d = decode_labels({{"traefik.tcp.routers.db.rule", "HostSNI(`*`)"},
                          {"traefik.tcp.routers.db.entrypoints", "pg"},
                          {"traefik.tcp.routers.db.middlewares", "few"},
                          {"traefik.tcp.routers.sec.rule", "HostSNI(`db.test`)"},
                          {"traefik.tcp.routers.sec.tls", "true"},
                          {"traefik.tcp.routers.sec.tls.passthrough", "true"},
                          {"traefik.tcp.services.db.loadbalancer.server.port", "5432"},
                          {"traefik.tcp.middlewares.few.inflightconn.amount", "3"}},
                         {"traefik"}, "c");
  ASSERT_TRUE(d.errors.empty()) << d.errors[0].message;
  const auto& t = d.config.tcp;
  EXPECT_EQ(t.routers.at("db").entry_points, std::vector<std::string>{"pg"});
  ASSERT_TRUE(t.routers.at("sec").tls);
  EXPECT_TRUE(t.routers.at("sec").tls->passthrough);
  EXPECT_EQ(d.tcp_ports.at("db"), 5432);
  EXPECT_EQ(t.middlewares.at("few").in_flight_conn, 3);
}

}  // namespace
}  // namespace portier::providers::docker
