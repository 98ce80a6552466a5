#include "e2e/docker_env.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

namespace portier::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// free_port() comes from support/net.cc.

DockerEnv& DockerEnv::get() {
  static DockerEnv env;
  return env;
}

int DockerEnv::docker(const std::string& args, std::string* out) const {
  std::string cmd = "docker -H unix://" + socket_ + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return -1;
  std::string text;
  std::array<char, 4096> buf;
  while (std::size_t n = std::fread(buf.data(), 1, buf.size(), p)) text.append(buf.data(), n);
  int status = ::pclose(p);
  if (out) *out = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool DockerEnv::wait_ready(std::chrono::milliseconds timeout) const {
  return poll_until([&] { return docker("version --format '{{.Server.Version}}'") == 0; }, timeout);
}

// A throwaway CA, a server certificate for 127.0.0.1 and a client certificate, as the Engine's
// --tlsverify mode needs (the openssl command line, from Debian's openssl package).
bool DockerEnv::make_certificates() {
  const std::string d = root_ + "/tls";
  fs::create_directories(d);
  const std::string script =
      "cd " + d +
      " && exec >openssl.log 2>&1 && "
      "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca.pem -days 2 "
      "-subj /CN=portier-e2e-ca && "
      "openssl req -newkey rsa:2048 -nodes -keyout server-key.pem -out server.csr "
      "-subj /CN=127.0.0.1 && "
      "printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > server.ext && "
      "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial "
      "-out server.pem -days 2 -extfile server.ext && "
      "openssl req -newkey rsa:2048 -nodes -keyout client-key.pem -out client.csr -subj "
      "/CN=portier && "
      "printf 'extendedKeyUsage=clientAuth\n' > client.ext && "
      "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial "
      "-out client.pem -days 2 -extfile client.ext";
  return std::system(script.c_str()) == 0;
}

bool DockerEnv::start_dockerd() {
  // Swarm mode refuses --live-restore ("incompatible with swarm mode"): the swarm tests' binary
  // is built with DOCKER_ENV_SWARM and does without it (and without restart_dockerd()).
#ifdef DOCKER_ENV_SWARM
  const std::string live_restore = "--live-restore=false";
#else
  const std::string live_restore = "--live-restore";
#endif
  dockerd_ = Process::start(
      {"/usr/sbin/dockerd", "--iptables=false", "--ip-masq=false", "--bridge=none", live_restore,
       "--data-root=" + root_ + "/docker", "--exec-root=" + root_ + "/exec",
       "--pidfile=" + root_ + "/docker.pid", "--host=unix://" + socket_,
       "--host=tcp://127.0.0.1:" + std::to_string(tls_port_), "--tlsverify",
       "--tlscacert=" + tls_file("ca.pem"), "--tlscert=" + tls_file("server.pem"),
       "--tlskey=" + tls_file("server-key.pem"), "--containerd=" + root_ + "/containerd.sock"},
      root_ + "/dockerd.log");
  return wait_ready(30s);
}

DockerEnv::DockerEnv() {
  // A short root: unix socket paths are limited to 108 bytes.
  std::random_device rd;
  root_ = "/tmp/pe2e-" + std::to_string(rd() % 100000);
  fs::create_directories(root_);
  socket_ = root_ + "/docker.sock";
  if (::geteuid() != 0) {
    why_ = "the e2e tests start their own dockerd, which needs root";
    return;
  }
  for (const char* bin :
       {"/usr/sbin/dockerd", "/usr/bin/containerd", "/usr/bin/docker", "/usr/bin/openssl"}) {
    if (!fs::exists(bin)) {
      why_ = std::string(bin) + " is missing (make test installs Debian's docker.io)";
      return;
    }
  }
  containerd_ = Process::start(
      {"/usr/bin/containerd", "--root=" + root_ + "/containerd",
       "--state=" + root_ + "/containerd-state", "--address=" + root_ + "/containerd.sock"},
      root_ + "/containerd.log");
  if (!poll_until([&] { return fs::exists(root_ + "/containerd.sock"); }, 20s)) {
    why_ = "containerd did not start: " + containerd_->log();
    return;
  }
  tls_port_ = free_port();
  if (!make_certificates()) {
    why_ = "cannot make test certificates with openssl (see " + root_ + "/tls/openssl.log)";
    return;
  }
  if (!start_dockerd()) {
    why_ = "dockerd did not start: " + dockerd_->log();
    return;
  }
  // The image: whoami (static) and busybox (static) on an empty root filesystem.
  fs::path rootfs = root_ + "/rootfs";
  fs::create_directories(rootfs / "bin");
  fs::copy_file(WHOAMI_BIN, rootfs / "whoami");
  if (fs::exists("/bin/busybox")) {
    fs::copy_file("/bin/busybox", rootfs / "bin" / "busybox");
    // Docker runs --health-cmd through /bin/sh -c.
    fs::create_symlink("busybox", rootfs / "bin" / "sh");
  }
  std::string out;
  std::string tar = "tar -C " + rootfs.string() + " -cf " + root_ + "/image.tar .";
  if (std::system(tar.c_str()) != 0 ||
      docker("import --change 'ENTRYPOINT [\"/whoami\"]' " + root_ + "/image.tar " + kImage,
             &out) != 0) {
    why_ = "cannot import the test image: " + out;
    return;
  }
  available_ = true;
}

bool DockerEnv::restart_dockerd() {
  dockerd_->signal(SIGTERM);
  if (!dockerd_->wait_exit(30s)) return false;
  return start_dockerd();
}

DockerEnv::~DockerEnv() {
  if (available_) {
    std::string ids;
    docker("ps -aq", &ids);
    if (!ids.empty()) {
      for (char& c : ids) c = c == '\n' ? ' ' : c;
      docker("rm -f " + ids);
    }
  }
  // Stop only what was started here, by PID: dockerd first, then containerd.
  if (dockerd_) {
    dockerd_->signal(SIGTERM);
    dockerd_->wait_exit(30s);
  }
  if (containerd_) {
    containerd_->signal(SIGTERM);
    containerd_->wait_exit(15s);
  }
  // dockerd leaves mounts under its root (the data root bound onto itself, the default netns):
  // detach ours, deepest first, then remove the directory.
  std::vector<std::string> mounts;
  std::ifstream in("/proc/self/mounts");
  std::string dev, point, rest;
  while (in >> dev >> point && std::getline(in, rest)) {
    if (point.rfind(root_ + "/", 0) == 0) mounts.push_back(point);
  }
  std::sort(mounts.rbegin(), mounts.rend());
  for (const auto& m : mounts) ::umount2(m.c_str(), MNT_DETACH);
  std::error_code ec;
  fs::remove_all(root_, ec);
}

bool require_docker() {
  auto& env = DockerEnv::get();
  if (env.available()) return true;
  const char* ci = std::getenv("CI");
  if (ci != nullptr && std::string(ci) == "true") {
    ADD_FAILURE() << "no Docker Engine, and CI=true forbids skipping: " << env.why_unavailable();
    return false;
  }
  [&] { GTEST_SKIP() << "no Docker Engine: " << env.why_unavailable(); }();  // records the skip
  return false;
}

std::optional<CheckRun> run_check(const TempDir& dir, const std::string& providers_yaml) {
  dir.write("check.yml",
            "entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\nproviders:\n" + providers_yaml);
  auto proc = Process::start(
      {PORTIER_BIN, "check", "--containers", "--configFile=" + (dir.path() / "check.yml").string()},
      dir.path() / "check.log");
  auto code = proc->wait_exit(30s);
  if (!code) return std::nullopt;
  return CheckRun{*code, proc->log()};
}

}  // namespace portier::test
