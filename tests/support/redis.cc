#include "support/redis.h"

#include <cstdio>
#include <stdexcept>

namespace portier::test {

RedisServer::RedisServer(std::vector<std::string> extra, bool tls)
    : port_(free_port()), extra_(std::move(extra)), tls_(tls) {
  start();
}

std::string RedisServer::url(const std::string& prefix) const {
  return "redis://127.0.0.1:" + std::to_string(port_) + "/0?prefix=" + prefix;
}

void RedisServer::stop() { proc_.reset(); }

void RedisServer::start() {
  ++starts_;
  auto log = dir_.path() / ("redis-" + std::to_string(starts_) + ".log");
  std::vector<std::string> argv = {"/usr/bin/redis-server",
                                   "--bind",
                                   "127.0.0.1",
                                   "--save",
                                   "",
                                   "--appendonly",
                                   "no",
                                   "--dir",
                                   dir_.path().string(),
                                   "--daemonize",
                                   "no"};
  if (tls_) {
    argv.insert(argv.end(), {"--port", "0", "--tls-port", std::to_string(port_)});
  } else {
    argv.insert(argv.end(), {"--port", std::to_string(port_)});
  }
  argv.insert(argv.end(), extra_.begin(), extra_.end());
  proc_ = Process::start(argv, log);
  if (!proc_->wait_for_log("(Ready to accept connections)", std::chrono::seconds(10))) {
    throw std::runtime_error("redis-server did not start: " + proc_->log());
  }
}

std::string RedisServer::cli(const std::vector<std::string>& args) const {
  std::string cmd = "redis-cli -h 127.0.0.1 -p " + std::to_string(port_);
  for (const auto& a : args) cmd += " '" + a + "'";
  std::string out;
  if (FILE* f = ::popen(cmd.c_str(), "r")) {
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
    ::pclose(f);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

}  // namespace portier::test
