// The resolver's manager thread: decides what is due (missing, renewal, retry), runs one order at
// a time, stores results. Everything the thread and the public methods share is under mu_; the
// network and the ChallengeTokens are used without holding it.
//
// Test hook: PORTIER_ACME_RETRY_BASE_MS (milliseconds) replaces the one-minute base of the retry
// backoff (base, 10x, 100x, then daily), so tests can see several retries in seconds.
#include "acme/manager.h"

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "acme/dns_solver.h"
#include "acme/manager_state.h"
#include "acme/redis_storage.h"
#include "common/log.h"

namespace portier::acme {
namespace {

constexpr std::chrono::milliseconds kLockTtl = std::chrono::minutes(2);

std::string random_token() {
  std::random_device rd;
  std::string out;
  for (int i = 0; i < 4; ++i) out += std::to_string(rd());
  return out;
}

}  // namespace

struct Manager::Impl {
  Impl(ResolverConfig c, tls::ChallengeTokens& t, std::function<void()> cb, tls::AlpnChallenges* a)
      : cfg(std::move(c)),
        tokens(t),
        alpn(a),
        on_change(std::move(cb)),
        state(cfg, retry_base_from_env()) {
    shared = dynamic_cast<RedisStorage*>(state.backend());
    if (shared != nullptr) shared_tokens = std::make_unique<SharedTokens>(tokens, *shared);
  }

  void run();
  void run_order(const Job& job);
  // Shared storage: takes the name set's order lock (waiting while another instance holds it),
  // then reloads. Go: order now, holding `lock_token`; Done: another instance stored it.
  enum class Gate { Go, Done, Failed, Stopping };
  Gate gate(const Job& job, std::string& lock_token, std::string& error);
  // Another instance changed the shared data (subscriber thread).
  void remote_changed();
  // Under mu: the routers' sets, the on-demand ones and (with onDemand) every stored one.
  void refresh_wanted();
  std::vector<std::vector<std::string>> router_sets, on_demand_sets;  // under mu
  void check_ari(const Job& job);
  bool ensure_client();
  bool ensure_solvers();
  // Sleeps up to `d`; false when stopping.
  bool wait(std::chrono::milliseconds d) {
    std::unique_lock lk(mu);
    return !cv.wait_for(lk, d, [&] { return stopping.load(); });
  }

  ResolverConfig cfg;
  tls::ChallengeTokens& tokens;
  tls::AlpnChallenges* alpn;
  std::function<void()> on_change;

  std::mutex mu;
  std::condition_variable cv;
  bool woken = false;  // set_domains() since the last schedule pass
  std::atomic<std::uint64_t> idle_passes{0};
  std::atomic<std::uint64_t> orders{0}, order_failures{0};  // for portier_acme_* metrics
  std::atomic<bool> stopping{false};
  std::thread thread;
  bool loaded = false;
  ResolverState state;  // under mu

  RedisStorage* shared = nullptr;  // the state's backend when it is Redis
  std::unique_ptr<SharedTokens> shared_tokens;

  // Manager thread only.
  std::unique_ptr<Transport> transport;
  std::unique_ptr<Client> client;
  std::vector<std::unique_ptr<Solver>> solvers;  // in lego's order of preference
};

bool Manager::Impl::ensure_solvers() {
  if (!solvers.empty()) return true;
  auto sleep = [this](std::chrono::milliseconds d) { return wait(d); };
  if (cfg.tls_challenge && alpn != nullptr) {
    solvers.push_back(make_tls_alpn_solver(*alpn, cfg.tls_delay, sleep));
  }
  if (!cfg.http_entrypoint.empty()) {
    // With a shared storage, tokens go through Redis so that any instance answers them.
    solvers.push_back(
        make_http_solver(shared_tokens ? *shared_tokens : tokens, cfg.http_delay, sleep));
  }
  if (!cfg.dns.provider.empty()) {
    auto dns = make_dns_solver(cfg.dns, sleep);
    if (!dns) {
      solvers.clear();
      std::lock_guard lk(mu);
      state.last_setup_error = dns.error().message;
      return false;
    }
    solvers.push_back(std::move(*dns));
  }
  if (solvers.empty()) {
    std::lock_guard lk(mu);
    state.last_setup_error =
        "no challenge is configured (httpChallenge, tlsChallenge, dnsChallenge)";
    return false;
  }
  return true;
}

bool Manager::Impl::ensure_client() {
  if (client) return true;
  auto t = make_curl_transport(cfg.ca_certificates, std::chrono::seconds(30), &stopping);
  if (!t) {
    std::lock_guard lk(mu);
    state.last_setup_error = t.error().message;
    return false;
  }
  transport = std::move(*t);
  client = std::make_unique<Client>(*transport, cfg.ca_server);
  return true;
}

void Manager::Impl::run() {
  std::unique_lock lk(mu);
  while (!stopping) {
    auto [job, next] = state.next_job(now_ms());
    if (!job) {
      idle_passes.fetch_add(1, std::memory_order_relaxed);
      log::debug("acme: no order due", {{"resolver", cfg.name}});
    }
    if (job) {
      lk.unlock();
      if (job->kind == Job::Kind::Order) {
        run_order(*job);
      } else {
        check_ari(*job);
      }
      lk.lock();
      continue;
    }
    // Wake at the earliest due time, at least every 12 h, or on set_domains()/stop().
    auto until = std::chrono::system_clock::time_point(std::chrono::milliseconds(next));
    cv.wait_until(lk, until, [&] { return stopping.load() || woken; });
    woken = false;
  }
}

void Manager::Impl::run_order(const Job& job) {
  Account account;
  OrderRequest req;
  {
    std::lock_guard lk(mu);
    account = state.account_for_order();
    req = state.request_for(job);
    state.set_busy(job.key, true);
  }
  std::string lock_token;
  if (shared != nullptr) {
    std::string error;
    Gate g = gate(job, lock_token, error);
    if (g != Gate::Go) {
      std::lock_guard lk(mu);
      state.set_busy(job.key, false);
      if (g == Gate::Failed) {
        order_failures.fetch_add(1, std::memory_order_relaxed);
        state.record_failure(job, error, now_ms());
      }
    }
    if (g == Gate::Failed && on_change) on_change();
    if (g != Gate::Go) return;
  }
  struct Unlock {
    RedisStorage* shared;
    const std::string& key;
    const std::string& token;
    ~Unlock() {
      if (shared != nullptr) shared->unlock(key, token);
    }
  } unlock{shared, job.key, lock_token};
  const bool renewing = !req.replaces.empty() || job.renewal;
  log::info(renewing ? "acme: renewing certificate" : "acme: ordering certificate",
            {{"resolver", cfg.name}, {"domains", join_domains(job.domains)}});
  Result<Issued> issued = Error{""};
  bool account_changed = false;
  if (!ensure_client() || !ensure_solvers()) {
    std::lock_guard lk(mu);
    issued = Error{state.last_setup_error};
  } else {
    // The lock lives 2 minutes; the order renews it between polls.
    auto renewed = std::chrono::steady_clock::now();
    std::vector<Solver*> use;
    for (auto& s : solvers) use.push_back(s.get());
    OrderFlow flow(*client, std::move(use), account, req, [&](std::chrono::milliseconds d) {
      auto t = std::chrono::steady_clock::now();
      if (shared != nullptr && t - renewed > std::chrono::seconds(20)) {
        renewed = t;
        shared->renew_lock(job.key, lock_token, kLockTtl);
      }
      return wait(d);
    });
    try {
      issued = flow.run();
    } catch (const std::exception& e) {
      // A CA answer of an unexpected shape must not end the process (nlohmann throws).
      issued = Error{std::string("unexpected answer from the CA: ") + e.what()};
    }
    account_changed = flow.account_changed();
  }
  bool notify = false;
  {
    std::lock_guard lk(mu);
    state.set_busy(job.key, false);
    if (account_changed) state.store_account(account);
    if (stopping) {
      state.save();  // keep the account; a stop is not the order's failure
      return;
    }
    orders.fetch_add(1, std::memory_order_relaxed);
    if (issued) {
      notify = state.store_certificate(job, *issued);
    } else {
      order_failures.fetch_add(1, std::memory_order_relaxed);
      state.record_failure(job, issued.error().message, now_ms());
      notify = true;  // the failure shows on the routers that asked (API status "warning")
    }
  }
  if (notify && on_change) on_change();
}

Manager::Impl::Gate Manager::Impl::gate(const Job& job, std::string& lock_token,
                                        std::string& error) {
  lock_token = random_token();
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(10);
  bool waited = false;
  for (;;) {
    auto got = shared->try_lock(job.key, lock_token, kLockTtl);
    if (!got) {
      error = "shared storage: " + got.error().message;
      return Gate::Failed;
    }
    if (*got) break;
    if (!waited) {
      log::info("acme: another instance is ordering these names; waiting for it",
                {{"resolver", cfg.name}, {"domains", join_domains(job.domains)}});
    }
    waited = true;
    if (std::chrono::steady_clock::now() > give_up) {
      error = "another instance held the order lock for over 10 minutes";
      return Gate::Failed;
    }
    if (!wait(std::chrono::milliseconds(250))) return Gate::Stopping;
  }
  // Holding the lock: what did the others store meanwhile?
  Result<bool> changed = false;
  bool due = true;
  {
    std::lock_guard lk(mu);
    changed = state.reload();
    due = state.due(job, now_ms());
  }
  if (!changed) {
    shared->unlock(job.key, lock_token);
    error = "shared storage: " + changed.error().message;
    return Gate::Failed;
  }
  if (*changed && on_change) on_change();
  if (!due) {
    shared->unlock(job.key, lock_token);
    log::info(
        "acme: not ordering: another instance stored a certificate or a failure for these "
        "names meanwhile",
        {{"resolver", cfg.name}, {"domains", join_domains(job.domains)}});
    return Gate::Done;
  }
  return Gate::Go;
}

void Manager::Impl::remote_changed() {
  Result<bool> changed = false;
  {
    std::lock_guard lk(mu);
    if (stopping) return;
    changed = state.reload();
    if (cfg.on_demand) refresh_wanted();
    woken = true;  // due times may have moved (a failure recorded, a certificate renewed)
  }
  cv.notify_all();
  if (!changed) {
    log::warn("acme: cannot reload the shared storage",
              {{"resolver", cfg.name}, {"error", changed.error().message}});
    return;
  }
  if (*changed && on_change) on_change();
}

void Manager::Impl::check_ari(const Job& job) {
  std::optional<RenewalWindow> window;
  std::chrono::seconds retry{std::chrono::hours(6)};
  bool supported = false;
  if (ensure_client() && client->fetch_directory()) {
    std::string base = client->endpoint("renewalInfo");
    supported = !base.empty();
    if (supported && !job.ari_cert_id.empty()) {
      if (!base.ends_with('/')) base += '/';
      auto r = client->transport().get(base + job.ari_cert_id);
      if (r && r->status == 200) {
        window = parse_renewal_info(r->body);
        retry = std::clamp(r->retry_after(retry), std::chrono::seconds(60),
                           std::chrono::seconds(std::chrono::hours(24)));
      } else {
        retry = std::chrono::hours(1);
      }
    }
  } else {
    retry = std::chrono::hours(1);  // the CA is unreachable: plain lifetime rules meanwhile
  }
  std::lock_guard lk(mu);
  state.set_ari(job.key, supported, window, now_ms() + retry.count() * 1000);
}

Manager::Manager(ResolverConfig cfg, tls::ChallengeTokens& tokens, std::function<void()> on_change,
                 tls::AlpnChallenges* alpn)
    : impl_(std::make_unique<Impl>(std::move(cfg), tokens, std::move(on_change), alpn)) {}

Manager::~Manager() { stop(); }

Result<bool> Manager::load() {
  std::lock_guard lk(impl_->mu);
  auto r = impl_->state.load();
  if (r) impl_->loaded = true;
  return r;
}

void Manager::start() {
  {
    std::lock_guard lk(impl_->mu);
    if (impl_->thread.joinable()) return;
    if (!impl_->loaded) {
      auto r = impl_->state.load();
      if (!r) {
        log::error("acme: cannot start the resolver",
                   {{"resolver", impl_->cfg.name}, {"error", r.error().message}});
        return;
      }
      impl_->loaded = true;
    }
    impl_->stopping = false;
  }
  impl_->thread = std::thread([this] { impl_->run(); });
  if (impl_->shared != nullptr) {
    impl_->shared->start(impl_->tokens, [this] { impl_->remote_changed(); });
  }
}

void Manager::stop() {
  {
    std::lock_guard lk(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->shared != nullptr) impl_->shared->stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

void Manager::Impl::refresh_wanted() {
  auto all = router_sets;
  all.insert(all.end(), on_demand_sets.begin(), on_demand_sets.end());
  if (cfg.on_demand) {
    for (const auto& c : state.certificates()) all.push_back(c.domains);
  }
  state.set_wanted(std::move(all));
}

void Manager::set_domains(std::vector<std::vector<std::string>> wanted) {
  {
    std::lock_guard lk(impl_->mu);
    impl_->router_sets = std::move(wanted);
    impl_->refresh_wanted();
    impl_->woken = true;
  }
  impl_->cv.notify_all();
}

void Manager::add_on_demand(std::vector<std::string> domains) {
  {
    std::lock_guard lk(impl_->mu);
    impl_->on_demand_sets.push_back(std::move(domains));
    impl_->refresh_wanted();
    impl_->woken = true;
  }
  impl_->cv.notify_all();
}

std::vector<Certificate> Manager::certificates() const {
  std::lock_guard lk(impl_->mu);
  return impl_->state.certificates();
}

std::uint64_t Manager::orders() const { return impl_->orders.load(std::memory_order_relaxed); }
std::uint64_t Manager::order_failures() const {
  return impl_->order_failures.load(std::memory_order_relaxed);
}

std::uint64_t Manager::idle_passes() const {
  return impl_->idle_passes.load(std::memory_order_relaxed);
}

std::vector<DomainStatus> Manager::status() const {
  std::lock_guard lk(impl_->mu);
  return impl_->state.status(now_ms());
}

}  // namespace portier::acme
