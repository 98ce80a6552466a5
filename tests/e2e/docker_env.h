// A real Docker Engine for the e2e tests, started by the tests themselves: containerd and
// dockerd (--iptables=false --ip-masq=false --bridge=none --live-restore, which a binary built
// with DOCKER_ENV_SWARM leaves out since swarm mode refuses it; its own choice of
// storage driver: overlay2 where the filesystem allows it, which makes an image build's layers
// cheap, else vfs)
// with their own directories and sockets under /tmp, so no system daemon is touched and only
// processes started here are stopped. The test image is made offline: the static whoami and
// busybox (for healthchecks) imported with `docker import`.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "support/process.h"

namespace portier::test {

class DockerEnv {
 public:
  // Starts the daemons once per test binary; available() tells whether that worked.
  static DockerEnv& get();
  bool available() const { return available_; }
  const std::string& why_unavailable() const { return why_; }
  std::string endpoint() const { return "unix://" + socket_; }
  // The same daemon over TCP with TLS client verification (--tlsverify), and the files a
  // client needs for it.
  std::string tls_endpoint() const { return "tcp://127.0.0.1:" + std::to_string(tls_port_); }
  std::string tls_file(const std::string& name) const { return root_ + "/tls/" + name; }
  static constexpr const char* kImage = "portier-whoami:e2e";

  // Runs the docker CLI against this daemon; returns the exit code, output in `out`.
  int docker(const std::string& args, std::string* out = nullptr) const;
  // Stops dockerd (containers keep running: live-restore) and starts it again.
  bool restart_dockerd();
  ~DockerEnv();

 private:
  DockerEnv();
  bool start_dockerd();
  bool make_certificates();
  bool wait_ready(std::chrono::milliseconds timeout) const;
  TempDir dir_;
  std::string root_;
  std::string socket_;
  int tls_port_ = 0;
  std::unique_ptr<Process> containerd_;
  std::unique_ptr<Process> dockerd_;
  bool available_ = false;
  std::string why_;
};

// For a test's SetUp: true when the Engine is available; else the test is skipped (with the
// reason), or failed under CI=true, which forbids skipping, and false.
bool require_docker();

// `portier check --containers` of a configuration with entrypoint `web` and `providers_yaml`
// (the lines below `providers:`), written to `dir`: its exit code and output, or nullopt when
// it did not finish within 30 s.
struct CheckRun {
  int code = 0;
  std::string log;
};
std::optional<CheckRun> run_check(const TempDir& dir, const std::string& providers_yaml);

}  // namespace portier::test
