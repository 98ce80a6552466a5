// serversTransports when the table is built: https:// URLs (port 443 by default), each server's
// transport, pools keyed by URL and transport (a server reached through two transports never
// shares an id, a transport unchanged across builds keeps its servers' ids, a changed one gets
// new ones), and the errors of a missing, broken or SPIFFE transport on the services naming it.
#include <gtest/gtest.h>

#include "proxy/routing_table.h"
#include "proxy/upstream_tls.h"

namespace portier::proxy {
namespace {

config::Service lb(const std::string& url, const std::string& transport) {
  config::Service s;
  s.load_balancer = config::LoadBalancer{};
  s.load_balancer->servers.push_back({url});
  s.load_balancer->servers_transport = transport;
  return s;
}

const ServiceTarget* service(const BuildResult& built, const std::string& name) {
  // Services are reached through routes: a router per service (Host(`<service name>`)).
  char host[64];
  std::size_t n = normalize_host(name, host);
  rules::Request req{
      std::string_view(host, n), "GET", "/", {}, {}, boost::asio::ip::make_address("127.0.0.1")};
  const Route* r = built.table->entrypoint(0)->match(req);
  return r ? r->service : nullptr;
}

config::Configuration with_routes(config::Configuration cfg) {
  for (const auto& [name, s] : cfg.http.services) {
    config::Router r;
    r.rule = "Host(`" + name + "`)";
    r.service = name;
    cfg.http.routers[name] = r;
  }
  return cfg;
}

TEST(TransportBuild, ServersGetTheirTransportAndPoolsAreKeyedByIt) {
  config::Configuration cfg;
  cfg.http.servers_transports["a"] = config::HttpServersTransport{};
  cfg.http.servers_transports["b"].server_name = "b.test";
  cfg.http.services["plain"] = lb("http://127.0.0.1:9", "");
  cfg.http.services["viaa"] = lb("https://127.0.0.1:9", "a");
  cfg.http.services["viab"] = lb("https://127.0.0.1:9", "b");
  cfg.http.services["dflt"] = lb("https://127.0.0.1", "");
  TableBuilder builder({"web"});
  auto built = builder.build(with_routes(cfg));
  ASSERT_TRUE(built.errors.empty()) << built.errors[0].message;
  const ServerTarget& plain = service(built, "plain")->servers[0];
  const ServerTarget& a = service(built, "viaa")->servers[0];
  const ServerTarget& b = service(built, "viab")->servers[0];
  const ServerTarget& d = service(built, "dflt")->servers[0];
  EXPECT_FALSE(plain.tls);
  ASSERT_TRUE(plain.transport);
  EXPECT_EQ(plain.transport->name, "default@internal");
  EXPECT_TRUE(a.tls);
  EXPECT_EQ(a.tls_host, "127.0.0.1");
  EXPECT_EQ(a.transport->name, "a");
  EXPECT_EQ(b.transport->server_name, "b.test");
  EXPECT_NE(a.id, b.id);  // one URL, two transports: two pools
  EXPECT_EQ(d.endpoint.port(), 443);
  EXPECT_EQ(d.transport->name, "default@internal");

  // Unchanged: same transport object (its SSL_CTX) and same ids; changed: a new id.
  cfg.http.servers_transports["b"].insecure_skip_verify = true;
  auto again = builder.build(with_routes(cfg));
  const ServerTarget& a2 = service(again, "viaa")->servers[0];
  const ServerTarget& b2 = service(again, "viab")->servers[0];
  EXPECT_EQ(a2.transport, a.transport);
  EXPECT_EQ(a2.id, a.id);
  EXPECT_EQ(a2.generation, a.generation);
  EXPECT_NE(b2.transport, b.transport);
  EXPECT_TRUE(b2.transport->insecure_skip_verify);
  EXPECT_TRUE(b2.id != b.id || b2.generation != b.generation);
  EXPECT_EQ(service(again, "plain")->servers[0].id, plain.id);
}

TEST(TransportBuild, BadTransportsDisableTheirServices) {
  config::Configuration cfg;
  cfg.http.servers_transports["noca"].root_cas = {"/nonexistent/ca.pem"};
  cfg.http.servers_transports["nokey"].certificates = {
      {"/nonexistent/c.pem", "/nonexistent/k.pem"}};
  cfg.http.servers_transports["spiffe"].spiffe = true;
  cfg.http.servers_transports["cipher"].cipher_suites = {"TLS_NOT_A_SUITE"};
  cfg.http.servers_transports["decoded"].provider_error = "d.yml:3:7: bad";
  struct Case {
    std::string transport;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"noca", "serversTransport `noca`: rootCAs: "},
      {"nokey", "serversTransport `nokey`: certificates: "},
      {"spiffe", "spiffe is not supported"},
      {"cipher", "TLS_NOT_A_SUITE"},
      {"decoded", "d.yml:3:7: bad"},
      {"absent", "serversTransport `absent` does not exist"},
  };
  for (const auto& c : cases) {
    cfg.http.services["s-" + c.transport] = lb("https://127.0.0.1:9", c.transport);
  }
  TableBuilder builder({"web"});
  auto built = builder.build(cfg);
  std::map<std::string, std::string> errors;
  for (const auto& e : built.errors) errors[e.name] = e.message;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.transport);
    EXPECT_NE(errors["s-" + c.transport].find(c.error), std::string::npos)
        << errors["s-" + c.transport];
  }
}

TEST(TransportBuild, H2cIsServedAndOtherSchemesAreRefused) {
  config::Configuration cfg;
  cfg.http.services["s"] = lb("h2c://127.0.0.1:9", "");
  cfg.http.services["t"] = lb("ws://127.0.0.1:9", "");
  TableBuilder builder({"web"});
  auto built = builder.build(cfg);
  ASSERT_EQ(built.errors.size(), 1u);
  EXPECT_EQ(built.errors[0].name, "t");
  EXPECT_NE(built.errors[0].message.find("must start with http://, https:// or h2c://"),
            std::string::npos);
}

}  // namespace
}  // namespace portier::proxy
