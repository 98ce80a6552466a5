// The udp section: decoding (files), merging with name@provider, building the table (one router
// per entrypoint, errors per object), the round robins, and entrypoint addresses ending in /udp.
#include <gtest/gtest.h>

#include <map>

#include "config/decode.h"
#include "config/merge.h"
#include "entrypoints/entrypoint.h"
#include "udp/table.h"

namespace portier {
namespace {

const char* kFull = R"Y(
udp:
  routers:
    dns:
      entryPoints: [dns]
      service: dns
    game:
      service: both
  services:
    dns:
      loadBalancer:
        servers:
          - address: "127.0.0.1:5353"
          - address: "[::1]:5353"
    other:
      loadBalancer:
        servers: [{address: "127.0.0.2:53"}]
    both:
      weighted:
        services: [{name: dns, weight: 3}, {name: other}]
)Y";

TEST(UdpDecode, Full) {
  auto cfg = config::decode_dynamic_yaml(kFull, "t.yml");
  ASSERT_TRUE(cfg) << cfg.error().message;
  const auto& u = cfg->udp;
  EXPECT_EQ(u.routers.at("dns").entry_points, (std::vector<std::string>{"dns"}));
  EXPECT_EQ(u.routers.at("game").service, "both");
  EXPECT_TRUE(u.routers.at("game").entry_points.empty());
  EXPECT_EQ(u.services.at("dns").load_balancer->size(), 2u);
  EXPECT_EQ(u.services.at("dns").load_balancer->at(1).address, "[::1]:5353");
  EXPECT_EQ(u.services.at("both").weighted->at(0).weight, 3);
  EXPECT_EQ(u.services.at("both").weighted->at(1).weight, 1);  // Traefik's default
  EXPECT_TRUE(cfg->warnings.empty());
}

TEST(UdpDecode, ObjectErrorsDisableOnlyTheObject) {
  const struct {
    const char* yaml;
    const char* object;
    const char* want;
  } cases[] = {
      {"udp:\n  routers:\n    r:\n      rule: \"HostSNI(`*`)\"\n      service: s\n", "r", "rule"},
      {"udp:\n  services:\n    s:\n      loadBalancer:\n        servers: [{}]\n", "s",
       "address` is required"},
      {"udp:\n  services:\n    s: {}\n", "s", "exactly one of loadBalancer and weighted"},
      {"udp:\n  services:\n    s:\n      loadBalancer:\n        servers: [{address: a:1}]\n"
       "        healthCheck: {}\n",
       "s", "healthCheck"},
      {"udp:\n  services:\n    s:\n      weighted:\n        services: [{weight: 2}]\n", "s",
       "name` is required"},
  };
  for (const auto& c : cases) {
    auto cfg = config::decode_dynamic_yaml(c.yaml, "t.yml");
    ASSERT_TRUE(cfg) << c.yaml << cfg.error().message;
    std::string err = cfg->udp.routers.count(c.object) ? cfg->udp.routers.at(c.object).provider_error
                                                       : cfg->udp.services.at(c.object).provider_error;
    EXPECT_NE(err.find(c.want), std::string::npos) << c.yaml << " -> " << err;
  }
}

TEST(UdpMerge, QualifiesNames) {
  auto cfg = config::decode_dynamic_yaml(kFull, "t.yml");
  ASSERT_TRUE(cfg);
  auto merged = config::merge({{"docker", *cfg}});
  EXPECT_EQ(merged.udp.routers.at("dns@docker").service, "dns@docker");
  EXPECT_EQ(merged.udp.services.at("both@docker").weighted->at(1).name, "other@docker");
}

TEST(UdpTable, OneRouterPerEntrypointAndErrors) {
  const char* yaml = R"Y(
udp:
  routers:
    a: {entryPoints: [u1], service: s}
    b: {entryPoints: [u1], service: s}
    c: {entryPoints: [web], service: s}
    d: {entryPoints: [nowhere], service: s}
    e: {entryPoints: [u2], service: missing}
    f: {entryPoints: [u2]}
    g: {service: w}
  services:
    s:
      loadBalancer:
        servers: [{address: "127.0.0.1:1000"}, {address: "127.0.0.1:1001"}]
    bad:
      loadBalancer:
        servers: [{address: "127.0.0.1"}]
    w:
      weighted:
        services: [{name: s, weight: 1}, {name: bad}]
)Y";
  auto cfg = config::decode_dynamic_yaml(yaml, "t.yml");
  ASSERT_TRUE(cfg) << cfg.error().message;
  auto merged = config::merge({{"file", *cfg}});
  udp::Builder builder({{"u1", true}, {"web", false}, {"u2", true}, {"u3", true}});
  auto built = builder.build(merged);
  ASSERT_TRUE(built.table);
  std::map<std::string, std::string> errors;
  for (const auto& e : built.errors) errors[e.kind + " " + e.name] = e.message;
  EXPECT_EQ(errors.size(), 8u);
  // Traefik keeps the router last by name: b; a is reported.
  EXPECT_NE(errors["udp router a@file"].find("already served by udp router `b@file`"),
            std::string::npos);
  EXPECT_NE(errors["udp router c@file"].find("not a UDP entrypoint"), std::string::npos);
  EXPECT_NE(errors["udp router d@file"].find("does not exist"), std::string::npos);
  EXPECT_NE(errors["udp router e@file"].find("`missing@file` does not exist"), std::string::npos);
  EXPECT_NE(errors["udp router f@file"].find("service is missing"), std::string::npos);
  EXPECT_NE(errors["udp router g@file"].find("disabled"), std::string::npos);
  EXPECT_NE(errors["udp service bad@file"].find("has no :port"), std::string::npos);
  EXPECT_NE(errors["udp service w@file"].find("bad@file"), std::string::npos);
  const udp::Service* s = built.table->entrypoint(0);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(built.table->entrypoint(1), nullptr);
  EXPECT_EQ(built.table->entrypoint(2), nullptr);
  EXPECT_EQ(built.table->entrypoint(3), nullptr);
  // Round robin over the servers.
  EXPECT_EQ(s->pick()->endpoint.port(), 1000);
  EXPECT_EQ(s->pick()->endpoint.port(), 1001);
  EXPECT_EQ(s->pick()->endpoint.port(), 1000);
}

TEST(UdpTable, WeightedAndUnboundRouter) {
  const char* yaml = R"Y(
udp:
  routers:
    all: {service: w}
  services:
    x: {loadBalancer: {servers: [{address: "127.0.0.1:1"}]}}
    y: {loadBalancer: {servers: [{address: "127.0.0.1:2"}]}}
    w: {weighted: {services: [{name: x, weight: 3}, {name: y, weight: 1}]}}
)Y";
  auto cfg = config::decode_dynamic_yaml(yaml, "t.yml");
  ASSERT_TRUE(cfg) << cfg.error().message;
  auto built = udp::Builder({{"web", false}, {"u", true}, {"v", true}})
                   .build(config::merge({{"file", *cfg}}));
  ASSERT_TRUE(built.table);
  EXPECT_TRUE(built.errors.empty());
  // A router without entryPoints takes every UDP entrypoint.
  EXPECT_EQ(built.table->entrypoint(0), nullptr);
  ASSERT_NE(built.table->entrypoint(1), nullptr);
  EXPECT_EQ(built.table->entrypoint(1), built.table->entrypoint(2));
  std::map<int, int> by;
  for (int i = 0; i < 8; ++i) ++by[built.table->entrypoint(1)->pick()->endpoint.port()];
  EXPECT_EQ(by[1], 6);
  EXPECT_EQ(by[2], 2);
}

TEST(UdpTable, NoRouterNoTable) {
  auto built = udp::Builder({{"u", true}}).build(config::Configuration{});
  EXPECT_FALSE(built.table);
}

TEST(UdpEntryPoint, AddressSuffix) {
  const struct {
    const char* address;
    bool ok;
    bool udp;
    unsigned short port;
  } cases[] = {
      {":53/udp", true, true, 53},          {"127.0.0.1:0/udp", true, true, 0},
      {"[::1]:5353/udp", true, true, 5353}, {":80/tcp", true, false, 80},
      {":80", true, false, 80},             {":53/sctp", false, false, 0},
  };
  for (const auto& c : cases) {
    auto ep = entrypoints::parse_listen_address(c.address);
    EXPECT_EQ(ep.has_value(), c.ok) << c.address;
    if (ep) {
      EXPECT_EQ(ep->port(), c.port) << c.address;
    }
    EXPECT_EQ(entrypoints::is_udp_address(c.address), c.udp) << c.address;
  }
}

}  // namespace
}  // namespace portier
