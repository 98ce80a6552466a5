// The admin API: Traefik's read-only endpoints over HTTP (cpp-httplib), on its own thread and
// its own address, never on a proxying entrypoint. It reads RuntimeStore snapshots only.
//
//   /ping  /api/version  /api/overview  /api/entrypoints  /api/rawdata
//   /api/providers[/{name}]  (portier's: each provider's refused sources)
//   /api/http/routers[/{name}]  /api/http/services[/{name}]  /api/http/middlewares[/{name}]
#pragma once

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
  void stop();

 private:
  const RuntimeStore& store_;
  std::string version_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
};

}  // namespace portier::admin
