// The tcp and udp objects of the API. Field names are Traefik's (dynamic.TCPRouter,
// TCPService, TCPMiddleware, UDPRouter, UDPService with runtime's status, error, using and
// usedBy); like Traefik, TCP and UDP services have no serverStatus without health checks, which
// portier does not run for them.
#include <algorithm>

#include "admin/runtime.h"
#include "admin/runtime_internal.h"

namespace portier::admin {

using detail::errors_of;
using detail::provider_of;
using detail::with_status;
using json = nlohmann::json;

namespace {

// The routers whose service is `name`.
template <typename Routers>
json routers_using_service(const Routers& routers, const std::string& name) {
  json out = json::array();
  for (const auto& [rname, r] : routers) {
    if (r.service == name) out.push_back(rname);
  }
  return out;
}

json weighted_json(const auto& children) {
  json list = json::array();
  for (const auto& c : children) list.push_back({{"name", c.name}, {"weight", c.weight}});
  return {{"services", list}};
}

// The entrypoints a router is on: its own list, else every entrypoint of its kind.
json router_entrypoints(const std::vector<std::string>& configured,
                        const std::vector<std::string>& all) {
  return configured.empty() ? json(all) : json(configured);
}

}  // namespace

json tcp_router_json(const Runtime& rt, const std::string& name) {
  const auto& r = rt.config.tcp.routers.at(name);
  // The default priority as the TCP table computes it: the rule's length, -1 for HostSNI(`*`)
  // alone (Traefik's catch-all).
  std::string compact = r.rule;
  std::erase_if(compact, [](char c) { return c == ' ' || c == '\t'; });
  const bool catch_all = compact == "HostSNI(`*`)" || compact == "HostSNI(\"*\")";
  const int priority =
      r.priority != 0 ? r.priority : catch_all ? -1 : static_cast<int>(r.rule.size());
  std::vector<std::string> all;
  for (const auto& [ep, addr] : rt.entrypoints) {
    if (std::find(rt.udp_entrypoints.begin(), rt.udp_entrypoints.end(), ep) ==
        rt.udp_entrypoints.end()) {
      all.push_back(ep);
    }
  }
  json j = {{"name", name},
            {"provider", provider_of(name)},
            {"rule", r.rule},
            {"service", r.service},
            {"priority", priority},
            {"priorityStr", std::to_string(priority)}};
  j["entryPoints"] = router_entrypoints(r.entry_points, all);
  j["using"] = j["entryPoints"];
  if (!r.rule_syntax.empty()) j["ruleSyntax"] = r.rule_syntax;
  if (!r.middlewares.empty()) j["middlewares"] = r.middlewares;
  if (r.tls) {
    json t = {{"passthrough", r.tls->passthrough}};
    if (!r.tls->options.empty()) t["options"] = r.tls->options;
    if (!r.tls->cert_resolver.empty()) t["certResolver"] = r.tls->cert_resolver;
    if (!r.tls->domains.empty()) {
      json ds = json::array();
      for (const auto& d : r.tls->domains) ds.push_back({{"main", d.main}, {"sans", d.sans}});
      t["domains"] = ds;
    }
    j["tls"] = t;
  }
  return with_status(j, errors_of(rt, "tcp router", name));
}

json tcp_service_json(const Runtime& rt, const std::string& name) {
  const auto& s = rt.config.tcp.services.at(name);
  json j = {{"name", name}, {"provider", provider_of(name)}};
  if (s.load_balancer) {
    j["type"] = "loadbalancer";
    json servers = json::array();
    for (const auto& srv : s.load_balancer->servers) {
      json one = {{"address", srv.address}};
      if (srv.tls) one["tls"] = true;
      servers.push_back(one);
    }
    json lb = {{"servers", servers}};
    if (!s.load_balancer->servers_transport.empty()) {
      lb["serversTransport"] = s.load_balancer->servers_transport;
    }
    if (s.load_balancer->proxy_protocol_version != 0) {
      lb["proxyProtocol"] = {{"version", s.load_balancer->proxy_protocol_version}};
    }
    j["loadBalancer"] = lb;
  } else if (s.weighted) {
    j["type"] = "weighted";
    j["weighted"] = weighted_json(*s.weighted);
  }
  j["usedBy"] = routers_using_service(rt.config.tcp.routers, name);
  return with_status(j, errors_of(rt, "tcp service", name));
}

json tcp_middleware_json(const Runtime& rt, const std::string& name) {
  const auto& m = rt.config.tcp.middlewares.at(name);
  json j = {{"name", name}, {"provider", provider_of(name)}};
  if (m.ip_allow_list) {
    j["type"] = "ipallowlist";
    j["ipAllowList"] = {{"sourceRange", *m.ip_allow_list}};
  } else if (m.in_flight_conn) {
    j["type"] = "inflightconn";
    j["inFlightConn"] = {{"amount", *m.in_flight_conn}};
  }
  json used_by = json::array();
  for (const auto& [rname, r] : rt.config.tcp.routers) {
    if (std::find(r.middlewares.begin(), r.middlewares.end(), name) != r.middlewares.end()) {
      used_by.push_back(rname);
    }
  }
  j["usedBy"] = used_by;
  return with_status(j, errors_of(rt, "tcp middleware", name));
}

json udp_router_json(const Runtime& rt, const std::string& name) {
  const auto& r = rt.config.udp.routers.at(name);
  json j = {{"name", name}, {"provider", provider_of(name)}, {"service", r.service}};
  j["entryPoints"] = router_entrypoints(r.entry_points, rt.udp_entrypoints);
  j["using"] = j["entryPoints"];
  return with_status(j, errors_of(rt, "udp router", name));
}

json udp_service_json(const Runtime& rt, const std::string& name) {
  const auto& s = rt.config.udp.services.at(name);
  json j = {{"name", name}, {"provider", provider_of(name)}};
  if (s.load_balancer) {
    j["type"] = "loadbalancer";
    json servers = json::array();
    for (const auto& srv : *s.load_balancer) servers.push_back({{"address", srv.address}});
    j["loadBalancer"] = {{"servers", servers}};
  } else if (s.weighted) {
    j["type"] = "weighted";
    j["weighted"] = weighted_json(*s.weighted);
  }
  j["usedBy"] = routers_using_service(rt.config.udp.routers, name);
  return with_status(j, errors_of(rt, "udp service", name));
}

}  // namespace portier::admin
