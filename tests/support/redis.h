// A real redis-server (Debian's redis-server) for tests, on a free loopback port, without
// persistence: stop()/start() restarts it empty on the same port, as a Redis that lost its data.
// It is killed by PID (SIGKILL) on stop() and destruction; nothing else is ever signalled.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "support/process.h"

namespace portier::test {

class RedisServer {
 public:
  // `extra`: more redis-server arguments (ACL users, TLS files). With `tls`, the port is the
  // TLS port and the plain one is off (cli() then cannot reach it).
  explicit RedisServer(std::vector<std::string> extra = {}, bool tls = false);
  ~RedisServer() = default;
  int port() const { return port_; }
  std::string url(const std::string& prefix) const;  // redis://127.0.0.1:<port>/0?prefix=...
  void stop();
  void start();  // waits until it accepts connections
  // One command through redis-cli; its output without the trailing newline.
  std::string cli(const std::vector<std::string>& args) const;

 private:
  TempDir dir_;
  int port_ = 0;
  std::unique_ptr<Process> proc_;
  int starts_ = 0;
  std::vector<std::string> extra_;
  bool tls_ = false;
};

}  // namespace portier::test
