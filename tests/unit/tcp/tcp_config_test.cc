// The tcp section: decoding (files), merging with name@provider, and building the table.
#include <gtest/gtest.h>

#include "config/decode.h"
#include "config/merge.h"
#include "tcp/table.h"

namespace portier {
namespace {

const char* kFull = R"Y(
tcp:
  routers:
    db:
      entryPoints: [pg]
      rule: "HostSNI(`*`)"
      service: db
      middlewares: [local, few]
    secure:
      rule: "HostSNI(`a.test`) && ALPN(`x`)"
      priority: 7
      service: both
      tls:
        passthrough: true
    term:
      rule: "HostSNI(`b.test`)"
      service: db
      tls:
        certResolver: le
        options: modern
        domains:
          - main: b.test
            sans: [c.test]
  services:
    db:
      loadBalancer:
        servers:
          - address: "127.0.0.1:5432"
          - address: "[::1]:5432"
        serversTransport: pp
    other:
      loadBalancer:
        servers: [{address: "db.internal:5432"}]
        proxyProtocol: {version: 1}
    both:
      weighted:
        services: [{name: db, weight: 3}, {name: other, weight: 1}]
  middlewares:
    local:
      ipAllowList: {sourceRange: ["127.0.0.1/32", "::1"]}
    few:
      inFlightConn: {amount: 2}
  serversTransports:
    pp:
      dialTimeout: 5s
      terminationDelay: 200ms
      proxyProtocol: {version: 2}
tls:
  options:
    modern:
      minVersion: VersionTLS13
)Y";

TEST(TcpDecode, Full) {
  auto cfg = config::decode_dynamic_yaml(kFull, "t.yml");
  ASSERT_TRUE(cfg) << cfg.error().message;
  const auto& t = cfg->tcp;
  ASSERT_EQ(t.routers.size(), 3u);
  EXPECT_EQ(t.routers.at("db").entry_points, (std::vector<std::string>{"pg"}));
  EXPECT_EQ(t.routers.at("db").middlewares, (std::vector<std::string>{"local", "few"}));
  EXPECT_FALSE(t.routers.at("db").tls);
  ASSERT_TRUE(t.routers.at("secure").tls);
  EXPECT_TRUE(t.routers.at("secure").tls->passthrough);
  EXPECT_EQ(t.routers.at("secure").priority, 7);
  const auto& term = *t.routers.at("term").tls;
  EXPECT_FALSE(term.passthrough);
  EXPECT_EQ(term.cert_resolver, "le");
  EXPECT_EQ(term.options, "modern");
  ASSERT_EQ(term.domains.size(), 1u);
  EXPECT_EQ(term.domains[0].sans, (std::vector<std::string>{"c.test"}));
  EXPECT_EQ(t.services.at("db").load_balancer->servers.size(), 2u);
  EXPECT_EQ(t.services.at("db").load_balancer->servers_transport, "pp");
  EXPECT_EQ(t.services.at("other").load_balancer->proxy_protocol_version, 1);
  EXPECT_EQ(t.services.at("both").weighted->at(0).weight, 3);
  EXPECT_EQ(t.middlewares.at("local").ip_allow_list->size(), 2u);
  EXPECT_EQ(t.middlewares.at("few").in_flight_conn, 2);
  EXPECT_EQ(t.servers_transports.at("pp").proxy_protocol_version, 2);
  EXPECT_EQ(t.servers_transports.at("pp").dial_timeout, std::chrono::seconds(5));
  EXPECT_TRUE(cfg->warnings.empty());
}

TEST(TcpDecode, ObjectErrorsDisableOnlyTheObject) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"tcp:\n  routers:\n    r:\n      rule: x\n      servce: s\n", "service"},
      {"tcp:\n  services:\n    r:\n      loadBalancer:\n        servers: [{url: x}]\n", "address"},
      {"tcp:\n  services:\n    r:\n      loadBalancer:\n        servers: [{address: 'a:1', tls: true}]\n",
       "not supported"},
      {"tcp:\n  services:\n    r: {}\n", "exactly one"},
      {"tcp:\n  middlewares:\n    r:\n      inFlightConn: {amount: 0}\n", "amount"},
      {"tcp:\n  middlewares:\n    r:\n      ipAllowList: {}\n", "sourceRange"},
      {"tcp:\n  serversTransports:\n    r:\n      proxyProtocol: {version: 3}\n", "version"},
      {"tcp:\n  routers:\n    r:\n      ruleSyntax: v2\n", "v2"},
  };
  for (const auto& [yaml, want] : cases) {
    SCOPED_TRACE(yaml);
    auto cfg = config::decode_dynamic_yaml(yaml, "t.yml");
    ASSERT_TRUE(cfg) << cfg.error().message;
    std::string err;
    for (const auto& [n, o] : cfg->tcp.routers) err += o.provider_error;
    for (const auto& [n, o] : cfg->tcp.services) err += o.provider_error;
    for (const auto& [n, o] : cfg->tcp.middlewares) err += o.provider_error;
    for (const auto& [n, o] : cfg->tcp.servers_transports) err += o.provider_error;
    EXPECT_NE(err.find(want), std::string::npos) << err;
  }
}

TEST(TcpMerge, QualifiesNames) {
  auto cfg = config::decode_dynamic_yaml(kFull, "t.yml");
  ASSERT_TRUE(cfg);
  auto merged = config::merge({{"file", *cfg}});
  ASSERT_TRUE(merged.tcp.routers.count("db@file"));
  EXPECT_EQ(merged.tcp.routers.at("db@file").service, "db@file");
  EXPECT_EQ(merged.tcp.routers.at("db@file").middlewares[0], "local@file");
  EXPECT_EQ(merged.tcp.services.at("both@file").weighted->at(1).name, "other@file");
  EXPECT_EQ(merged.tcp.services.at("db@file").load_balancer->servers_transport, "pp@file");
  EXPECT_TRUE(merged.tcp.servers_transports.count("pp@file"));
}

TEST(TcpTable, BuildsAndReportsErrors) {
  std::string yaml = kFull;
  yaml.insert(yaml.find("  routers:\n") + 11, R"Y(
    nohost:
      rule: "HostSNI(`x.test`)"
      service: db
    missing:
      rule: "HostSNI(`*`)"
      service: nothing
    badrule:
      rule: "Host(`x`)"
      service: db
    badep:
      entryPoints: [nope]
      rule: "HostSNI(`*`)"
      service: db
)Y");
  yaml += R"Y(
http:
  routers:
    web:
      rule: "Host(`w.test`) || Host(`*.wild.test`)"
      service: s
      tls: {}
  services:
    s:
      loadBalancer:
        servers: [{url: "http://127.0.0.1:1"}]
)Y";
  auto cfg = config::decode_dynamic_yaml(yaml, "t.yml");
  ASSERT_TRUE(cfg) << cfg.error().message;
  auto merged = config::merge({{"file", *cfg}});
  tcp::Builder builder({{"pg", false}, {"websecure", false}});
  auto built = builder.build(merged);
  ASSERT_TRUE(built.table);
  EXPECT_EQ(built.enabled, (std::vector<bool>{true, true}));
  std::map<std::string, std::string> errors;
  for (const auto& e : built.errors) errors[e.name] = e.message;
  EXPECT_EQ(errors.size(), 4u);
  EXPECT_NE(errors["nohost@file"].find("no tls"), std::string::npos);
  EXPECT_NE(errors["missing@file"].find("does not exist"), std::string::npos);
  EXPECT_NE(errors["badrule@file"].find("HTTP matcher"), std::string::npos);
  EXPECT_NE(errors["badep@file"].find("nope"), std::string::npos);
  const auto* pg = built.table->entrypoint(0);
  ASSERT_NE(pg, nullptr);
  ASSERT_EQ(pg->plain.size(), 1u);
  EXPECT_EQ(pg->plain[0]->name, "db@file");
  EXPECT_EQ(pg->plain[0]->priority, -1);  // HostSNI(`*`) alone: after every other rule
  EXPECT_EQ(pg->tls.size(), 2u);
  EXPECT_EQ(pg->tls[0]->name, "term@file");  // length 18 > priority 7
  EXPECT_TRUE(pg->https_host("w.test"));
  EXPECT_TRUE(pg->https_host("a.wild.test"));
  EXPECT_FALSE(pg->https_host("wild.test"));
  EXPECT_FALSE(pg->https_catch_all);
  ASSERT_EQ(built.certificates.size(), 1u);
  EXPECT_EQ(built.certificates[0].domains,
            (std::vector<std::vector<std::string>>{{"b.test", "c.test"}}));
}

// tls.options of a terminating router: checked when the table is built, kept on the route for
// the handshake (serve.cc asks the certificate store for them by name).
TEST(TcpTable, TlsOptionsOfTerminatingRouters) {
  struct Case {
    std::string tls;      // the router's tls mapping
    std::string options;  // the route's tls_options; "" when the router is disabled
    std::string error;    // substring of its error
  };
  const std::vector<Case> cases = {
      {"{}", "default", ""},
      {"{options: modern}", "modern", ""},
      {"{options: modern@file}", "modern", ""},
      {"{options: default}", "default", ""},
      {"{options: nope}", "", "tls.options `nope` does not exist"},
      {"{options: broken}", "", "tls.options `broken`: "},
      {"{passthrough: true, options: nope}", "default", ""},  // no handshake here: not checked
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.tls);
    const std::string yaml =
        "tcp:\n  routers:\n    r:\n      rule: \"HostSNI(`a.test`)\"\n      service: s\n"
        "      tls: " + c.tls + "\n"
        "  services:\n    s:\n      loadBalancer:\n        servers: [{address: \"127.0.0.1:1\"}]\n"
        "tls:\n  options:\n    modern:\n      minVersion: VersionTLS13\n"
        "    broken:\n      cipherSuites: [TLS_NOT_A_CIPHER]\n";
    auto cfg = config::decode_dynamic_yaml(yaml, "t.yml");
    ASSERT_TRUE(cfg) << cfg.error().message;
    auto built = tcp::Builder({{"websecure", false}}).build(config::merge({{"file", *cfg}}));
    if (c.options.empty()) {
      ASSERT_EQ(built.errors.size(), 1u);
      EXPECT_EQ(built.errors[0].name, "r@file");
      EXPECT_NE(built.errors[0].message.find(c.error), std::string::npos)
          << built.errors[0].message;
      EXPECT_FALSE(built.table);
      continue;
    }
    ASSERT_TRUE(built.errors.empty()) << built.errors[0].message;
    ASSERT_TRUE(built.table);
    ASSERT_EQ(built.table->entrypoint(0)->tls.size(), 1u);
    EXPECT_EQ(built.table->entrypoint(0)->tls[0]->tls_options, c.options);
  }
}

TEST(TcpTable, WeightedRoundRobinAndFailover) {
  auto cfg = config::decode_dynamic_yaml(kFull, "t.yml");
  ASSERT_TRUE(cfg);
  auto merged = config::merge({{"file", *cfg}});
  tcp::Builder builder({{"pg", false}});
  auto built = builder.build(merged);
  const auto* ep = built.table->entrypoint(0);
  const tcp::Route* secure = nullptr;
  for (const auto* r : ep->tls) {
    if (r->name == "secure@file") secure = r;
  }
  ASSERT_NE(secure, nullptr);
  std::map<std::string, int> firsts;
  for (int i = 0; i < 40; ++i) {
    std::vector<const tcp::Server*> order;
    secure->service->order(order);
    ASSERT_FALSE(order.empty());
    ++firsts[order[0]->address];
    if (order[0]->address != "db.internal:5432") {
      EXPECT_EQ(order.size(), 2u);  // the other server of `db` is the fallback
    }
  }
  // db (weight 3) has two servers; other (weight 1) one.
  EXPECT_EQ(firsts["db.internal:5432"], 10);
  EXPECT_EQ(firsts["127.0.0.1:5432"] + firsts["[::1]:5432"], 30);
}

}  // namespace
}  // namespace portier
