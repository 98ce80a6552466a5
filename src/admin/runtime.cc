#include "admin/runtime.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "admin/runtime_internal.h"

namespace portier::admin {

using detail::errors_of;
using detail::Problems;
using detail::provider_of;
using detail::with_status;

namespace {

using json = nlohmann::json;

std::string rfc3339(std::int64_t unix_ms) {
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(unix_ms % 1000));
  return buf;
}

}  // namespace

json router_json(const Runtime& rt, const std::string& name) {
  const auto& r = rt.config.http.routers.at(name);
  json j = {{"name", name},
            {"provider", provider_of(name)},
            {"rule", r.rule},
            {"service", r.service},
            {"priority", r.priority != 0 ? r.priority : static_cast<int>(r.rule.size())}};
  j["entryPoints"] = r.entry_points;
  if (r.tls) {
    json t = json::object();
    if (!r.tls->cert_resolver.empty()) t["certResolver"] = r.tls->cert_resolver;
    if (!r.tls->options.empty()) t["options"] = r.tls->options;
    if (!r.tls->domains.empty()) {
      json ds = json::array();
      for (const auto& d : r.tls->domains) ds.push_back({{"main", d.main}, {"sans", d.sans}});
      t["domains"] = ds;
    }
    j["tls"] = t;
  }
  if (r.entry_points.empty()) {
    for (const auto& [ep, addr] : rt.entrypoints) j["entryPoints"].push_back(ep);
  }
  if (!r.middlewares.empty()) j["middlewares"] = r.middlewares;
  return with_status(j, errors_of(rt, "router", name));
}

json service_json(const Runtime& rt, const std::string& name) {
  const auto& s = rt.config.http.services.at(name);
  const char* type = s.weighted        ? "weighted"
                     : s.failover      ? "failover"
                     : s.mirroring     ? "mirroring"
                     : s.load_balancer ? "loadbalancer"
                                       : nullptr;
  json j = {{"name", name}, {"provider", provider_of(name)}};
  // None for an internal service (api@internal), whose entry is only there to be listed, as
  // Traefik lists its own.
  if (type != nullptr) j["type"] = type;
  if (s.weighted) {
    json children = json::array();
    for (const auto& c : s.weighted->services) {
      children.push_back({{"name", c.name}, {"weight", c.weight}});
    }
    j["weighted"] = {{"services", children}};
    if (s.weighted->sticky) {
      const auto& c = *s.weighted->sticky;
      j["weighted"]["sticky"]["cookie"] = {{"name", c.name},          {"secure", c.secure},
                                           {"httpOnly", c.http_only}, {"sameSite", c.same_site},
                                           {"maxAge", c.max_age},     {"path", c.path}};
    }
    if (s.weighted->health_check) j["weighted"]["healthCheck"] = json::object();
  }
  if (s.failover) {
    j["failover"] = {{"service", s.failover->service}, {"fallback", s.failover->fallback}};
    if (s.failover->health_check) j["failover"]["healthCheck"] = json::object();
  }
  if (s.mirroring) {
    json mirrors = json::array();
    for (const auto& m : s.mirroring->mirrors) {
      mirrors.push_back({{"name", m.name}, {"percent", m.percent}});
    }
    j["mirroring"] = {{"service", s.mirroring->service},
                      {"mirrorBody", s.mirroring->mirror_body},
                      {"maxBodySize", s.mirroring->max_body_size},
                      {"mirrors", mirrors}};
    if (s.mirroring->health_check) j["mirroring"]["healthCheck"] = json::object();
  }
  if (s.load_balancer) {
    const auto& lb = *s.load_balancer;
    json servers = json::array();
    for (const auto& srv : lb.servers) {
      servers.push_back({{"url", srv.url}, {"weight", srv.weight}});
    }
    j["loadBalancer"] = {{"servers", servers},
                         {"passHostHeader", lb.pass_host_header},
                         {"strategy", lb.strategy.empty() ? "wrr" : lb.strategy}};
    if (lb.sticky) {
      j["loadBalancer"]["sticky"]["cookie"] = {
          {"name", lb.sticky->name},          {"secure", lb.sticky->secure},
          {"httpOnly", lb.sticky->http_only}, {"sameSite", lb.sticky->same_site},
          {"maxAge", lb.sticky->max_age},     {"path", lb.sticky->path}};
    }
    // Traefik's serverStatus, from the active health checks; portier adds when each server was
    // last checked.
    json status = json::object(), checked = json::object(), in_flight = json::object();
    auto h = rt.health.find(name);
    for (const auto& srv : lb.servers) {
      const ServerHealth* health = nullptr;
      if (h != rt.health.end()) {
        auto it = h->second.find(srv.url);
        if (it != h->second.end()) health = it->second.get();
      }
      status[srv.url] = !health || health->up.load(std::memory_order_relaxed) ? "UP" : "DOWN";
      if (health) {
        std::int64_t ms = health->last_check_ms.load(std::memory_order_relaxed);
        if (ms > 0) checked[srv.url] = rfc3339(ms);
      }
      if (auto l = rt.loads.find(srv.url); l != rt.loads.end()) {
        in_flight[srv.url] = l->second->in_flight.load(std::memory_order_relaxed);
      }
    }
    if (errors_of(rt, "service", name).disabled) status = json::object();
    j["serverStatus"] = status;
    if (!checked.empty()) j["serverLastCheck"] = checked;
    if (!in_flight.empty()) j["serverInFlight"] = in_flight;
  }
  json used_by = json::array();
  for (const auto& [rname, r] : rt.config.http.routers) {
    if (r.service == name) used_by.push_back(rname);
  }
  j["usedBy"] = used_by;
  return with_status(j, errors_of(rt, "service", name));
}

json middleware_json(const Runtime& rt, const std::string& name) {
  const auto& m = rt.config.http.middlewares.at(name);
  json j = {{"name", name}, {"provider", provider_of(name)}, {"type", m.type}};
  json used_by = json::array();
  for (const auto& [rname, r] : rt.config.http.routers) {
    if (std::find(r.middlewares.begin(), r.middlewares.end(), name) != r.middlewares.end()) {
      used_by.push_back(rname);
    }
  }
  j["usedBy"] = used_by;
  return with_status(j, errors_of(rt, "middleware", name));
}

json overview_json(const Runtime& rt) {
  auto count = [&](const std::string& kind, const auto& objects) {
    int total = 0, errors = 0, warnings = 0;
    for (const auto& [name, obj] : objects) {
      ++total;
      Problems p = errors_of(rt, kind, name);
      if (p.disabled) {
        ++errors;
      } else if (!p.empty()) {
        ++warnings;
      }
    }
    return json{{"total", total}, {"warnings", warnings}, {"errors", errors}};
  };
  json providers = json::array();
  std::vector<std::string> seen;
  for (const auto& [name, r] : rt.config.http.routers) {
    std::string p = provider_of(name);
    if (std::find(seen.begin(), seen.end(), p) == seen.end()) seen.push_back(p);
  }
  for (const auto& p : seen) providers.push_back(p);
  return {{"http",
           {{"routers", count("router", rt.config.http.routers)},
            {"services", count("service", rt.config.http.services)},
            {"middlewares", count("middleware", rt.config.http.middlewares)}}},
          {"tcp",
           {{"routers", count("tcp router", rt.config.tcp.routers)},
            {"services", count("tcp service", rt.config.tcp.services)},
            {"middlewares", count("tcp middleware", rt.config.tcp.middlewares)}}},
          {"udp",
           {{"routers", count("udp router", rt.config.udp.routers)},
            {"services", count("udp service", rt.config.udp.services)}}},
          {"providers", providers},
          // portier addition: static options accepted but not acted on yet.
          {"static", {{"warnings", rt.static_warnings}}}};
}

json provider_json(const Runtime& rt, const std::string& name) {
  const auto& status = rt.providers.at(name);
  json errors = json::array();
  bool any_error = false;
  for (const auto& issue : status.issues) {
    json e = {{"file", issue.file},
              {"message", issue.message},
              {"level", issue.warning ? "warning" : "error"},
              {"since", rfc3339(issue.since_unix_ms)}};
    if (issue.line > 0) e["line"] = issue.line;
    errors.push_back(std::move(e));
    any_error = any_error || !issue.warning;
  }
  const char* state = any_error ? "error" : status.issues.empty() ? "enabled" : "warning";
  return {{"name", name}, {"status", state}, {"errors", errors}};
}

json certificates_json(const Runtime& rt) {
  json out = json::array();
  for (const auto& c : rt.certificates) {
    json j = {{"source", c.source}, {"default", c.is_default}};
    if (!c.names.empty() || !c.domains.empty()) {
      // The main name: the one the resolver was asked for first, else the first DNS name.
      const auto& list = !c.domains.empty() ? c.domains : c.names;
      j["main"] = list.front();
      json sans = json::array();
      for (const auto& n : c.names.empty() ? c.domains : c.names) {
        if (n != list.front()) sans.push_back(n);
      }
      j["sans"] = sans;
    }
    if (c.not_after != 0) {
      j["subject"] = c.subject;
      j["issuer"] = c.issuer;
      j["serial"] = c.serial;
      j["notBefore"] = rfc3339(c.not_before * 1000);
      j["notAfter"] = rfc3339(c.not_after * 1000);
    }
    if (!c.resolver.empty()) {
      json a = {{"resolver", c.resolver}, {"domains", c.domains}, {"state", c.state}};
      if (!c.last_error.empty()) a["lastError"] = c.last_error;
      if (c.failures > 0) a["failures"] = c.failures;
      if (c.next_attempt > 0) a["nextAttempt"] = rfc3339(c.next_attempt * 1000);
      j["acme"] = a;
    }
    out.push_back(std::move(j));
  }
  return out;
}

json rawdata_json(const Runtime& rt) {
  json routers = json::object(), services = json::object();
  for (const auto& [name, r] : rt.config.http.routers) routers[name] = router_json(rt, name);
  for (const auto& [name, s] : rt.config.http.services) services[name] = service_json(rt, name);
  json middlewares = json::object();
  for (const auto& [name, m] : rt.config.http.middlewares) {
    middlewares[name] = middleware_json(rt, name);
  }
  json out = {{"routers", routers}, {"services", services}, {"middlewares", middlewares}};
  // Traefik's rawdata names the other sections tcpRouters, udpServices, ...; like its, they are
  // left out when empty.
  auto add = [&](const char* key, const auto& objects, auto to_json) {
    if (objects.empty()) return;
    json section = json::object();
    for (const auto& entry : objects) section[entry.first] = to_json(rt, entry.first);
    out[key] = std::move(section);
  };
  add("tcpRouters", rt.config.tcp.routers, tcp_router_json);
  add("tcpServices", rt.config.tcp.services, tcp_service_json);
  add("tcpMiddlewares", rt.config.tcp.middlewares, tcp_middleware_json);
  add("udpRouters", rt.config.udp.routers, udp_router_json);
  add("udpServices", rt.config.udp.services, udp_service_json);
  return out;
}

}  // namespace portier::admin
