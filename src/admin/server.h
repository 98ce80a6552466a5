// api.insecure: the admin API (admin/api.h) over HTTP/1.1, on its own thread and its own
// address (the `traefik` entrypoint's), never on a proxying entrypoint. A thin adapter: every
// request goes to handle_api, so it answers exactly as api@internal does through a router. Only
// started when api.insecure asks for it; api@internal needs no listener of its own.
//
// Requests are read with portier's own parser (proxy/http/parser.h, message.h), as strict here
// as on every entrypoint: a malformed head gets its 4xx and the connection closes. The API reads
// no body: one of up to 64 KiB (Content-Length) is read and dropped, a larger or chunked one is
// refused (413, 411) and the connection closed. Keep-alive as HTTP/1.1 has it, 5 s of quiet
// (or 5 s to send a head) closing a connection, at most 256 connections at once.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "admin/runtime.h"
#include "common/result.h"

namespace portier::admin {

class ApiServer {
 public:
  ApiServer(const RuntimeStore& store, std::string version);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;
  // Binds host:port (an IP address; port 0 picks one) and starts serving; returns the bound port.
  Result<int> start(const std::string& host, int port);
  // Before start(): also answer GET /metrics with `text` (Prometheus' text format), for
  // metrics.prometheus on the `traefik` entrypoint when api.insecure has its address.
  void set_metrics(std::function<std::string()> text);
  // Stops accepting and closes every connection; start() is not called again.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace portier::admin
