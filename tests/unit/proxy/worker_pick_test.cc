// WorkerState::pick: strategies as compiled by the table builder, sticky cookies, passive
// marks, exclusion of a failed server. No sockets: the worker's executor is never run.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <set>

#include "proxy/routing_table.h"
#include "proxy/worker_state.h"

namespace portier::proxy {
namespace {

const char* const kUrls[] = {"http://127.0.0.1:9001", "http://127.0.0.1:9002",
                             "http://127.0.0.1:9003"};

struct Fixture {
  boost::asio::io_context io;
  config::ServersTransport transport;
  WorkerState worker{io.get_executor(), transport, "host"};
  TableBuilder builder{std::vector<std::string>{"web"}};
  BuildResult built;
  const ServiceTarget* service = nullptr;

  explicit Fixture(const std::string& strategy, bool sticky = false) {
    config::Configuration cfg;
    config::LoadBalancer lb;
    for (const char* u : kUrls) lb.servers.push_back({u});
    lb.strategy = strategy;
    if (sticky) lb.sticky = config::StickyCookie{.name = "lb"};
    cfg.http.services["s"].load_balancer = lb;
    cfg.http.routers["r"] = config::Router{.rule = "PathPrefix(`/`)", .service = "s"};
    built = builder.build(cfg);
    EXPECT_TRUE(built.errors.empty()) << built.errors.front().message;
    worker.on_table(*built.table);
    rules::Request req{"x", "GET", "/", {}, {}, boost::asio::ip::make_address("127.0.0.1")};
    service = built.table->entrypoint(0)->match(req)->service;
  }
  std::size_t index(const ServerTarget* s) const {
    return s == nullptr ? 9 : static_cast<std::size_t>(s - service->servers.data());
  }
};

TEST(WorkerPick, UnknownStrategyDisablesTheService) {
  TableBuilder builder{std::vector<std::string>{"web"}};
  config::Configuration cfg;
  config::LoadBalancer lb;
  lb.servers.push_back({kUrls[0]});
  lb.strategy = "leasttime";
  cfg.http.services["s"].load_balancer = lb;
  auto built = builder.build(cfg);
  ASSERT_EQ(built.errors.size(), 1u);
  EXPECT_NE(built.errors[0].message.find("`leasttime` is not supported"), std::string::npos);
}

TEST(WorkerPick, PassiveMarksAndExclusion) {
  struct Case {
    std::string name;
    std::vector<std::size_t> down;  // marked down passively
    int exclude = -1;
    std::set<std::size_t> allowed;
  };
  const std::vector<Case> cases = {
      {"all fine", {}, -1, {0, 1, 2}},
      {"one down", {1}, -1, {0, 2}},
      {"two down", {0, 2}, -1, {1}},
      {"all down: marks ignored", {0, 1, 2}, -1, {0, 1, 2}},
      {"excluded and down", {0}, 1, {2}},
      {"all but the excluded down: marks ignored", {0, 2}, 1, {0, 2}},
  };
  for (const char* strategy : {"wrr", "p2c", "hrw"}) {
    for (const auto& c : cases) {
      SCOPED_TRACE(std::string(strategy) + ": " + c.name);
      Fixture f(strategy);
      for (std::size_t d : c.down) f.worker.mark_down(f.service->servers[d], std::chrono::hours(1));
      WorkerState::PickRequest req{"192.0.2.1", nullptr, nullptr};
      if (c.exclude >= 0) req.exclude = &f.service->servers[c.exclude];
      for (int k = 0; k < 30; ++k) {
        req.client_ip = k % 2 ? "192.0.2.1" : "198.51.100.7";
        auto pick = f.worker.pick(*f.service, req);
        EXPECT_TRUE(c.allowed.count(f.index(pick.server))) << f.index(pick.server);
        EXPECT_FALSE(pick.set_cookie);
      }
    }
  }
}

TEST(WorkerPick, StickyCookie) {
  Fixture f("wrr", true);
  const auto& servers = f.service->servers;
  EXPECT_NE(servers[0].sticky_value, servers[1].sticky_value);
  http::Fields fields;
  std::string cookie;
  auto pick_with = [&](const std::string& value) {
    cookie = "a=b; lb=" + value;
    fields.count = 0;
    fields.push({"Cookie", cookie});
    return f.worker.pick(*f.service, {"192.0.2.1", &fields, nullptr});
  };
  struct Case {
    std::string name;
    std::string value;
    std::vector<std::size_t> down;
    std::set<std::size_t> allowed;
    bool set_cookie;
  };
  const std::vector<Case> cases = {
      {"valid cookie", servers[2].sticky_value, {}, {2}, false},
      {"unknown cookie", "0000000000000000", {}, {0, 1, 2}, true},
      {"its server down", servers[2].sticky_value, {2}, {0, 1}, true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    for (std::size_t d : c.down) f.worker.mark_down(servers[d], std::chrono::hours(1));
    for (int k = 0; k < 10; ++k) {
      auto pick = pick_with(c.value);
      EXPECT_TRUE(c.allowed.count(f.index(pick.server))) << f.index(pick.server);
      EXPECT_EQ(pick.set_cookie, c.set_cookie);
    }
  }
  // No Cookie field at all: balanced, and the cookie is set.
  fields.count = 0;
  EXPECT_TRUE(f.worker.pick(*f.service, {"192.0.2.1", &fields, nullptr}).set_cookie);
}

}  // namespace
}  // namespace portier::proxy
