// Weighted, failover and mirroring services: compiled by the table builder (references, cycles,
// missing children) and walked by WorkerState::resolve. No sockets: the executor never runs.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <map>

#include "proxy/routing_table.h"
#include "proxy/worker_state.h"

namespace portier::proxy {
namespace {

using config::Configuration;

config::Service lb(const std::string& url, int weight = 1) {
  config::Service s;
  s.load_balancer.emplace();
  s.load_balancer->servers.push_back({url, weight});
  return s;
}
config::Service weighted(std::vector<config::WeightedService> children) {
  config::Service s;
  s.weighted = config::Weighted{std::move(children), std::nullopt, false};
  return s;
}
config::Service failover(const std::string& main, const std::string& fallback) {
  config::Service s;
  s.failover = config::Failover{main, fallback, false};
  return s;
}
config::Service mirroring(const std::string& main, std::vector<config::Mirror> mirrors) {
  config::Service s;
  s.mirroring = config::Mirroring{main, true, -1, std::move(mirrors), false};
  return s;
}

struct Fixture {
  boost::asio::io_context io;
  config::ServersTransport transport;
  WorkerState worker{io.get_executor(), transport, "host"};
  TableBuilder builder{std::vector<std::string>{"web"}};
  BuildResult built;
  std::map<std::string, std::string> errors;  // service or router -> message

  explicit Fixture(Configuration cfg) {
    cfg.http.routers["r"] = config::Router{.rule = "PathPrefix(`/`)", .service = "top"};
    built = builder.build(cfg);
    for (const auto& e : built.errors) errors[e.name] = e.message;
    worker.on_table(*built.table);
  }
  const ServiceTarget* top() const {
    rules::Request req{"x", "GET", "/", {}, {}, boost::asio::ip::make_address("127.0.0.1")};
    const Route* r = built.table->entrypoint(0)->match(req);
    return r ? r->service : nullptr;
  }
  // Which load balancer (by its server's port) takes each of n requests.
  std::map<std::string, int> spread(int n) {
    std::map<std::string, int> out;
    for (int i = 0; i < n; ++i) {
      std::string cookies;
      const ServiceTarget* s = worker.resolve(*top(), {"127.0.0.1", nullptr, nullptr}, cookies);
      ++out[s ? s->name : "none"];
    }
    return out;
  }
};

TEST(CompositeServices, ReferenceErrorsDisableTheService) {
  struct Case {
    std::string name;
    std::map<std::string, config::Service> services;
    std::map<std::string, std::string> errors;  // object -> substring of its error
  };
  const std::vector<Case> cases = {
      {"missing child",
       {{"top", weighted({{"a", 1}, {"ghost", 1}})}, {"a", lb("http://127.0.0.1:9001")}},
       {{"top", "weighted.services: service `ghost` does not exist"},
        {"r", "service `top` does not exist or is disabled"}}},
      {"missing fallback",
       {{"top", failover("a", "")}, {"a", lb("http://127.0.0.1:9001")}},
       {{"top", "failover.fallback is not set"}}},
      {"cycle of two",
       {{"top", failover("b", "a")}, {"a", lb("http://127.0.0.1:9001")},
        {"b", weighted({{"top", 1}})}},
       // Services are compiled in name order: b first, so the cycle is told from b.
       {{"top", "services form a cycle: b -> top -> b"},
        {"b", "services form a cycle: b -> top -> b"},
        {"r", "service `top` does not exist or is disabled"}}},
      {"self reference", {{"top", mirroring("a", {{"top", 10}})}, {"a", lb("http://127.0.0.1:9001")}},
       {{"top", "services form a cycle: top -> top"}}},
      {"disabled child",
       {{"top", failover("a", "bad")}, {"a", lb("http://127.0.0.1:9001")},
        {"bad", lb("ftp://127.0.0.1:1")}},
       {{"bad", "must start with http://"},
        {"top", "failover.fallback: service `bad` is disabled"}}},
      {"parent of a cycle",
       {{"top", weighted({{"c1", 1}})}, {"c1", failover("c2", "c2")},
        {"c2", failover("c1", "c1")}},
       {{"top", "weighted.services: service `c1` is disabled"},
        {"c1", "services form a cycle"},
        {"c2", "services form a cycle"}}},
      {"empty weighted", {{"top", weighted({})}}, {{"top", "weighted.services is empty"}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Configuration cfg;
    for (const auto& [n, s] : c.services) cfg.http.services[n] = s;
    Fixture f(cfg);
    EXPECT_EQ(f.top(), nullptr) << "the router must be disabled";
    for (const auto& [object, msg] : c.errors) {
      ASSERT_TRUE(f.errors.count(object)) << object << " has no error";
      EXPECT_NE(f.errors[object].find(msg), std::string::npos) << f.errors[object];
    }
  }
}

TEST(CompositeServices, WeightedIsSmoothAndSkipsUnavailableChildren) {
  Configuration cfg;
  cfg.http.services["top"] = weighted({{"a", 3}, {"b", 1}, {"off", 0}});
  cfg.http.services["a"] = lb("http://127.0.0.1:9001");
  cfg.http.services["b"] = lb("http://127.0.0.1:9002");
  cfg.http.services["off"] = lb("http://127.0.0.1:9003");
  Fixture f(cfg);
  ASSERT_TRUE(f.errors.empty()) << f.errors.begin()->second;
  auto n = f.spread(4000);
  EXPECT_EQ(n["a"], 3000);
  EXPECT_EQ(n["b"], 1000);
  EXPECT_EQ(n.count("off"), 0u) << "weight 0: no traffic";

  // b's only server is passively down on this worker: a takes everything.
  const ServiceTarget* b = f.top()->children[1].service;
  f.worker.mark_down(b->servers[0], std::chrono::seconds(10));
  n = f.spread(100);
  EXPECT_EQ(n["a"], 100);
}

TEST(CompositeServices, WeightedWithNoAvailableChildIsNull) {
  Configuration cfg;
  cfg.http.services["top"] = weighted({{"a", 1}});
  cfg.http.services["a"] = lb("http://127.0.0.1:9001", 0);  // weighted out
  Fixture f(cfg);
  EXPECT_EQ(f.spread(3)["none"], 3);
}

TEST(CompositeServices, FailoverFollowsAvailability) {
  Configuration cfg;
  cfg.http.services["top"] = failover("main", "spare");
  cfg.http.services["main"] = lb("http://127.0.0.1:9001");
  cfg.http.services["spare"] = lb("http://127.0.0.1:9002");
  Fixture f(cfg);
  EXPECT_EQ(f.spread(10)["main"], 10);
  const ServiceTarget* main = f.top()->children[0].service;
  const ServiceTarget* spare = f.top()->children[1].service;
  f.worker.mark_down(main->servers[0], std::chrono::seconds(10));
  EXPECT_EQ(f.spread(10)["spare"], 10);
  // Both passively down: passive marks are ignored and main gets the try.
  f.worker.mark_down(spare->servers[0], std::chrono::seconds(10));
  EXPECT_EQ(f.spread(10)["main"], 10);
  f.worker.mark_down(main->servers[0], std::chrono::seconds(0));
  f.worker.mark_down(spare->servers[0], std::chrono::seconds(0));
  EXPECT_EQ(f.spread(10)["main"], 10) << "marks expire";
}

TEST(CompositeServices, NestedWeightedOfFailoverAndMirroring) {
  Configuration cfg;
  cfg.http.services["top"] = weighted({{"fo", 1}, {"mir", 1}});
  cfg.http.services["fo"] = failover("a", "b");
  cfg.http.services["mir"] = mirroring("c", {{"b", 50}});
  cfg.http.services["a"] = lb("http://127.0.0.1:9001");
  cfg.http.services["b"] = lb("http://127.0.0.1:9002");
  cfg.http.services["c"] = lb("http://127.0.0.1:9003");
  Fixture f(cfg);
  ASSERT_TRUE(f.errors.empty()) << f.errors.begin()->second;
  auto n = f.spread(100);
  EXPECT_EQ(n["a"], 50);
  EXPECT_EQ(n["c"], 50);
  const ServiceTarget* a = f.top()->children[0].service->children[0].service;
  f.worker.mark_down(a->servers[0], std::chrono::seconds(10));
  n = f.spread(100);
  EXPECT_EQ(n["b"], 50) << "the failover inside the weighted service moved to its fallback";
  EXPECT_EQ(n["c"], 50);

  // resolve reports the mirroring services it passed.
  std::vector<const ServiceTarget*> mirrorings;
  int seen = 0;
  for (int i = 0; i < 10; ++i) {
    mirrorings.clear();
    std::string cookies;
    f.worker.resolve(*f.top(), {"127.0.0.1", nullptr, nullptr}, cookies, &mirrorings);
    seen += static_cast<int>(mirrorings.size());
  }
  EXPECT_EQ(seen, 5);
}

TEST(CompositeServices, MirrorPercentIsExactPerWorker) {
  Configuration cfg;
  cfg.http.services["top"] = mirroring("a", {{"b", 50}, {"c", 7}, {"d", 100}, {"e", 0}});
  cfg.http.services["a"] = lb("http://127.0.0.1:9001");
  cfg.http.services["b"] = lb("http://127.0.0.1:9002");
  cfg.http.services["c"] = lb("http://127.0.0.1:9003");
  cfg.http.services["d"] = lb("http://127.0.0.1:9004");
  cfg.http.services["e"] = lb("http://127.0.0.1:9005");
  Fixture f(cfg);
  ASSERT_TRUE(f.errors.empty()) << f.errors.begin()->second;
  std::map<std::string, int> copies;
  std::vector<const ServiceTarget*> out;
  for (int i = 0; i < 1000; ++i) {
    out.clear();
    f.worker.choose_mirrors(*f.top(), out);
    for (const auto* s : out) ++copies[s->name];
  }
  EXPECT_EQ(copies["b"], 500);
  EXPECT_EQ(copies["c"], 70);
  EXPECT_EQ(copies["d"], 1000);
  EXPECT_EQ(copies.count("e"), 0u);
  EXPECT_EQ(f.top()->mirror_body_limit, kMirrorBodyCeiling) << "maxBodySize -1";
}

TEST(CompositeServices, WeightedStickyCookie) {
  Configuration cfg;
  cfg.http.services["top"] = weighted({{"a", 1}, {"b", 1}});
  cfg.http.services["top"].weighted->sticky = config::StickyCookie{.name = "w"};
  cfg.http.services["a"] = lb("http://127.0.0.1:9001");
  cfg.http.services["b"] = lb("http://127.0.0.1:9002");
  Fixture f(cfg);
  std::string cookies;
  const ServiceTarget* first = f.worker.resolve(*f.top(), {"127.0.0.1", nullptr, nullptr}, cookies);
  ASSERT_NE(first, nullptr);
  ASSERT_EQ(cookies.rfind("Set-Cookie: w=", 0), 0u) << cookies;
  const std::string value = cookies.substr(14, cookies.find(';') - 14);
  // A request carrying the cookie keeps going to the same child, without a new cookie.
  const std::string raw = "GET / HTTP/1.1\r\nHost: x\r\nCookie: w=" + value + "\r\n\r\n";
  http::RequestHead head;
  ASSERT_EQ(http::parse_request_head(raw, http::Limits{}, head).status, http::ParseStatus::Complete);
  for (int i = 0; i < 10; ++i) {
    cookies.clear();
    EXPECT_EQ(f.worker.resolve(*f.top(), {"127.0.0.1", &head.fields, nullptr}, cookies), first);
    EXPECT_TRUE(cookies.empty());
  }
}

}  // namespace
}  // namespace portier::proxy

namespace portier::proxy {
namespace {

// api@internal: a router's service answers in process; other services may not name it.
TEST(InternalServices, RoutersGetTheHandlerAndCompositesAreRefused) {
  Configuration cfg;
  cfg.http.services["api@internal"];  // no kind: listed for the API only
  cfg.http.services["a@file"] = lb("http://127.0.0.1:9001");
  cfg.http.services["w@file"] = weighted({{"api@internal", 1}, {"a@file", 1}});
  cfg.http.services["f@file"] = failover("a@file", "api@internal");
  cfg.http.services["m@file"] = mirroring("api@internal", {});
  cfg.http.routers["dash@file"] =
      config::Router{.rule = "Host(`api.localhost`)", .service = "api@internal"};
  cfg.http.routers["wr@file"] = config::Router{.rule = "Host(`w.localhost`)", .service = "w@file"};
  TableBuilder builder{std::vector<std::string>{"web"}};
  int calls = 0;
  builder.set_internal_service("api@internal", [&](const Stream& s, LocalResponse& out) {
    ++calls;
    out.status = 200;
    out.body = std::string(s.path);
    out.body_set = true;
  });
  BuildResult built = builder.build(cfg);
  std::map<std::string, std::string> errors;
  for (const auto& e : built.errors) errors[e.name] = e.message;
  EXPECT_FALSE(errors.count("api@internal")) << errors["api@internal"];
  EXPECT_FALSE(errors.count("dash@file")) << errors["dash@file"];
  for (const char* s : {"w@file", "f@file", "m@file"}) {
    SCOPED_TRACE(s);
    ASSERT_TRUE(errors.count(s));
    EXPECT_NE(errors[s].find("service `api@internal` is internal"), std::string::npos) << errors[s];
  }
  EXPECT_NE(errors["w@file"].find("weighted.services"), std::string::npos);
  EXPECT_NE(errors["f@file"].find("failover.fallback"), std::string::npos);
  EXPECT_NE(errors["m@file"].find("mirroring.service"), std::string::npos);

  rules::Request req{
      "api.localhost", "GET", "/api/rawdata", {}, {}, boost::asio::ip::make_address("127.0.0.1")};
  const Route* r = built.table->entrypoint(0)->match(req);
  ASSERT_NE(r, nullptr);
  ASSERT_NE(r->service, nullptr);
  EXPECT_EQ(r->service->kind, ServiceKind::Internal);
  EXPECT_TRUE(r->service->servers.empty());
  Stream s;
  s.path = "/api/rawdata";
  LocalResponse out;
  r->service->internal(s, out);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(out.body, "/api/rawdata");

  // Without a registered handler the same entry is a service with nothing to serve it.
  TableBuilder plain{std::vector<std::string>{"web"}};
  BuildResult none = plain.build(cfg);
  bool refused = false;
  for (const auto& e : none.errors) refused = refused || e.name == "api@internal";
  EXPECT_TRUE(refused);
}

}  // namespace
}  // namespace portier::proxy
