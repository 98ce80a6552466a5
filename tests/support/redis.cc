#include "support/redis.h"

#include <cstdio>
#include <stdexcept>

namespace portier::test {

RedisServer::RedisServer() : port_(free_port()) { start(); }

std::string RedisServer::url(const std::string& prefix) const {
  return "redis://127.0.0.1:" + std::to_string(port_) + "/0?prefix=" + prefix;
}

void RedisServer::stop() { proc_.reset(); }

void RedisServer::start() {
  ++starts_;
  auto log = dir_.path() / ("redis-" + std::to_string(starts_) + ".log");
  proc_ = Process::start(
      {"/usr/bin/redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1", "--save",
       "", "--appendonly", "no", "--dir", dir_.path().string(), "--daemonize", "no"},
      log);
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
