#include "admin/server.h"

#include <httplib.h>

namespace portier::admin {

using json = nlohmann::json;

namespace {

void send_json(httplib::Response& res, const json& j, int status = 200) {
  res.status = status;
  res.set_content(j.dump(), "application/json");
}

// "/api/http/routers/whoami@file" style names may be URL-encoded by clients.
std::string decoded(const std::string& s) { return httplib::detail::decode_url(s, false); }

}  // namespace

ApiServer::ApiServer(const RuntimeStore& store, std::string version)
    : store_(store), version_(std::move(version)), http_(std::make_unique<httplib::Server>()) {
  auto& h = *http_;
  h.Get("/ping", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("OK", "text/plain");
  });
  h.Get("/api/version", [this](const httplib::Request&, httplib::Response& res) {
    send_json(res, {{"Version", version_}, {"Codename", "portier"}});
  });
  h.Get("/api/overview", [this](const httplib::Request&, httplib::Response& res) {
    send_json(res, overview_json(*store_.get()));
  });
  h.Get("/api/rawdata", [this](const httplib::Request&, httplib::Response& res) {
    send_json(res, rawdata_json(*store_.get()));
  });
  h.Get("/api/entrypoints", [this](const httplib::Request&, httplib::Response& res) {
    json out = json::array();
    for (const auto& [name, addr] : store_.get()->entrypoints) {
      out.push_back({{"name", name}, {"address", addr}});
    }
    send_json(res, out);
  });
  h.Get("/api/http/routers", [this](const httplib::Request&, httplib::Response& res) {
    auto rt = store_.get();
    json out = json::array();
    for (const auto& [name, r] : rt->config.http.routers) out.push_back(router_json(*rt, name));
    send_json(res, out);
  });
  h.Get(R"(/api/http/routers/([^/]+))",
        [this](const httplib::Request& req, httplib::Response& res) {
          auto rt = store_.get();
          std::string name = decoded(req.matches[1]);
          if (!rt->config.http.routers.count(name)) {
            return send_json(res, {{"message", "router not found"}}, 404);
          }
          send_json(res, router_json(*rt, name));
        });
  h.Get("/api/http/services", [this](const httplib::Request&, httplib::Response& res) {
    auto rt = store_.get();
    json out = json::array();
    for (const auto& [name, s] : rt->config.http.services) out.push_back(service_json(*rt, name));
    send_json(res, out);
  });
  h.Get(R"(/api/http/services/([^/]+))",
        [this](const httplib::Request& req, httplib::Response& res) {
          auto rt = store_.get();
          std::string name = decoded(req.matches[1]);
          if (!rt->config.http.services.count(name)) {
            return send_json(res, {{"message", "service not found"}}, 404);
          }
          send_json(res, service_json(*rt, name));
        });
  h.Get("/api/http/middlewares", [this](const httplib::Request&, httplib::Response& res) {
    auto rt = store_.get();
    json out = json::array();
    for (const auto& [name, m] : rt->config.http.middlewares) {
      out.push_back(middleware_json(*rt, name));
    }
    send_json(res, out);
  });
  h.Get(R"(/api/http/middlewares/([^/]+))",
        [this](const httplib::Request& req, httplib::Response& res) {
          auto rt = store_.get();
          std::string name = decoded(req.matches[1]);
          if (!rt->config.http.middlewares.count(name)) {
            return send_json(res, {{"message", "middleware not found"}}, 404);
          }
          send_json(res, middleware_json(*rt, name));
        });
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
