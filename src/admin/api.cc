#include "admin/api.h"

#include <optional>

#include "admin/dashboard.h"

namespace portier::admin {
namespace {

using json = nlohmann::json;

// Names and errors come from files and labels and need not be UTF-8: invalid bytes become
// U+FFFD, as Go's encoding/json writes them for Traefik (dump's default would throw, and the
// request would get no answer through a router).
ApiResponse json_response(const json& j, int status = 200) {
  return {status, "application/json", j.dump(-1, ' ', false, json::error_handler_t::replace), ""};
}

ApiResponse not_found(const std::string& what) {
  return json_response({{"message", what + " not found"}}, 404);
}

// Go's http.NotFound, as Traefik's API router answers an unknown path.
ApiResponse page_not_found() {
  return {404, "text/plain; charset=utf-8", "404 page not found\n", ""};
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "/api/http/routers/{name}": the one segment after `prefix`, or nullopt when the path is not
// that shape (an empty name or one more '/' is not).
std::optional<std::string_view> segment_after(std::string_view path, std::string_view prefix) {
  if (path.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string_view rest = path.substr(prefix.size());
  if (rest.empty() || rest.find('/') != std::string_view::npos) return std::nullopt;
  return rest;
}

// `list` ("/api/tcp/routers") answers every object of `objects(runtime)`, `list/{name}` one,
// with a 404 naming `kind` when there is none of that name.
template <typename Objects, typename ToJson>
std::optional<ApiResponse> collection(const RuntimeStore& store, std::string_view path,
                                      const std::string& list, const std::string& kind,
                                      Objects objects, ToJson to_json) {
  if (path == list) {
    auto rt = store.get();
    json out = json::array();
    for (const auto& entry : objects(*rt)) out.push_back(to_json(*rt, entry.first));
    return json_response(out);
  }
  if (auto name = segment_after(path, list + "/")) {
    auto rt = store.get();
    const std::string n = percent_decode(*name);
    if (!objects(*rt).count(n)) return not_found(kind);
    return json_response(to_json(*rt, n));
  }
  return std::nullopt;
}

// /api/tcp/* and /api/udp/*: Traefik's pkg/api/handler_tcp.go and handler_udp.go.
ApiResponse l4_route(const RuntimeStore& store, std::string_view path) {
  std::optional<ApiResponse> r = collection(
      store, path, "/api/tcp/routers", "router",
      [](const Runtime& rt) -> const auto& { return rt.config.tcp.routers; }, tcp_router_json);
  if (!r) {
    r = collection(
        store, path, "/api/tcp/services", "service",
        [](const Runtime& rt) -> const auto& { return rt.config.tcp.services; },
        tcp_service_json);
  }
  if (!r) {
    r = collection(
        store, path, "/api/tcp/middlewares", "middleware",
        [](const Runtime& rt) -> const auto& { return rt.config.tcp.middlewares; },
        tcp_middleware_json);
  }
  if (!r) {
    r = collection(
        store, path, "/api/udp/routers", "router",
        [](const Runtime& rt) -> const auto& { return rt.config.udp.routers; }, udp_router_json);
  }
  if (!r) {
    r = collection(
        store, path, "/api/udp/services", "service",
        [](const Runtime& rt) -> const auto& { return rt.config.udp.services; },
        udp_service_json);
  }
  return r ? *r : page_not_found();
}

ApiResponse route(const RuntimeStore& store, std::string_view version, std::string_view path,
                  std::string_view query) {
  if (path == "/ping") return {200, "text/plain", "OK", ""};
  if (store.dashboard && path.substr(0, 10) == "/dashboard" &&
      (path.size() == 10 || path[10] == '/')) {
    return dashboard_response(path.substr(10), query);
  }
  if (path == "/api/version") {
    json j = {{"Version", std::string(version)}, {"Codename", "portier"}};
    if (!store.dashboard_name.empty()) j["dashboardName"] = store.dashboard_name;
    return json_response(j);
  }
  if (path == "/api/overview") {
    json j = overview_json(*store.get());
    // portier addition: which instance answers (several can serve the same sites).
    j["instance"] = {
        {"name", store.dashboard_name.empty() ? store.hostname : store.dashboard_name},
        {"hostname", store.hostname}};
    // portier addition: whether /api/portier/traffic answers (the dashboard asks it only then).
    j["traffic"] = {{"available", static_cast<bool>(store.traffic_source)}};
    return json_response(j);
  }
  if (path == "/api/rawdata") return json_response(rawdata_json(*store.get()));
  if (path == "/api/entrypoints") {
    json out = json::array();
    for (const auto& [name, addr] : store.get()->entrypoints) {
      out.push_back({{"name", name}, {"address", addr}});
    }
    return json_response(out);
  }
  // Providers and what they refused (portier's addition; Traefik only lists their names in the
  // overview).
  if (path == "/api/providers") {
    auto rt = store.get();
    json out = json::array();
    for (const auto& [name, status] : rt->providers) out.push_back(provider_json(*rt, name));
    return json_response(out);
  }
  if (auto name = segment_after(path, "/api/providers/")) {
    auto rt = store.get();
    const std::string n = percent_decode(*name);
    if (!rt->providers.count(n)) return not_found("provider");
    return json_response(provider_json(*rt, n));
  }
  // portier's own namespace.
  if (path == "/api/portier/certificates") return json_response(certificates_json(*store.get()));
  if (path == "/api/portier/traffic") {
    if (!store.traffic_source) return page_not_found();
    return json_response(store.traffic_source());
  }
  if (path == "/api/portier/cache") {
    if (!store.cache_stats) return page_not_found();
    return json_response(store.cache_stats());
  }
  if (auto r = collection(
          store, path, "/api/http/routers", "router",
          [](const Runtime& rt) -> const auto& { return rt.config.http.routers; }, router_json)) {
    return *r;
  }
  if (auto r = collection(
          store, path, "/api/http/services", "service",
          [](const Runtime& rt) -> const auto& { return rt.config.http.services; }, service_json)) {
    return *r;
  }
  if (auto r = collection(
          store, path, "/api/http/middlewares", "middleware",
          [](const Runtime& rt) -> const auto& { return rt.config.http.middlewares; },
          middleware_json)) {
    return *r;
  }
  if (path.starts_with("/api/tcp/") || path.starts_with("/api/udp/")) {
    return l4_route(store, path);
  }
  return page_not_found();
}

}  // namespace

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    int hi, lo;
    if (s[i] == '%' && i + 2 < s.size() && (hi = hex(s[i + 1])) >= 0 && (lo = hex(s[i + 2])) >= 0) {
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// A query parameter's value (percent-decoded), or "".
static std::string query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    std::string_view item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const std::size_t eq = item.find('=');
    if (item.substr(0, eq) == name) {
      std::string v = percent_decode(eq == std::string_view::npos ? "" : item.substr(eq + 1));
      for (char& c : v) {
        if (c == '+') c = ' ';
      }
      return v;
    }
  }
  return "";
}

ApiResponse handle_api(const RuntimeStore& store, std::string_view version, std::string_view method,
                       std::string_view path, std::string_view query) {
  if (method == "DELETE" && path == "/api/portier/cache" && store.cache_purge) {
    // The one write in the API: purge cached responses (docs/middlewares.md, cache).
    const std::string key = query_param(query, "key");
    const std::string prefix = query_param(query, "prefix");
    if (key.empty() == prefix.empty()) {
      return {400, "text/plain; charset=utf-8", "give exactly one of key= and prefix=\n", ""};
    }
    return json_response(store.cache_purge(query_param(query, "middleware"), key, prefix));
  }
  ApiResponse r = route(store, version, path, query);
  if (method == "GET" || method == "HEAD") return r;
  if (r.status == 404 && r.content_type.rfind("text/plain", 0) == 0) return r;  // unknown path
  // A known path: the API is read-only (gorilla/mux's answer in Traefik).
  if (path == "/api/portier/cache" && store.cache_purge) {
    return {405, "text/plain; charset=utf-8", "405 method not allowed\n", "GET, HEAD, DELETE"};
  }
  return {405, "text/plain; charset=utf-8", "405 method not allowed\n", "GET, HEAD"};
}

}  // namespace portier::admin
