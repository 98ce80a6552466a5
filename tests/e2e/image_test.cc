// The image as users build and run it: `docker build` of the repository's Dockerfile (compiling
// portier inside, from Debian packages), then examples/compose-host run with docker-compose
// against the Engine the tests start (DockerEnv): labelled replicas balanced, a certificate
// from a real Pebble served over HTTPS, the dashboard behind basicAuth, Docker's HEALTHCHECK
// passing, and `docker stop` ending portier with exit code 0. Also: the image is smaller than
// Traefik's, runs as uid 65532 with no shell, and binds a port below 1024 with only
// CAP_NET_BIND_SERVICE.
//
// No registry is reachable here, only Debian's mirror: tools/debian_base.sh makes debian:12
// and debian:12-slim with debootstrap (cached under the build directory, so only the first run
// pays for it) and the build runs with --network host so apt reaches the mirror. The compile
// inside the image is the bulk of the time (several minutes on two cores): this binary is its
// own ctest entry, labelled `image`.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

#include "e2e/docker_env.h"
#include "support/net.h"
#include "support/pebble.h"
#include "support/process.h"

namespace portier::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kImage = "portier";  // the name README and the compose files use
// Traefik v3.6's official image for linux/amd64, compressed, on Docker Hub: about 46 MB.
constexpr long kTraefikImageBytes = 46L * 1000 * 1000;

// A shell command; returns its exit code, stdout and stderr in `out`.
int sh(const std::string& cmd, std::string* out = nullptr) {
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return -1;
  std::string text;
  std::array<char, 4096> buf;
  while (std::size_t n = std::fread(buf.data(), 1, buf.size(), p)) text.append(buf.data(), n);
  const int status = ::pclose(p);
  if (out) *out = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// A port below 1024 that nothing on 127.0.0.1 uses (the test runs as root, so it can try).
int free_low_port() {
  for (int port = 1023; port > 900; --port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    if (ok) return port;
  }
  return 0;
}

class ImageTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Once for both suites (ComposeHost derives from this one).
    if (built_ || !why_.empty() || !build_error_.empty()) return;
    auto& env = DockerEnv::get();
    if (!env.available()) {
      why_ = "no Docker Engine: " + env.why_unavailable();
      return;
    }
    for (const char* bin : {"/usr/sbin/debootstrap", "/usr/bin/docker-compose"}) {
      if (::access(bin, X_OK) != 0) {
        why_ = std::string(bin) + " is missing (make test installs debootstrap and docker-compose)";
        return;
      }
    }
    const std::string host = env.endpoint();
    auto t = Clock::now();
    std::string out;
    if (sh(std::string(PORTIER_SOURCE_DIR) + "/tools/debian_base.sh " + E2E_CACHE_DIR + " " + host,
           &out) != 0) {
      build_error_ = "tools/debian_base.sh failed:\n" + out;
      return;
    }
    std::printf("base images: %.1f s\n", seconds_since(t));
    t = Clock::now();
    // The compile's objects are kept between runs in a ccache HTTP storage on loopback
    // (tools/ccache_http.py; a legacy `docker build` cannot mount a cache directory): the
    // first run compiles everything, later ones only what changed.
    const int cache_port = free_port();
    auto cache = Process::start({"/usr/bin/python3", std::string(PORTIER_SOURCE_DIR) + "/tools/ccache_http.py",
                                 std::string(E2E_CACHE_DIR) + "/ccache",
                                 std::to_string(cache_port)},
                                std::string(E2E_CACHE_DIR) + "/ccache_http.log");
    if (!cache->wait_for_log("(listening)", 10s)) {
      build_error_ = "tools/ccache_http.py did not start: " + cache->log();
      return;
    }
    // What a user types, plus --network host (apt reaches the mirror through the host's
    // network here), two compile jobs (the machine's cores are shared) and the cache.
    const std::string build = "DOCKER_HOST=" + host +
                              " docker build --network host --build-arg JOBS=2"
                              " --build-arg CCACHE_REMOTE=http://127.0.0.1:" +
                              std::to_string(cache_port) + " -t " + kImage + " " +
                              PORTIER_SOURCE_DIR;
    if (sh(build, &out) != 0) {
      build_error_ = "docker build failed:\n" + out.substr(out.size() > 6000 ? out.size() - 6000 : 0);
      return;
    }
    build_args_ = " --network host --build-arg JOBS=2 --build-arg CCACHE_REMOTE=http://127.0.0.1:" +
                  std::to_string(cache_port);
    build_seconds_ = seconds_since(t);
    std::printf("docker build: %.1f s\n", build_seconds_);
    built_ = true;
  }

  void SetUp() override {
    if (!why_.empty()) {
      const char* ci = std::getenv("CI");
      if (ci != nullptr && std::string(ci) == "true") FAIL() << "CI=true forbids skipping: " << why_;
      GTEST_SKIP() << why_;
    }
    ASSERT_TRUE(built_) << build_error_;
    RecordProperty("docker_build_seconds", static_cast<int>(build_seconds_));
  }

  static int docker(const std::string& args, std::string* out = nullptr) {
    return DockerEnv::get().docker(args, out);
  }

  static inline std::string why_;
  static inline std::string build_error_;
  static inline bool built_ = false;
  static inline double build_seconds_ = 0;
  static inline std::string build_args_;  // those of the first build
};

// The compile is cached in a layer that only CMakeLists.txt, src/ and tools/whoami/ feed: a
// tree whose documentation and examples changed builds again without compiling anything.
TEST_F(ImageTest, ChangingDocsDoesNotRecompile) {
  TempDir ctx;
  const std::string src = PORTIER_SOURCE_DIR;
  std::string out;
  ASSERT_EQ(sh("cd " + src + " && cp -r CMakeLists.txt Dockerfile .dockerignore README.md src docs " +
                   "examples " + ctx.path().string() + "/ && mkdir -p " + ctx.path().string() +
                   "/tools && cp -r tools/whoami " + ctx.path().string() + "/tools/ && echo changed >> " +
                   ctx.path().string() + "/README.md && echo changed >> " + ctx.path().string() +
                   "/docs/deployment.md",
               &out),
            0)
      << out;
  auto t = Clock::now();
  ASSERT_EQ(sh("DOCKER_HOST=" + DockerEnv::get().endpoint() + " docker build" + build_args_ +
                   " -t portier:docs-changed " + ctx.path().string(),
               &out),
            0)
      << out;
  std::printf("rebuild after a docs change: %.1f s\n", seconds_since(t));
  EXPECT_EQ(out.find("Building CXX"), std::string::npos) << out;
  EXPECT_LT(seconds_since(t), 120.0) << out;
}

TEST_F(ImageTest, SmallerThanTraefiksNonRootNoShell) {
  std::string out;
  ASSERT_EQ(sh("docker -H " + DockerEnv::get().endpoint() + " save " + kImage + " | gzip | wc -c",
               &out),
            0)
      << out;
  const long bytes = std::stol(out);
  std::string unpacked;
  docker(std::string("image inspect -f '{{.Size}}' ") + kImage, &unpacked);
  std::printf("image %s: %.1f MB compressed (docker save | gzip), %s bytes unpacked\n", kImage,
              bytes / 1e6, trim(unpacked).c_str());
  RecordProperty("image_bytes_gzip", static_cast<int>(bytes));
  EXPECT_LT(bytes, kTraefikImageBytes);

  ASSERT_EQ(docker(std::string("inspect -f '{{.Config.User}} {{json .Config.Healthcheck.Test}}' ") +
                       kImage,
                   &out),
            0);
  EXPECT_EQ(trim(out), "65532:65532 [\"CMD\",\"/usr/local/bin/portier\",\"healthcheck\"]");
  // Distroless-style: nothing to run but portier and whoami.
  EXPECT_NE(docker(std::string("run --rm --network host --entrypoint /bin/sh ") + kImage + " -c true",
                   &out),
            0)
      << out;
}

// uid 65532 with every capability dropped but NET_BIND_SERVICE binds a port below 1024 on the
// host's network (the binary's file capability; in a network namespace of its own Docker lets
// any user bind such ports anyway).
TEST_F(ImageTest, BindsALowPortWithOnlyNetBindService) {
  const int low = free_low_port();
  ASSERT_NE(low, 0);
  const int ping = free_port();
  std::string out;
  ASSERT_EQ(docker("run -d --name e2e-lowport --network host --cap-drop ALL "
                   "--cap-add NET_BIND_SERVICE -e PORTIER_ENTRYPOINTS_TRAEFIK_ADDRESS=127.0.0.1:" +
                       std::to_string(ping) + " " + kImage +
                       " --entryPoints.web.address=127.0.0.1:" + std::to_string(low),
                   &out),
            0)
      << out;
  const bool up = poll_until(
      [&] {
        try {
          auto r = http_get(low, "nothing.localhost", "/");
          return r && r->status == 404;
        } catch (const std::exception&) {
          return false;  // not listening yet
        }
      },
      20s);
  std::string logs;
  docker("logs e2e-lowport", &logs);
  EXPECT_TRUE(up) << logs;
  auto r = http_get(ping, "localhost", "/ping");
  ASSERT_TRUE(r) << logs;
  EXPECT_EQ(r->status, 200);
  docker("rm -f e2e-lowport");
}

class ComposeHost : public ImageTest {
 protected:
  void TearDown() override {
    if (!compose_.empty()) sh(compose_ + " down -v --remove-orphans");
  }
  std::string compose_;  // "env ... docker-compose -f ... -f ...", once set up
};

TEST_F(ComposeHost, BalancesServesHttpsGuardsTheDashboardAndStopsCleanly) {
  const int web = free_port();
  const int websecure = free_port();
  const int ping = free_port();
  const int whoami1 = free_port();
  const int whoami2 = free_port();
  PebbleOptions po;
  po.http_port = web;
  Pebble pebble(po);
  TempDir dir;
  const std::string bundle = pebble.ca_bundle();
  ::chmod(bundle.c_str(), 0644);  // read by uid 65532 in the container
  // The test's own addition: Pebble's API certificate, mounted at the same path, for
  // ACME_CA_CERTIFICATES. (Not a PORTIER_ variable: `portier healthcheck` reads those too, and
  // a resolver with nothing but caCertificates does not decode.)
  const auto override_file = dir.write(
      "override.yml",
      "services:\n  portier:\n    volumes:\n      - " + bundle + ":" + bundle + ":ro\n");
  const std::string socket = DockerEnv::get().endpoint().substr(7);  // unix://...
  struct stat st{};
  ASSERT_EQ(::stat(socket.c_str(), &st), 0);
  auto addr = [](int port) { return "127.0.0.1:" + std::to_string(port); };
  compose_ = "env DOCKER_HOST=unix://" + socket + " DOCKER_SOCKET=" + socket +
             " DOCKER_GID=" + std::to_string(st.st_gid) +
             " 'DASHBOARD_USERS=admin:$apr1$Xy7pQ2aB$WvPTp4t97m31FCKFaB5bp.'" +  // secret1
             " WEB_ADDRESS=" + addr(web) + " WEBSECURE_ADDRESS=" + addr(websecure) +
             " PING_ADDRESS=" + addr(ping) + " WHOAMI1_PORT=" + std::to_string(whoami1) +
             " WHOAMI2_PORT=" + std::to_string(whoami2) +
             " ACME_CA_SERVER=" + pebble.directory_url() + " ACME_CA_CERTIFICATES=" + bundle +
             " COMPOSE_PROJECT_NAME=portiere2e docker-compose -f " + PORTIER_SOURCE_DIR +
             "/examples/compose-host/docker-compose.yml -f " + override_file.string();
  std::string out;
  auto t = Clock::now();
  ASSERT_EQ(sh(compose_ + " up -d --no-build", &out), 0) << out;
  auto logs = [&] {
    std::string l;
    sh(compose_ + " logs --no-color portier", &l);
    return l.substr(l.size() > 8000 ? l.size() - 8000 : 0);
  };

  // Both replicas get requests.
  std::set<std::string> names;
  ASSERT_TRUE(poll_until(
      [&] {
        std::optional<Response> r;
        try {
          r = http_get(web, "whoami.localhost", "/");
        } catch (const std::exception&) {
          return false;  // portier is not listening yet
        }
        if (r && r->status == 200) {
          for (const char* n : {"whoami-1", "whoami-2"}) {
            if (r->body.find(std::string("Name: ") + n) != std::string::npos) names.insert(n);
          }
        }
        return names.size() == 2;
      },
      30s))
      << logs();
  std::printf("compose up to both replicas routed: %.1f s\n", seconds_since(t));

  // HTTPS with a certificate Pebble issued, verified against Pebble's root.
  const std::string root = dir.write("root.pem", pebble.root_pem()).string();
  std::optional<Response> r;
  ASSERT_TRUE(poll_until(
      [&] {
        try {
          Conn c(websecure);
          TlsInfo info = c.start_tls({"whoami.example.com", root});
          if (!info.ok || !info.verified) return false;
          r = c.send("GET / HTTP/1.1\r\nHost: whoami.example.com\r\n\r\n") ? c.read_response()
                                                                           : std::nullopt;
          return r && r->status == 200;
        } catch (const std::exception&) {
          return false;
        }
      },
      90s))
      << logs();
  EXPECT_NE(r->body.find("Name: whoami-"), std::string::npos);
  std::printf("compose up to verified HTTPS: %.1f s\n", seconds_since(t));

  // The dashboard: through its router, over TLS, only with the password.
  auto dashboard = [&](const std::string& auth) {
    Conn c(websecure);
    if (!c.start_tls({"portier.localhost", ""}).ok) return std::optional<Response>();
    std::string req = "GET /dashboard/ HTTP/1.1\r\nHost: portier.localhost\r\n" + auth + "\r\n";
    return c.send(req) ? c.read_response() : std::nullopt;
  };
  auto anonymous = dashboard("");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  auto admin = dashboard("Authorization: Basic YWRtaW46c2VjcmV0MQ==\r\n");  // admin:secret1
  ASSERT_TRUE(admin);
  EXPECT_EQ(admin->status, 200);

  // Docker's HEALTHCHECK (`portier healthcheck`, GET /ping) passes.
  std::string id;
  ASSERT_EQ(sh(compose_ + " ps -q portier", &id), 0) << id;
  id = trim(id);
  EXPECT_TRUE(poll_until(
      [&] {
        std::string health;
        docker("inspect -f '{{.State.Health.Status}}' " + id, &health);
        return trim(health) == "healthy";
      },
      40s))
      << [&] {
           std::string h;
           docker("inspect -f '{{json .State.Health}}' " + id, &h);
           return "id " + id + ": " + h;
         }();
  std::string user;
  docker("inspect -f '{{.Config.User}}' " + id, &user);
  EXPECT_EQ(trim(user), "65532:65532");

  // acme.json was written by uid 65532 on the named volume (the root filesystem is read-only).
  std::string stat_out;
  EXPECT_EQ(docker(std::string("run --rm --network none --entrypoint /bin/busybox -v "
                               "portiere2e_portier-acme:/v ") +
                       DockerEnv::kImage + " stat -c '%u %s' /v/acme.json",
                   &stat_out),
            0)
      << stat_out;
  EXPECT_EQ(stat_out.rfind("65532 ", 0), 0u) << stat_out;
  EXPECT_EQ(stat_out.find("65532 0\n"), std::string::npos) << stat_out;

  // SIGTERM from `docker stop`: a graceful stop, exit code 0.
  ASSERT_EQ(docker("stop " + id, &out), 0) << out;
  std::string code;
  docker("inspect -f '{{.State.ExitCode}}' " + id, &code);
  EXPECT_EQ(trim(code), "0") << logs();
  std::printf("whole compose run: %.1f s\n", seconds_since(t));
}

}  // namespace
}  // namespace portier::test
