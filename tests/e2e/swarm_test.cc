// The Swarm provider against a real single-node swarm: the test's own dockerd (DockerEnv, built
// without --live-restore, which swarm mode refuses) runs `docker swarm init --advertise-addr
// 127.0.0.1 --listen-addr 127.0.0.1:<free port>`, then removes the `ingress` network, so that
// no routing mesh, no overlay and no docker_gwbridge are made: every service here runs on the
// host network, its whoami on a loopback port, and is reached on its node's address
// (127.0.0.1). At the end the swarm is left and docker_gwbridge removed if it appeared.
//
// portier runs with refreshSeconds: 300s, so what it does within a test is what Engine events
// (and its re-reads of converging services) made it do, not polling.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "e2e/docker_env.h"
#include "support/net.h"
#include "support/process.h"

namespace portier::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using Labels = std::vector<std::pair<std::string, std::string>>;
using Clock = std::chrono::steady_clock;

long long ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

class SwarmTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto& env = DockerEnv::get();
    if (!env.available()) return;
    gwbridge_before_ = fs::exists("/sys/class/net/docker_gwbridge");
    init_rc_ = env.docker("swarm init --advertise-addr 127.0.0.1 --listen-addr 127.0.0.1:" +
                              std::to_string(free_port()),
                          &init_out_);
    if (init_rc_ != 0) return;
    // No routing mesh: the ingress network would give the node a sandbox and docker_gwbridge.
    std::string rm = "echo y | docker -H " + env.endpoint() + " network rm ingress >/dev/null 2>&1";
    if (std::system(rm.c_str()) != 0) init_out_ += "\n(could not remove the ingress network)";
    // A second tag of the test image, for `service update --image`.
    env.docker(std::string("tag ") + DockerEnv::kImage + " " + kImageV2);
  }

  static void TearDownTestSuite() {
    auto& env = DockerEnv::get();
    if (!env.available() || init_rc_ != 0) return;
    remove_services({});
    env.docker("swarm leave --force");
    if (!gwbridge_before_) env.docker("network rm docker_gwbridge");
  }

  void SetUp() override {
    if (!require_docker()) return;
    ASSERT_EQ(init_rc_, 0) << "docker swarm init failed: " << init_out_;
  }
  void TearDown() override { remove_services(created_); }

  // Removes these services (all when empty) and waits until their tasks' containers are gone,
  // so that their ports are free again.
  static void remove_services(std::vector<std::string> names) {
    auto& env = DockerEnv::get();
    std::string out;
    if (names.empty()) {
      env.docker("service ls -q", &out);
      for (std::size_t i = 0, j; i < out.size(); i = j + 1) {
        j = std::min(out.find('\n', i), out.size());
        if (j > i) names.push_back(out.substr(i, j - i));
      }
    }
    for (const auto& n : names) env.docker("service rm " + n);
    poll_until(
        [&] {
          env.docker("ps -aq --filter label=com.docker.swarm.service.id", &out);
          return out.find_first_not_of(" \n") == std::string::npos;
        },
        30s);
  }

  // `tls`: through the Engine's TCP endpoint with client certificates (--tlsverify), not its
  // unix socket.
  Portier start_portier_swarm(const std::string& options = "", bool tls = false) {
    auto& env = DockerEnv::get();
    const std::string endpoint = tls ? env.tls_endpoint() + "\"\n    tls:\n      ca: \"" +
                                           env.tls_file("ca.pem") + "\"\n      cert: \"" +
                                           env.tls_file("client.pem") + "\"\n      key: \"" +
                                           env.tls_file("client-key.pem")
                                     : env.endpoint();
    // The API on a port of its own: the default 127.0.0.1:8080 is shared by every test binary.
    return start_portier(dir_, "", "  traefik:\n    address: \"127.0.0.1:0\"\n",
                         "  swarm:\n    endpoint: \"" + endpoint +
                             "\"\n    refreshSeconds: 300s\n" + options +
                             "api:\n  insecure: true\n",
                         1);
  }

  // `docker service create` of whoami on the host network, on a loopback port (`port`, or a
  // free one) that the port label names; `extra` goes before the image, `args` after it.
  // Returns the port.
  int create(const std::string& name, Labels labels, const std::string& extra = "",
             const std::string& args = "", int port = 0) {
    if (port == 0) port = free_port();
    labels.emplace_back("traefik.http.services." + name + ".loadbalancer.server.port",
                        std::to_string(port));
    std::string cmd = "service create -d --no-resolve-image --name " + name +
                      " --network host --stop-grace-period 2s " + extra;
    for (const auto& [k, v] : labels) cmd += " --label '" + k + "=" + v + "'";
    cmd += std::string(" ") + DockerEnv::kImage + " --addr 127.0.0.1:" + std::to_string(port) +
           " " + args;
    std::string out;
    EXPECT_EQ(DockerEnv::get().docker(cmd, &out), 0) << out;
    created_.push_back(name);
    return port;
  }

  // The healthcheck the update tests use: whoami's /health, inside the task's container.
  static std::string health(int port) {
    return "--health-cmd '/bin/busybox wget -q -O /dev/null http://127.0.0.1:" +
           std::to_string(port) + "/health' --health-interval 1s --health-timeout 1s";
  }

  // Does whoami answer on `port` directly (not through portier)?
  static bool answers(int port) {
    try {
      auto r = http_get(port, "x", "/");
      return r && r->status == 200;
    } catch (const std::exception&) {  // connection refused
      return false;
    }
  }

  static bool status_is(int port, const std::string& host, int status,
                        std::chrono::milliseconds timeout = 30s) {
    return poll_until(
        [&] {
          auto r = http_get(port, host, "/");
          return r && r->status == status;
        },
        timeout);
  }

  // portier's warnings and errors (its log is at debug level).
  static std::string problems(const Portier& p) {
    std::string out, log = p.proc->log();
    for (std::size_t i = 0, j; i < log.size(); i = j + 1) {
      j = std::min(log.find('\n', i), log.size());
      const std::string line = log.substr(i, j - i);
      if (line.find("level=warn") != std::string::npos ||
          line.find("level=error") != std::string::npos) {
        out += line + "\n";
      }
    }
    return out;
  }

  // Until the service's (first) task runs, at most 30 s.
  static bool wait_running(const std::string& service) {
    return poll_until(
        [&] {
          std::string out;
          DockerEnv::get().docker("service ps --format '{{.CurrentState}}' " + service, &out);
          return out.rfind("Running", 0) == 0;
        },
        30s);
  }

  static std::string update_state(const std::string& service) {
    std::string out;
    DockerEnv::get().docker(
        "service inspect --format '{{if .UpdateStatus}}{{.UpdateStatus.State}}"
        "{{end}}' " +
            service,
        &out);
    return out.substr(0, out.find('\n'));
  }

  TempDir dir_;
  std::vector<std::string> created_;
  static inline bool gwbridge_before_ = false;
  static inline int init_rc_ = -1;
  static inline std::string init_out_;
  static constexpr const char* kImageV2 = "portier-whoami:e2e-v2";
};

// A bounded load through portier while something happens: `clients` threads, each on its own
// keep-alive connection (a new one when portier closes it), one GET after another with a 1 ms
// pause, until stop() or `max_requests` or `max_time`. Loopback only.
class Load {
 public:
  Load(int port, std::string host, int clients = 2, long max_requests = 200000,
       std::chrono::seconds max_time = 120s)
      : port_(port), host_(std::move(host)), max_requests_(max_requests) {
    start_ = Clock::now();
    for (int i = 0; i < clients; ++i) {
      threads_.emplace_back([this, max_time] { run(max_time); });
    }
  }
  ~Load() { stop(); }
  void stop() {
    stop_ = true;
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
    if (elapsed_ms_ == 0) elapsed_ms_ = ms_since(start_);
  }
  long requests() const { return requests_; }
  long failures() const {
    long n = 0;
    std::lock_guard lock(mu_);
    for (const auto& [status, count] : statuses_) n += status == 200 ? 0 : count;
    return n;
  }
  std::map<int, long> statuses() const {
    std::lock_guard lock(mu_);
    return statuses_;
  }
  // The whoami names (the tasks: WHOAMI_NAME={{.Task.Name}}) that answered since the last
  // mark() (or the start).
  std::set<std::string> names() const {
    std::lock_guard lock(mu_);
    return names_;
  }
  void mark() {
    std::lock_guard lock(mu_);
    names_.clear();
  }
  long long elapsed_ms() const { return elapsed_ms_; }
  std::string summary() const {
    std::string s = std::to_string(requests_) + " requests in " + std::to_string(elapsed_ms_) +
                    " ms; statuses:";
    for (const auto& [status, count] : statuses()) {
      s += " " + (status == 0 ? std::string("no-answer") : std::to_string(status)) + "=" +
           std::to_string(count);
    }
    return s;
  }

 private:
  void run(std::chrono::seconds max_time) {
    const auto end = start_ + max_time;
    std::unique_ptr<Conn> c;
    while (!stop_ && Clock::now() < end && requests_.fetch_add(1) < max_requests_) {
      if (!c) c = std::make_unique<Conn>(port_, 5s);
      std::optional<Response> r;
      if (c->send("GET / HTTP/1.1\r\nHost: " + host_ + "\r\n\r\n")) r = c->read_response();
      {
        std::lock_guard lock(mu_);
        ++statuses_[r ? r->status : 0];
        if (r && r->status == 200) {
          auto at = r->body.find("Name: ");
          if (at != std::string::npos) {
            names_.insert(r->body.substr(at + 6, r->body.find('\n', at) - at - 6));
          }
        }
      }
      if (!r || r->header("connection") == "close") c.reset();
      std::this_thread::sleep_for(1ms);
    }
  }

  int port_;
  std::string host_;
  long max_requests_;
  Clock::time_point start_;
  std::atomic<bool> stop_{false};
  std::atomic<long> requests_{0};
  long long elapsed_ms_ = 0;
  mutable std::mutex mu_;
  std::map<int, long> statuses_;
  std::set<std::string> names_;
  std::vector<std::thread> threads_;
};

// deploy.labels of a service become routes; scaling to 0 takes it out of the rotation while its
// task is still running (Swarm stops the container 2 s after its desired state changes), and
// scaling back and removing the service are followed, all by events.
TEST_F(SwarmTest, ServiceIsRoutedAndFollowedByEvents) {
  Portier p = start_portier_swarm();
  auto t = Clock::now();
  const int port = create("sw-web", {{"traefik.http.routers.sw.rule", "Host(`sw.localhost`)"}}, "",
                          "--name sw-web");
  ASSERT_TRUE(status_is(p.port, "sw.localhost", 200)) << p.proc->log();
  std::printf("service create to first routed response: %lld ms\n", ms_since(t));

  t = Clock::now();
  ASSERT_EQ(DockerEnv::get().docker("service scale -d sw-web=0"), 0);
  ASSERT_TRUE(status_is(p.port, "sw.localhost", 404, 10s)) << p.proc->log();
  const long long left = ms_since(t);
  EXPECT_TRUE(answers(port)) << "the task stopped before portier took it out of the rotation";
  std::printf("scale to 0: out of the rotation after %lld ms, its task still answering\n", left);
  EXPECT_LT(left, 2000);

  ASSERT_EQ(DockerEnv::get().docker("service scale -d sw-web=1"), 0);
  EXPECT_TRUE(status_is(p.port, "sw.localhost", 200)) << p.proc->log();
  ASSERT_EQ(DockerEnv::get().docker("service rm sw-web"), 0);
  EXPECT_TRUE(status_is(p.port, "sw.localhost", 404, 10s)) << p.proc->log();
  created_.clear();
  // The provider says what it is, in the API's provider list.
  auto api = p.proc->wait_for_log(
      "api listening\" entrypoint=traefik address=127\\.0\\.0\\.1:([0-9]+)", 1s);
  ASSERT_TRUE(api);
  auto providers = http_get(std::stoi(*api), "x", "/api/providers/swarm");
  ASSERT_TRUE(providers);
  EXPECT_EQ(providers->status, 200) << providers->body;
}

// A task with a healthcheck is "running" for Swarm only once healthy: until then portier does not
// route to it, though its process already answers; then it does, at once. portier. labels, and a
// middleware from labels.
TEST_F(SwarmTest, TaskEntersTheRotationOnceHealthy) {
  Portier p = start_portier_swarm();
  const int port = free_port();
  std::string cmd =
      "service create -d --no-resolve-image --name sw-health --network host "
      "--health-cmd '/bin/busybox test -e /ready' --health-interval 500ms --health-retries 1 "
      "--label 'portier.http.routers.h.rule=Host(`health.localhost`)' "
      "--label 'portier.http.routers.h.middlewares=stamp' "
      "--label 'portier.http.middlewares.stamp.headers.customresponseheaders.X-Swarm=yes' "
      "--label 'portier.http.services.h.loadbalancer.server.port=" +
      std::to_string(port) + "' " + DockerEnv::kImage +
      " --addr 127.0.0.1:" + std::to_string(port) + " --name sw-health";
  ASSERT_EQ(DockerEnv::get().docker(cmd), 0);
  created_.push_back("sw-health");
  ASSERT_TRUE(poll_until([&] { return answers(port); }, 30s)) << "the task's whoami never answered";
  std::string state;
  DockerEnv::get().docker("service ps --format '{{.CurrentState}}' sw-health", &state);
  EXPECT_EQ(state.rfind("Starting", 0), 0u) << state;
  auto r = http_get(p.port, "health.localhost", "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404) << "routed before healthy";

  std::string cid;
  DockerEnv::get().docker("ps -q --filter label=com.docker.swarm.service.name=sw-health", &cid);
  cid = cid.substr(0, cid.find('\n'));
  auto t = Clock::now();
  ASSERT_EQ(DockerEnv::get().docker("exec " + cid + " /bin/busybox touch /ready"), 0);
  ASSERT_TRUE(status_is(p.port, "health.localhost", 200, 15s)) << p.proc->log();
  std::printf("healthy to first routed response: %lld ms\n", ms_since(t));
  r = http_get(p.port, "health.localhost", "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("x-swarm"), "yes");
}

// The promise: a rolling update under load fails no request. Two replicas, start-first,
// a healthcheck. On one node's host network the tasks share the node's address and port
// (whoami's --threads 2 sets SO_REUSEPORT, as any program updated start-first on the host
// network must), so the old and the new task answer side by side until the old one stops, and
// portier's pooled connections to the old one last until then: the old one must stop
// gracefully (whoami --drain: on SIGTERM it stops accepting and closes each connection after
// its next answer). On an overlay network each task has its own address and leaves portier's
// rotation 2 s before its SIGTERM.
TEST_F(SwarmTest, RollingUpdateUnderLoadFailsNoRequest) {
  Portier p = start_portier_swarm();
  const int port = free_port();
  std::string cmd =
      "service create -d --no-resolve-image --name sw-roll --network host --replicas 2 "
      "--update-order start-first --update-parallelism 1 --stop-grace-period 5s " +
      health(port) + " --env 'WHOAMI_NAME={{.Task.Name}}'" +
      " --label 'traefik.http.routers.roll.rule=Host(`roll.localhost`)'" +
      " --label 'traefik.http.services.roll.loadbalancer.server.port=" + std::to_string(port) +
      "' " + DockerEnv::kImage + " --addr 127.0.0.1:" + std::to_string(port) +
      " --threads 2 --drain 1000";
  ASSERT_EQ(DockerEnv::get().docker(cmd), 0);
  created_.push_back("sw-roll");
  ASSERT_TRUE(status_is(p.port, "roll.localhost", 200, 40s)) << p.proc->log();

  for (const std::string& how : {"--image " + std::string(kImageV2), std::string("--force")}) {
    SCOPED_TRACE(how);
    Load load(p.port, "roll.localhost");
    std::this_thread::sleep_for(1s);
    const std::set<std::string> before = load.names();  // only the old tasks run
    auto t = Clock::now();
    ASSERT_EQ(DockerEnv::get().docker("service update -d --no-resolve-image --update-order "
                                      "start-first " +
                                      how + " sw-roll"),
              0);
    ASSERT_TRUE(poll_until([&] { return update_state("sw-roll") == "completed"; }, 90s))
        << update_state("sw-roll") << "\n"
        << p.proc->log();
    const long long update_ms = ms_since(t);
    std::this_thread::sleep_for(3s);  // the last old task stops 2 s after it left
    load.mark();
    std::this_thread::sleep_for(1s);
    const std::set<std::string> after = load.names();  // only the new tasks run
    load.stop();
    std::printf("rolling update (%s, 2 replicas, start-first): %lld ms; %s\n", how.c_str(),
                update_ms, load.summary().c_str());
    RecordProperty(how == "--force" ? "force_update_requests" : "image_update_requests",
                   static_cast<int>(load.requests()));
    EXPECT_EQ(load.failures(), 0) << load.summary() << "\n" << problems(p);
    // The traffic moved from the old tasks to the new ones.
    EXPECT_FALSE(before.empty());
    EXPECT_FALSE(after.empty());
    for (const auto& n : after) EXPECT_EQ(before.count(n), 0u) << n << " answered before and after";
  }
}

// stop-first with one replica must leave a gap (no task at all), but portier must never send a
// request to the stopped task: with allowEmptyServices the gap answers 503, never 502 or 504.
TEST_F(SwarmTest, StopFirstUpdateNeverRoutesToAStoppedTask) {
  Portier p = start_portier_swarm("    allowEmptyServices: true\n");
  const int port = free_port();
  create("sw-stop", {{"traefik.http.routers.stop.rule", "Host(`stop.localhost`)"}}, health(port),
         "--name sw-stop", port);
  ASSERT_TRUE(status_is(p.port, "stop.localhost", 200, 40s)) << p.proc->log();
  Load load(p.port, "stop.localhost");
  std::this_thread::sleep_for(1s);
  ASSERT_EQ(DockerEnv::get().docker("service update -d --no-resolve-image --force sw-stop"), 0);
  ASSERT_TRUE(poll_until([&] { return update_state("sw-stop") == "completed"; }, 90s));
  ASSERT_TRUE(status_is(p.port, "stop.localhost", 200, 20s));
  std::this_thread::sleep_for(1s);
  load.stop();
  std::printf("stop-first update, 1 replica: %s\n", load.summary().c_str());
  auto statuses = load.statuses();
  EXPECT_GT(statuses[503], 0) << "a gap with no task answers 503 with allowEmptyServices";
  for (const auto& [status, count] : statuses) {
    EXPECT_TRUE(status == 200 || status == 503) << load.summary();
  }
}

// providers.swarm.watch: false reads the swarm once: what is created later is not routed,
// events or not. (Through the Engine's TLS endpoint, with client certificates.)
TEST_F(SwarmTest, WatchFalseReadsOnce) {
  create("sw-before", {{"traefik.http.routers.before.rule", "Host(`before.localhost`)"}}, "",
         "--name sw-before");
  ASSERT_TRUE(wait_running("sw-before"));
  Portier p = start_portier_swarm("    watch: false\n", true);
  EXPECT_TRUE(status_is(p.port, "before.localhost", 200, 10s)) << p.proc->log();
  create("sw-after", {{"traefik.http.routers.after.rule", "Host(`after.localhost`)"}}, "",
         "--name sw-after");
  EXPECT_FALSE(status_is(p.port, "after.localhost", 200, 5s)) << "watch: false follows nothing";
}

// `portier check --containers` reads the swarm's services and reports their label problems.
TEST_F(SwarmTest, CheckReportsServiceLabelProblems) {
  create("sw-chk", {{"traefik.http.routers.chk.rulle", "Host(`chk.localhost`)"}}, "",
         "--name sw-chk");
  ASSERT_TRUE(wait_running("sw-chk"));
  auto check = run_check(dir_, "  swarm:\n    endpoint: \"" + DockerEnv::get().endpoint() + "\"\n");
  ASSERT_TRUE(check);
  EXPECT_EQ(check->code, 1) << check->log;
  EXPECT_NE(check->log.find("error: service sw-chk (router chk): "), std::string::npos)
      << check->log;
  EXPECT_NE(check->log.find("did you mean `http.routers.chk.rule`?"), std::string::npos)
      << check->log;
  EXPECT_NE(check->log.find("checked 1 Swarm service(s)"), std::string::npos) << check->log;
}

}  // namespace
}  // namespace portier::test
