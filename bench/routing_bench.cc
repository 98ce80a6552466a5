// Route lookup cost against the number of routers (Google Benchmark). Each router is
// Host(`svc-N.example.com`) && PathPrefix(`/`), plus a few host-less routers, as a Docker host
// with many labelled containers would have. The lookup is what a request pays: host
// normalization plus EntryPointRoutes::match.
//
//   build/bench/routing_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <string>

#include "proxy/routing_table.h"

namespace {

using namespace portier;

std::shared_ptr<const proxy::RoutingTable> make_table(int routers) {
  config::Configuration cfg;
  config::Service svc;
  svc.load_balancer = config::LoadBalancer{{{"http://127.0.0.1:9"}}, true};
  cfg.http.services["svc"] = svc;
  for (int i = 0; i < routers; ++i) {
    config::Router r;
    r.rule = "Host(`svc-" + std::to_string(i) + ".example.com`) && PathPrefix(`/`)";
    r.service = "svc";
    cfg.http.routers["r" + std::to_string(i)] = r;
  }
  for (const char* rule : {"PathPrefix(`/.well-known/acme-challenge/`)", "Path(`/ping`)",
                           "HostRegexp(`^admin\\.`) && PathPrefix(`/`)"}) {
    config::Router r;
    r.rule = rule;
    r.service = "svc";
    cfg.http.routers[rule] = r;
  }
  proxy::TableBuilder builder({"web"});
  return builder.build(cfg).table;
}

void BM_Lookup(benchmark::State& state) {
  const int routers = static_cast<int>(state.range(0));
  auto table = make_table(routers);
  const proxy::EntryPointRoutes* ep = table->entrypoint(0);
  std::vector<std::string> hosts;
  for (int i = 0; i < 1024; ++i) {
    hosts.push_back("SVC-" + std::to_string((i * 7919) % routers) + ".Example.com:8000");
  }
  const auto peer = boost::asio::ip::make_address("127.0.0.1");
  std::size_t i = 0, matched = 0;
  for (auto _ : state) {
    const std::string& h = hosts[i++ & 1023];
    char buf[256];
    std::size_t n = proxy::normalize_host(h, buf);
    rules::Request req{std::string_view(buf, n), "GET", "/api/users/42", "", {}, peer};
    const proxy::Route* r = ep->match(req);
    matched += r != nullptr;
    benchmark::DoNotOptimize(r);
  }
  if (matched != static_cast<std::size_t>(state.iterations())) state.SkipWithError("no match");
}
BENCHMARK(BM_Lookup)->Arg(10)->Arg(100)->Arg(1000)->Arg(10000);

// A miss falls through to the host-less routers: the worst case for a request.
void BM_LookupMiss(benchmark::State& state) {
  auto table = make_table(static_cast<int>(state.range(0)));
  const proxy::EntryPointRoutes* ep = table->entrypoint(0);
  const auto peer = boost::asio::ip::make_address("127.0.0.1");
  for (auto _ : state) {
    char buf[256];
    std::size_t n = proxy::normalize_host("unknown.example.org", buf);
    rules::Request req{std::string_view(buf, n), "GET", "/x", "", {}, peer};
    benchmark::DoNotOptimize(ep->match(req));
  }
}
BENCHMARK(BM_LookupMiss)->Arg(10)->Arg(10000);

}  // namespace

BENCHMARK_MAIN();
