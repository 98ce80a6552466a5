// The cache middleware's store: one store shared by every worker (what portier does) against
// one store per worker, on the hit path's lookup (Google Benchmark). Each thread stands for a
// worker; every lookup hits. With one thread the two are the same code; with two, the shared
// store's mutex is contended and the per-worker store's is not.
//
//   build/bench/cache_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "proxy/middlewares/http_cache.h"

namespace {

using namespace portier::proxy::cache;

constexpr int kKeys = 1000;

std::shared_ptr<Store> filled() {
  auto s = std::make_shared<Store>(std::size_t{1} << 30, std::size_t{1} << 20);
  for (int i = 0; i < kKeys; ++i) {
    auto e = std::make_shared<Entry>();
    e->body.assign(1000, 'x');
    e->vary = {{"accept-encoding", "gzip"}};
    s->insert("app.example.com/page/" + std::to_string(i), e);
  }
  return s;
}

std::shared_ptr<Store> shared_store = filled();
std::vector<std::shared_ptr<Store>> own_stores = {filled(), filled(), filled(), filled()};

void lookups(benchmark::State& state, Store& store) {
  std::vector<std::string> keys;
  for (int i = 0; i < kKeys; ++i) keys.push_back("app.example.com/page/" + std::to_string(i));
  const FieldLookup request = [](std::string_view) -> std::optional<std::string_view> {
    return std::string_view("gzip");
  };
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 7;
  for (auto _ : state) {
    auto e = store.find(keys[i++ % keys.size()], request);
    benchmark::DoNotOptimize(e);
  }
}

void BM_SharedStore(benchmark::State& state) { lookups(state, *shared_store); }
void BM_StorePerWorker(benchmark::State& state) {
  lookups(state, *own_stores[static_cast<std::size_t>(state.thread_index()) % own_stores.size()]);
}

BENCHMARK(BM_SharedStore)->ThreadRange(1, 2)->UseRealTime();
BENCHMARK(BM_StorePerWorker)->ThreadRange(1, 2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
