#include "admin/server.h"

#include <sys/socket.h>

#include <httplib.h>

#include "admin/api.h"

namespace portier::admin {

ApiServer::ApiServer(const RuntimeStore& store, std::string version)
    : store_(store), version_(std::move(version)), http_(std::make_unique<httplib::Server>()) {
  // The API reads no body: a small limit keeps a client from making the thread buffer one.
  http_->set_payload_max_length(64 * 1024);
  // cpp-httplib sets SO_REUSEPORT by default, which lets this listener share its port with
  // another process of the same user (another portier's entrypoint) and take half its
  // connections without a word. SO_REUSEADDR only: such a port makes start() fail instead.
  http_->set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    // req.path is already decoded; handle_api wants the target as sent.
    std::string_view target = req.target, query;
    if (auto q = target.find('?'); q != std::string_view::npos) {
      query = target.substr(q + 1);
      target = target.substr(0, q);
    }
    if (metrics_ && target == "/metrics" && (req.method == "GET" || req.method == "HEAD")) {
      res.status = 200;
      res.set_content(metrics_(), "text/plain; version=0.0.4; charset=utf-8");
      return;
    }
    ApiResponse r = handle_api(store_, version_, req.method, target, query);
    res.status = r.status;
    if (!r.allow.empty()) res.set_header("Allow", r.allow);
    for (const auto& [name, value] : r.fields) res.set_header(name, value);
    res.set_content(r.body, r.content_type);  // HEAD: httplib sends no body
  };
  // Every path and method, so the routing is handle_api's alone (Get also serves HEAD).
  const std::string any = R"([\s\S]*)";
  http_->Get(any, handler);
  http_->Post(any, handler);
  http_->Put(any, handler);
  http_->Patch(any, handler);
  http_->Delete(any, handler);
  http_->Options(any, handler);
}

ApiServer::~ApiServer() { stop(); }

Result<int> ApiServer::start(const std::string& host, int port) {
  int bound =
      port == 0 ? http_->bind_to_any_port(host) : (http_->bind_to_port(host, port) ? port : -1);
  if (bound < 0) return Error{"api: cannot listen on " + host + ":" + std::to_string(port)};
  thread_ = std::thread([this] { http_->listen_after_bind(); });
  return bound;
}

void ApiServer::stop() {
  if (http_) http_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace portier::admin
