// Per-server state that outlives table swaps: server ids recycled by the table builder (with a
// new generation each time), the workers' per-id state that must not leak from a retired owner
// of an id to its new one, and passive marks that a passing health check clears.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <set>

#include "proxy/routing_table.h"
#include "proxy/worker_state.h"

namespace portier::proxy {
namespace {

config::Configuration with_servers(const std::vector<std::string>& urls) {
  config::Configuration cfg;
  config::Service s;
  s.load_balancer.emplace();
  for (const auto& u : urls) s.load_balancer->servers.push_back({u, 1});
  cfg.http.services["s"] = s;
  cfg.http.routers["r"] = config::Router{.rule = "PathPrefix(`/`)", .service = "s"};
  return cfg;
}

const ServiceTarget& service_of(const BuildResult& b) {
  rules::Request req{"x", "GET", "/", {}, {}, boost::asio::ip::make_address("127.0.0.1")};
  return *b.table->entrypoint(0)->match(req)->service;
}

// Docker churn: every build brings new backend URLs. Ids (which index every worker's pools and
// counters) stay as few as the largest configuration needs instead of one per URL ever seen.
TEST(ServerIds, IdsOfUrlsThatLeftAreReusedWithANewGeneration) {
  TableBuilder builder({"web"});
  std::set<std::uint64_t> generations;
  std::uint32_t max_id = 0;
  for (int round = 0; round < 50; ++round) {
    std::vector<std::string> urls;
    for (int i = 0; i < 4; ++i) {
      urls.push_back("http://127.0.0." + std::to_string(1 + round % 200) + ":" +
                     std::to_string(9000 + i));
    }
    auto built = builder.build(with_servers(urls));
    ASSERT_TRUE(built.errors.empty()) << built.errors.front().message;
    max_id = std::max(max_id, built.table->max_server_id());
    for (const auto& s : service_of(built).servers) generations.insert(s.generation);
  }
  EXPECT_LT(max_id, 8u) << "ids grew with every URL ever seen";
  EXPECT_EQ(generations.size(), 200u) << "each new URL gets its own generation";
}

TEST(ServerIds, AServerThatStaysKeepsItsIdAndGeneration) {
  TableBuilder builder({"web"});
  auto first = builder.build(with_servers({"http://127.0.0.1:9001", "http://127.0.0.1:9002"}));
  auto second = builder.build(with_servers({"http://127.0.0.1:9002", "http://127.0.0.1:9003"}));
  const ServerTarget& kept_before = service_of(first).servers[1];
  const ServerTarget& kept_after = service_of(second).servers[0];
  EXPECT_EQ(kept_before.id, kept_after.id);
  EXPECT_EQ(kept_before.generation, kept_after.generation);
  const ServerTarget& gone = service_of(first).servers[0];
  const ServerTarget& added = service_of(second).servers[1];
  EXPECT_EQ(added.id, gone.id) << "the freed id is reused";
  EXPECT_GT(added.generation, gone.generation);
}

struct WorkerFixture {
  boost::asio::io_context io;
  config::ServersTransport transport;
  WorkerState worker{io.get_executor(), transport, "host"};
};

TEST(WorkerServerState, ARetiredOwnerOfAnIdLeavesNothingToItsSuccessor) {
  WorkerFixture f;
  ServerTarget old_owner;
  old_owner.id = 3;
  old_owner.generation = 5;
  ServerTarget new_owner = old_owner;
  new_owner.generation = 9;

  f.worker.begin_request(old_owner);
  f.worker.begin_request(old_owner);
  f.worker.mark_down(old_owner, std::chrono::seconds(10));
  EXPECT_EQ(f.worker.in_flight(old_owner), 2u);
  EXPECT_TRUE(f.worker.passively_down(old_owner));

  // The id now names another server: fresh state.
  EXPECT_EQ(f.worker.in_flight(new_owner), 0u);
  EXPECT_FALSE(f.worker.passively_down(new_owner));
  f.worker.begin_request(new_owner);
  // Requests of the old owner still finishing (on an older table) do not touch it.
  f.worker.end_request(old_owner);
  f.worker.end_request(old_owner);
  EXPECT_EQ(f.worker.in_flight(new_owner), 1u);
  f.worker.mark_down(old_owner, std::chrono::seconds(10));
  EXPECT_FALSE(f.worker.passively_down(new_owner));
}

TEST(WorkerServerState, APassingHealthCheckClearsAPassiveMark) {
  WorkerFixture f;
  auto health = std::make_shared<ServerHealth>();
  ServerTarget s;
  s.id = 1;
  s.health = health;
  health->passes.store(7);
  f.worker.mark_down(s, std::chrono::seconds(10));
  EXPECT_TRUE(f.worker.passively_down(s));
  health->passes.fetch_add(1);  // a probe passed after the mark
  EXPECT_FALSE(f.worker.passively_down(s));

  ServerTarget unchecked;  // no active check: only time clears the mark
  unchecked.id = 2;
  f.worker.mark_down(unchecked, std::chrono::seconds(10));
  EXPECT_TRUE(f.worker.passively_down(unchecked));
  f.worker.mark_down(unchecked, std::chrono::seconds(0));
  EXPECT_FALSE(f.worker.passively_down(unchecked));
}

}  // namespace
}  // namespace portier::proxy
