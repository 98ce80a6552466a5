#include "tcp/table.h"

#include <algorithm>
#include <set>

#include "common/host_port.h"
#include "rules/rule.h"
#include "tls/store.h"

namespace portier::tcp {

namespace ip = boost::asio::ip;

bool InFlight::acquire(const std::string& ip, int amount) {
  std::lock_guard lock(mu_);
  int& n = by_ip_[ip];
  if (n >= amount) return false;
  ++n;
  return true;
}

void InFlight::release(const std::string& ip) {
  std::lock_guard lock(mu_);
  auto it = by_ip_.find(ip);
  if (it == by_ip_.end()) return;
  if (--it->second <= 0) by_ip_.erase(it);
}

const Service* Service::pick_child() const {
  std::lock_guard lock(mu_);
  return wrr_pick_child(weighted, current_);
}

void Service::order(std::vector<const Server*>& out) const {
  const Service* s = this;
  for (int depth = 0; s != nullptr && !s->weighted.empty() && depth < 16; ++depth) {
    s = s->pick_child();
  }
  if (s == nullptr || s->servers.empty()) return;
  const std::size_t n = s->servers.size();
  const std::size_t first = s->next_.fetch_add(1, std::memory_order_relaxed) % n;
  for (std::size_t i = 0; i < n; ++i) out.push_back(&s->servers[(first + i) % n]);
}

bool EntryPointRoutes::https_host(std::string_view sni) const {
  if (sni.empty()) return false;
  for (const auto& h : https_hosts) {
    if (h == sni) return true;
    if (h.starts_with("*.")) {
      const std::size_t dot = sni.find('.');
      if (dot != std::string_view::npos && sni.substr(dot) == std::string_view(h).substr(1)) {
        return true;
      }
    }
  }
  return false;
}

namespace {

// "host:port" or "[v6]:port" -> Server; false when malformed. A host that is not an IP literal
// is a name, resolved per dial.
bool parse_server(const std::string& address, Server& s, std::string& err) {
  s.address = address;
  HostPort hp;
  // No host (":5432") is refused here; the UDP services resolve it as the local host.
  const bool no_host = !address.empty() && address.front() == ':' && address.rfind(':') == 0;
  const HostPortError e = no_host ? HostPortError::NoColon : split_host_port(address, hp);
  if (e != HostPortError::None) {
    err = host_port_message(e, address, "[::1]:5432", "must be host:port");
    return false;
  }
  s.host = hp.host;
  s.port = hp.port;
  boost::system::error_code aec;
  ip::address a = ip::make_address(hp.host, aec);
  if (!aec) s.endpoint = ip::tcp::endpoint(a, hp.number);
  return true;
}

}  // namespace

BuildResult Builder::build(const config::Configuration& cfg) {
  BuildResult result;
  result.enabled.assign(eps_.size(), false);
  const config::Tcp& tcp = cfg.tcp;
  if (tcp.routers.empty() && tcp.services.empty() && tcp.middlewares.empty()) return result;
  auto table = std::make_shared<Table>();
  auto fail = [&](const std::string& kind, const std::string& name, const std::string& msg) {
    result.errors.push_back({kind, name, msg});
  };

  // Services: load balancers first, then weighted ones whose children are all known (a cycle
  // or a missing child leaves a service unresolved).
  std::map<std::string, const Service*> services;
  for (const auto& [name, sc] : tcp.services) {
    if (!sc.provider_error.empty()) {
      fail("tcp service", name, sc.provider_error);
      continue;
    }
    if (!sc.load_balancer) continue;
    auto s = std::make_unique<Service>();
    s->name = name;
    s->proxy_protocol = sc.load_balancer->proxy_protocol_version;
    std::string err;
    if (const auto& tn = sc.load_balancer->servers_transport; !tn.empty()) {
      auto it = tcp.servers_transports.find(tn);
      if (it == tcp.servers_transports.end()) {
        err = "serversTransport `" + tn + "` does not exist";
      } else if (!it->second.provider_error.empty()) {
        err = "serversTransport `" + tn + "` is disabled: " + it->second.provider_error;
      } else {
        s->dial_timeout = it->second.dial_timeout;
        s->termination_delay = it->second.termination_delay;
        if (it->second.proxy_protocol_version != 0) {
          s->proxy_protocol = it->second.proxy_protocol_version;
        }
      }
    }
    for (const auto& srv : sc.load_balancer->servers) {
      if (!err.empty()) break;
      Server server;
      if (parse_server(srv.address, server, err)) s->servers.push_back(std::move(server));
    }
    if (!err.empty()) {
      fail("tcp service", name, err);
      continue;
    }
    services[name] = s.get();
    table->services_.push_back(std::move(s));
  }
  std::set<std::string> pending;
  for (const auto& [name, sc] : tcp.services) {
    if (sc.provider_error.empty() && sc.weighted) pending.insert(name);
  }
  for (bool progress = true; progress && !pending.empty();) {
    progress = false;
    for (auto it = pending.begin(); it != pending.end();) {
      const auto& children = *tcp.services.at(*it).weighted;
      bool ready = std::all_of(children.begin(), children.end(),
                               [&](const auto& c) { return services.count(c.name) > 0; });
      if (!ready) {
        ++it;
        continue;
      }
      auto s = std::make_unique<Service>();
      s->name = *it;
      for (const auto& c : children) s->weighted.emplace_back(services.at(c.name), c.weight);
      services[*it] = s.get();
      table->services_.push_back(std::move(s));
      it = pending.erase(it);
      progress = true;
    }
  }
  for (const auto& name : pending) {
    std::string missing;
    for (const auto& c : *tcp.services.at(name).weighted) {
      if (!services.count(c.name)) missing += (missing.empty() ? "`" : ", `") + c.name + "`";
    }
    fail("tcp service", name, "weighted child service " + missing +
                                  " does not exist, is disabled, or is part of a cycle");
  }

  std::map<std::string, const Middleware*> middlewares;
  for (const auto& [name, mc] : tcp.middlewares) {
    if (!mc.provider_error.empty()) {
      fail("tcp middleware", name, mc.provider_error);
      continue;
    }
    auto m = std::make_unique<Middleware>();
    m->name = name;
    if (mc.ip_allow_list) {
      auto matcher = proxy::mw::IpMatcher::parse(*mc.ip_allow_list);
      if (!matcher) {
        fail("tcp middleware", name, "ipAllowList.sourceRange: " + matcher.error().message);
        continue;
      }
      m->allow = std::move(*matcher);
    }
    if (mc.in_flight_conn) {
      auto& counter = in_flight_[name];
      if (!counter) counter = std::make_shared<InFlight>();
      m->in_flight = counter;
      m->amount = *mc.in_flight_conn;
    }
    middlewares[name] = m.get();
    table->middlewares_.push_back(std::move(m));
  }

  table->entrypoints_.resize(eps_.size());
  for (const auto& [name, rc] : tcp.routers) {
    // A named reference: clang 14 (the fuzz build) cannot capture a structured binding.
    const std::string& router_name = name;
    auto bad = [&](const std::string& msg) { fail("tcp router", router_name, msg); };
    if (!rc.provider_error.empty()) {
      bad(rc.provider_error);
      continue;
    }
    if (rc.rule.empty()) {
      bad("router has no rule");
      continue;
    }
    auto rule = parse_rule(rc.rule);
    if (!rule) {
      bad("invalid rule `" + rc.rule + "`: " + rule.error().message);
      continue;
    }
    if (!rc.tls && !rule->host_sni().empty()) {
      bad("invalid rule `" + rc.rule + "`: it has a HostSNI matcher, but no tls on the router "
          "(only HostSNI(`*`) routes connections without TLS)");
      continue;
    }
    auto route = std::make_unique<Route>();
    route->name = name;
    route->priority = rc.priority != 0 ? rc.priority
                                       : (rule->catch_all() ? -1 : static_cast<int>(rc.rule.size()));
    route->tls = !rc.tls ? TlsMode::None
                         : rc.tls->passthrough ? TlsMode::Passthrough : TlsMode::Terminate;
    auto svc = services.find(rc.service);
    if (rc.service.empty() || svc == services.end()) {
      bad(rc.service.empty() ? "the router has no service"
                             : "service `" + rc.service + "` does not exist or is disabled");
      continue;
    }
    route->service = svc->second;
    std::string mw_err;
    for (const auto& mn : rc.middlewares) {
      auto it = middlewares.find(mn);
      if (it == middlewares.end()) {
        mw_err = "middleware `" + mn + "` does not exist or is disabled";
        break;
      }
      route->middlewares.push_back(it->second);
    }
    if (!mw_err.empty()) {
      bad(mw_err);
      continue;
    }
    std::vector<std::size_t> placed;
    std::string ep_err;
    if (rc.entry_points.empty()) {
      for (std::size_t i = 0; i < eps_.size(); ++i) placed.push_back(i);
    } else {
      for (const auto& en : rc.entry_points) {
        auto it = std::find_if(eps_.begin(), eps_.end(), [&](const auto& e) { return e.name == en; });
        if (it == eps_.end()) {
          ep_err = "entrypoint `" + en + "` does not exist";
          break;
        }
        placed.push_back(static_cast<std::size_t>(it - eps_.begin()));
      }
    }
    if (!ep_err.empty()) {
      bad(ep_err);
      continue;
    }
    if (route->tls == TlsMode::Terminate && !rc.tls->options.empty()) {
      // A provider suffix (`modern@file`) is accepted, as on HTTP routers.
      std::string opt = rc.tls->options.substr(0, rc.tls->options.find('@'));
      if (opt != "default") {
        auto it = cfg.tls.options.find(opt);
        if (it == cfg.tls.options.end()) {
          bad("tls.options `" + rc.tls->options + "` does not exist");
          continue;
        }
        // Options that cannot be applied disable the router rather than serve it weaker.
        if (auto c = tls::compile_options(opt, it->second); !c) {
          bad("tls.options `" + rc.tls->options + "`: " + c.error().message);
          continue;
        }
      }
      route->tls_options = std::move(opt);
    }
    route->rule = std::move(*rule);
    if (route->tls == TlsMode::Terminate && !rc.tls->cert_resolver.empty()) {
      CertificateNeed need{name, rc.tls->cert_resolver, {}};
      for (const auto& d : rc.tls->domains) {
        std::vector<std::string> names{d.main};
        names.insert(names.end(), d.sans.begin(), d.sans.end());
        need.domains.push_back(std::move(names));
      }
      if (need.domains.empty()) {
        for (const auto& h : route->rule.host_sni()) need.domains.push_back({h});
      }
      if (!need.domains.empty()) result.certificates.push_back(std::move(need));
    }
    for (std::size_t i : placed) {
      auto& ep = table->entrypoints_[i];
      if (!ep) ep = std::make_unique<EntryPointRoutes>();
      (route->tls == TlsMode::None ? ep->plain : ep->tls).push_back(route.get());
      result.enabled[i] = true;
    }
    table->routes_.push_back(std::move(route));
  }
  auto by_priority = [](const Route* a, const Route* b) {
    return a->priority != b->priority ? a->priority > b->priority : a->name < b->name;
  };
  bool any = false;
  for (std::size_t i = 0; i < eps_.size(); ++i) {
    auto& ep = table->entrypoints_[i];
    if (!ep) continue;
    any = true;
    std::sort(ep->plain.begin(), ep->plain.end(), by_priority);
    std::sort(ep->tls.begin(), ep->tls.end(), by_priority);
    // The HTTPS routers sharing this entrypoint, for Traefik's precedence between them.
    std::set<std::string> hosts;
    for (const auto& [rn, r] : cfg.http.routers) {
      if (!r.provider_error.empty() || (!r.tls && !eps_[i].http_tls)) continue;
      if (!r.entry_points.empty() &&
          std::find(r.entry_points.begin(), r.entry_points.end(), eps_[i].name) ==
              r.entry_points.end()) {
        continue;
      }
      auto hr = rules::parse(r.rule);
      if (!hr) continue;
      if (hr->host_names().empty()) {
        ep->https_catch_all = true;
      } else {
        hosts.insert(hr->host_names().begin(), hr->host_names().end());
      }
    }
    ep->https_hosts.assign(hosts.begin(), hosts.end());
  }
  if (any) result.table = std::move(table);
  return result;
}

}  // namespace portier::tcp
