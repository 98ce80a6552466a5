// api.insecure: the admin API (admin/api.h) over HTTP (cpp-httplib), on its own thread and its
// own address (the `traefik` entrypoint's), never on a proxying entrypoint. A thin adapter: every
// request goes to handle_api, so it answers exactly as api@internal does through a router. Only
// started when api.insecure asks for it; api@internal needs no listener of its own.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "admin/runtime.h"
#include "common/result.h"

namespace httplib {
class Server;
}

namespace portier::admin {

class ApiServer {
 public:
  ApiServer(const RuntimeStore& store, std::string version);
  ~ApiServer();
  // Binds host:port (port 0 picks one) and starts serving; returns the bound port.
  Result<int> start(const std::string& host, int port);
  // Before start(): also answer GET /metrics with `text` (Prometheus' text format), for
  // metrics.prometheus on the `traefik` entrypoint when api.insecure has its address.
  void set_metrics(std::function<std::string()> text) { metrics_ = std::move(text); }
  void stop();

 private:
  const RuntimeStore& store_;
  std::string version_;
  std::function<std::string()> metrics_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
};

}  // namespace portier::admin
