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
  // Providers and what they refused (portier's addition; Traefik only lists their names in the
  // overview).
  h.Get("/api/providers", [this](const httplib::Request&, httplib::Response& res) {
    auto rt = store_.get();
    json out = json::array();
    for (const auto& [name, status] : rt->providers) out.push_back(provider_json(*rt, name));
    send_json(res, out);
  });
  h.Get("/api/providers/([^/]+)", [this](const httplib::Request& req, httplib::Response& res) {
    auto rt = store_.get();
    std::string name = decoded(req.matches[1]);
    if (!rt->providers.count(name)) return send_json(res, {{"message", "provider not found"}}, 404);
    send_json(res, provider_json(*rt, name));
  });
  // One list endpoint and one by-name endpoint per kind of object.
  auto collection = [&](const std::string& kind, auto objects, auto to_json) {
    h.Get("/api/http/" + kind + "s",
          [this, objects, to_json](const httplib::Request&, httplib::Response& res) {
            auto rt = store_.get();
            json out = json::array();
            for (const auto& entry : objects(*rt)) out.push_back(to_json(*rt, entry.first));
            send_json(res, out);
          });
    h.Get("/api/http/" + kind + "s/([^/]+)",
          [this, kind, objects, to_json](const httplib::Request& req, httplib::Response& res) {
            auto rt = store_.get();
            std::string name = decoded(req.matches[1]);
            if (!objects(*rt).count(name))
              return send_json(res, {{"message", kind + " not found"}}, 404);
            send_json(res, to_json(*rt, name));
          });
  };
  collection(
      "router", [](const Runtime& rt) -> const auto& { return rt.config.http.routers; },
      router_json);
  collection(
      "service", [](const Runtime& rt) -> const auto& { return rt.config.http.services; },
      service_json);
  collection(
      "middleware", [](const Runtime& rt) -> const auto& { return rt.config.http.middlewares; },
      middleware_json);
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
