// Route matching: host index, priorities, the merge of host and any-host routes, build errors.
#include "proxy/routing_table.h"

#include <gtest/gtest.h>

namespace portier::proxy {
namespace {

config::Configuration make_config(
    const std::vector<std::tuple<std::string, std::string, int>>& routers) {
  config::Configuration cfg;
  config::Service svc;
  svc.load_balancer = config::LoadBalancer{{{"http://127.0.0.1:9"}}, true};
  cfg.http.services["svc"] = svc;
  for (const auto& [name, rule, prio] : routers) {
    config::Router r;
    r.rule = rule;
    r.priority = prio;
    r.service = "svc";
    cfg.http.routers[name] = r;
  }
  return cfg;
}

// Matches the way the session does: host normalized, path as given.
const Route* match(const EntryPointRoutes* ep, std::string_view host, std::string_view path,
                   std::string_view method = "GET") {
  char buf[256];
  std::size_t n = normalize_host(host, buf);
  rules::Request req{
      std::string_view(buf, n), method, path, {}, {}, boost::asio::ip::make_address("127.0.0.1")};
  return ep->match(req);
}

TEST(RoutingTable, Matching) {
  TableBuilder builder({"web"});
  auto built = builder.build(make_config({
      {"exact", "Host(`whoami.localhost`)", 0},
      {"api", "Host(`whoami.localhost`) && PathPrefix(`/api`)", 0},
      {"multi", "Host(`a.example`) || Host(`B.example`)", 0},
      {"posts", "Host(`whoami.localhost`) && Method(`POST`)", 0},
      {"catchall", "PathPrefix(`/`)", 1},
      {"static", "PathPrefix(`/static/very/long/prefix/of/things`)", 0},
      {"exactpath", "Path(`/exact`)", 100},
  }));
  ASSERT_TRUE(built.errors.empty()) << built.errors[0].message;
  const EntryPointRoutes* ep = built.table->entrypoint(0);
  ASSERT_NE(ep, nullptr);
  struct Case {
    std::string host, path, want;
  };
  const std::vector<Case> cases = {
      {"whoami.localhost", "/", "exact"},
      {"WHOAMI.localhost:8000", "/x", "exact"},  // case and port ignored
      {"whoami.localhost.", "/x", "exact"},      // trailing dot ignored
      {"whoami.localhost", "/api/v1", "api"},    // longer rule wins
      {"a.example", "/", "multi"},
      {"b.example", "/", "multi"},
      {"other", "/", "catchall"},
      {"", "/", "catchall"},
      {"other", "/exact", "exactpath"},
      {"whoami.localhost", "/exact", "exactpath"},  // explicit priority 100 beats length
      {"whoami.localhost", "/", "exact"},
      // Any-host route with a longer rule beats the host route (Traefik orders all by priority).
      {"whoami.localhost", "/static/very/long/prefix/of/things/x", "static"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.host + c.path);
    const Route* r = match(ep, c.host, c.path);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->name, c.want);
  }
  EXPECT_EQ(match(ep, "whoami.localhost", "/", "POST")->name, "posts");
  EXPECT_EQ(match(ep, "whoami.localhost", "/", "GET")->name, "exact");
}

TEST(NormalizeHost, Forms) {
  struct Case {
    std::string in, out;
  };
  const std::vector<Case> cases = {{"Example.com:8080", "example.com"},
                                   {"example.com.", "example.com"},
                                   {"example.com.:80", "example.com"},
                                   {"[::1]:80", "::1"},
                                   {"[::1]", "::1"},
                                   {"[10::10]:8080", "10::10"},
                                   {"A", "a"},
                                   {"", ""},
                                   {std::string(300, 'x'), ""}};  // too long to route on
  for (const auto& c : cases) {
    SCOPED_TRACE(c.in);
    char buf[256];
    std::size_t n = normalize_host(c.in, buf);
    EXPECT_EQ(std::string(buf, n), c.out);
  }
}

TEST(RoutingTable, NoMatch) {
  TableBuilder builder({"web"});
  auto built = builder.build(make_config({{"exact", "Host(`a`)", 0}}));
  EXPECT_EQ(match(built.table->entrypoint(0), "b", "/"), nullptr);
  EXPECT_EQ(built.table->entrypoint(1), nullptr);
}

TEST(RoutingTable, TiesBreakByName) {
  TableBuilder builder({"web"});
  auto built = builder.build(make_config({{"b", "Host(`x`)", 5}, {"a", "Host(`x`)", 5}}));
  EXPECT_EQ(match(built.table->entrypoint(0), "x", "/")->name, "a");
}

TEST(RoutingTable, InvalidObjectsAreDisabledOthersWork) {
  auto cfg = make_config(
      {{"good", "Host(`a`)", 0}, {"badrule", "Host(`a`", 0}, {"unknown", "Foo(`GET`)", 0}});
  config::Router missing;
  missing.rule = "Host(`m`)";
  missing.service = "nope";
  cfg.http.routers["missing"] = missing;
  config::Router bad_ep;
  bad_ep.rule = "Host(`e`)";
  bad_ep.service = "svc";
  bad_ep.entry_points = {"websecure"};
  cfg.http.routers["badep"] = bad_ep;
  config::Service bad_url;
  bad_url.load_balancer = config::LoadBalancer{{{"ftp://x"}}, true};
  cfg.http.services["badurl"] = bad_url;
  TableBuilder builder({"web"});
  auto built = builder.build(cfg);
  ASSERT_EQ(built.errors.size(), 5u);
  std::set<std::string> objects;
  for (const auto& e : built.errors) objects.insert(e.object());
  EXPECT_TRUE(objects.count("router badrule"));
  EXPECT_TRUE(objects.count("router unknown"));
  EXPECT_TRUE(objects.count("router missing"));
  EXPECT_TRUE(objects.count("router badep"));
  EXPECT_TRUE(objects.count("service badurl"));
  EXPECT_EQ(match(built.table->entrypoint(0), "a", "/")->name, "good");
}

TEST(RoutingTable, NotYetSupportedIsSaidNotIgnoredAndTlsRoutersAreTlsOnly) {
  auto cfg = make_config({{"plain", "Host(`a`)", 0}});
  config::Router tls_router;
  tls_router.rule = "Host(`s`)";
  tls_router.service = "svc";
  tls_router.tls = config::RouterTls{};
  cfg.http.routers["secure"] = tls_router;
  config::Router v2 = tls_router;
  v2.tls.reset();
  v2.rule_syntax = "v2";
  cfg.http.routers["old"] = v2;
  config::Service st;
  st.load_balancer = config::LoadBalancer{{{"http://127.0.0.1:9"}}, true, "custom"};
  cfg.http.services["transported"] = st;
  TableBuilder builder({"web"});
  auto built = builder.build(cfg);
  std::map<std::string, std::string> errors;
  for (const auto& e : built.errors) errors[e.object()] = e.message;
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_NE(errors["router old"].find("ruleSyntax `v2`"), std::string::npos);
  EXPECT_NE(errors["service transported"].find("serversTransport `custom` does not exist"),
            std::string::npos);
  EXPECT_EQ(match(built.table->entrypoint(0), "s", "/"), nullptr);  // not served over plain HTTP
  EXPECT_NE(match(built.table->entrypoint(0, true), "s", "/"), nullptr);
  EXPECT_NE(match(built.table->entrypoint(0), "a", "/"), nullptr);
  EXPECT_EQ(match(built.table->entrypoint(0, true), "a", "/"), nullptr);
  EXPECT_TRUE(built.table->tls_enabled(0));
}

TEST(RoutingTable, ServerIdsSurviveRebuilds) {
  TableBuilder builder({"web"});
  auto one = builder.build(make_config({{"r", "Host(`a`)", 0}}));
  auto two = builder.build(make_config({{"r", "Host(`a`)", 0}}));
  const Route* r1 = match(one.table->entrypoint(0), "a", "/");
  const Route* r2 = match(two.table->entrypoint(0), "a", "/");
  EXPECT_EQ(r1->service->servers[0].id, r2->service->servers[0].id);
  EXPECT_EQ(r1->service->servers[0].endpoint.port(), 9);
}

}  // namespace
}  // namespace portier::proxy
