#include "proxy/routing_table.h"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cctype>
#include <limits>
#include <set>

#include "common/log.h"
#include "proxy/upstream_tls.h"
#include "tls/store.h"

namespace portier::proxy {
namespace {

struct ParsedUrl {
  std::string host;  // without brackets
  std::string port;
  std::string host_header;
  bool tls = false;
  bool h2c = false;
};

bool parse_server_url(const std::string& url, ParsedUrl& out, std::string& err) {
  constexpr std::string_view kHttp = "http://";
  constexpr std::string_view kHttps = "https://";
  constexpr std::string_view kH2c = "h2c://";
  std::size_t scheme_len = 0;
  if (url.compare(0, kHttp.size(), kHttp) == 0) {
    scheme_len = kHttp.size();
  } else if (url.compare(0, kHttps.size(), kHttps) == 0) {
    scheme_len = kHttps.size();
    out.tls = true;
  } else if (url.compare(0, kH2c.size(), kH2c) == 0) {
    scheme_len = kH2c.size();
    out.h2c = true;
  } else {
    err = "server URL `" + url + "` must start with http://, https:// or h2c://";
    return false;
  }
  const char* default_port = out.tls ? "443" : "80";
  std::string rest = url.substr(scheme_len);
  rest = rest.substr(0, rest.find('/'));
  out.host_header = rest;
  if (!rest.empty() && rest.front() == '[') {
    std::size_t close = rest.find(']');
    if (close == std::string::npos) {
      err = "server URL `" + url + "` has an unclosed IPv6 bracket";
      return false;
    }
    out.host = rest.substr(1, close - 1);
    out.port =
        close + 1 < rest.size() && rest[close + 1] == ':' ? rest.substr(close + 2) : default_port;
  } else {
    std::size_t colon = rest.rfind(':');
    out.host = rest.substr(0, colon);
    out.port = colon == std::string::npos ? default_port : rest.substr(colon + 1);
  }
  if (out.host.empty() || out.port.empty() || out.port.size() > 5 ||
      !std::all_of(out.port.begin(), out.port.end(), ::isdigit) || std::stoul(out.port) > 65535) {
    err = "server URL `" + url + "` has no valid host and port";
    return false;
  }
  return true;
}

bool route_before(const Route* a, const Route* b) {
  if (a->priority != b->priority) return a->priority > b->priority;
  return a->name < b->name;
}

}  // namespace

std::size_t normalize_host(std::string_view host, char* out) {
  if (!host.empty() && host.front() == '[') {
    // An IPv6 literal: routed on without its brackets, as Traefik's Host(`::1`) expects.
    const std::size_t close = host.find(']');
    host = close == std::string_view::npos ? std::string_view() : host.substr(1, close - 1);
  } else {
    host = host.substr(0, host.rfind(':'));
  }
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (host.size() > 255) return 0;
  for (std::size_t i = 0; i < host.size(); ++i) {
    const char c = host[i];  // ASCII only, whatever the locale (std::tolower was a libc call)
    out[i] = c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c;
  }
  return host.size();
}

const Route* EntryPointRoutes::match(const rules::Request& req, bool skip_redirects) const {
  const std::vector<const Route*>* hosted = nullptr;
  if (!req.host.empty() && !by_host_.empty()) {
    auto it = by_host_.find(req.host);
    if (it != by_host_.end()) hosted = &it->second;
  }
  // Merge the two priority-ordered lists; the first rule that matches wins.
  std::size_t i = 0, j = 0;
  const std::size_t n = hosted ? hosted->size() : 0;
  while (i < n || j < any_host_.size()) {
    const Route* r;
    if (j >= any_host_.size() || (i < n && route_before((*hosted)[i], any_host_[j]))) {
      r = (*hosted)[i++];
    } else {
      r = any_host_[j++];
    }
    if (skip_redirects && r->entrypoint_redirect) continue;
    if (r->rule.matches(req)) return r;
  }
  return nullptr;
}

void TableBuilder::add_entrypoint_redirects(RoutingTable& table) {
  for (std::size_t i = 0; i < infos_.size(); ++i) {
    if (!infos_[i].redirect) continue;
    const auto& r = *infos_[i].redirect;
    auto route = std::make_unique<Route>();
    route->name =
        infos_[i].name + "-to-" + (!r.to.empty() && r.to.front() == ':' ? r.to.substr(1) : r.to) + "@internal";
    // Traefik's default: just below the ACME challenge router, so above every router.
    route->priority = r.priority != 0 ? r.priority : std::numeric_limits<int>::max() - 1;
    route->rule = *rules::parse("PathPrefix(`/`)");
    route->entrypoint_redirect = Redirect{r.scheme, infos_[i].redirect_port, r.permanent};
    table.entrypoints_[i].any_host_.push_back(route.get());
    table.routes_.push_back(std::move(route));
  }
}

bool TableBuilder::tls_requests(
    const std::string& name, const config::Router& router, const rules::Rule& rule,
    const std::vector<std::pair<std::size_t, const config::RouterTls*>>& placed,
    const config::Tls& tls, BuildResult& result, std::string& err) const {
  for (const auto& [ep, t] : placed) {
    if (t == nullptr) continue;
    if (!t->options.empty()) {
      // Options are global in portier; a provider suffix (`modern@file`) is accepted.
      std::string opt = t->options.substr(0, t->options.find('@'));
      if (opt != "default") {
        auto it = tls.options.find(opt);
        if (it == tls.options.end()) {
          err = "tls.options `" + t->options + "` does not exist";
          return false;
        }
        // Options that cannot be applied disable the router: serving its names with the
        // defaults instead would quietly weaken what was asked for.
        if (auto c = tls::compile_options(opt, it->second); !c) {
          err = "tls.options `" + t->options + "`: " + c.error().message;
          return false;
        }
      }
      for (const auto& h : rule.pinned_hosts()) {
        auto [it, inserted] = result.tls_options_by_host.emplace(h, opt);
        if (!inserted && it->second != opt) {
          // Two routers want different options for one name: Traefik falls back to default.
          log::warn("conflicting tls.options for one host; using default",
                    {{"router", name}, {"host", h}});
          it->second = "default";
        }
      }
    }
    if (t->cert_resolver.empty()) continue;
    CertificateRequest req{name, t->cert_resolver, {}};
    if (!t->domains.empty()) {
      for (const auto& d : t->domains) {
        std::vector<std::string> set;
        if (!d.main.empty()) set.push_back(d.main);
        set.insert(set.end(), d.sans.begin(), d.sans.end());
        if (!set.empty()) req.domains.push_back(std::move(set));
      }
    } else if (!rule.host_names().empty()) {
      // One certificate for every name of the rule's Host matchers, as Traefik does.
      req.domains.push_back(rule.host_names());
    }
    const bool on_demand = std::find(on_demand_resolvers_.begin(), on_demand_resolvers_.end(),
                                     t->cert_resolver) != on_demand_resolvers_.end();
    if (req.domains.empty() && !on_demand) {
      err = "tls.certResolver `" + t->cert_resolver +
            "` needs names: a Host rule or tls.domains (HostRegexp gives none)";
      return false;
    }
    if (std::none_of(result.certificates.begin(), result.certificates.end(),
                     [&](const CertificateRequest& c) { return c.router == name; })) {
      result.certificates.push_back(std::move(req));
    }
    (void)router;
  }
  return true;
}

TableBuilder::ServerSlot TableBuilder::server_slot(const std::string& url) {
  auto [it, inserted] = server_ids_.try_emplace(url);
  if (inserted) {
    if (free_ids_.empty()) {
      it->second.id = next_id_++;
    } else {
      it->second.id = free_ids_.back();
      free_ids_.pop_back();
    }
    it->second.generation = next_generation_++;
  }
  return it->second;
}

void TableBuilder::release_absent(const config::Configuration& cfg) {
  std::set<std::string_view> named;
  for (const auto& [name, svc] : cfg.http.services) {
    if (!svc.load_balancer) continue;
    for (const auto& server : svc.load_balancer->servers) named.insert(server.url);
  }
  for (auto it = server_ids_.begin(); it != server_ids_.end();) {
    // A key is the URL, then, for a named transport, the transport (see build()).
    if (named.count(std::string_view(it->first).substr(0, it->first.find('\x1f')))) {
      ++it;
      continue;
    }
    free_ids_.push_back(it->second.id);
    loads_.erase(it->first);
    it = server_ids_.erase(it);
  }
}

void TableBuilder::release_unused(const RoutingTable& table) {
  const auto& live = table.server_ids_;  // sorted
  for (auto it = server_ids_.begin(); it != server_ids_.end();) {
    if (std::binary_search(live.begin(), live.end(), it->second.id)) {
      ++it;
      continue;
    }
    free_ids_.push_back(it->second.id);
    loads_.erase(it->first);
    it = server_ids_.erase(it);
  }
}

void TableBuilder::compile_transports(const config::Http& http) {
  if (!default_transport_ && default_transport_error_.empty()) {
    auto d = compile_default_transport(default_transport_config_);
    if (d) {
      default_transport_ = *d;
    } else {
      default_transport_error_ = d.error().message;
    }
  }
  for (auto it = transports_.begin(); it != transports_.end();) {
    it = http.servers_transports.count(it->first) ? std::next(it) : transports_.erase(it);
  }
  for (const auto& [name, t] : http.servers_transports) {
    auto& slot = transports_[name];
    if ((slot.transport || !slot.error.empty()) && slot.config == t) continue;
    slot.config = t;
    slot.transport.reset();
    slot.error.clear();
    auto c = compile_transport(name, t);
    if (c) {
      slot.transport = *c;
    } else {
      slot.error = c.error().message;
      log::warn("serversTransport disabled", {{"serversTransport", name}, {"error", slot.error}});
    }
  }
}

std::shared_ptr<const Transport> TableBuilder::transport_for(const std::string& name,
                                                             std::string& err) {
  if (name.empty() || name == "default@internal" || name == "default") {
    if (!default_transport_) err = default_transport_error_;
    return default_transport_;
  }
  auto it = transports_.find(name);
  if (it == transports_.end()) {
    err = "serversTransport `" + name + "` does not exist";
    return nullptr;
  }
  if (!it->second.transport) err = "serversTransport `" + name + "`: " + it->second.error;
  return it->second.transport;
}

BuildResult TableBuilder::build(const config::Configuration& cfg) {
  BuildResult result;
  auto table = std::make_shared<RoutingTable>();
  table->entrypoints_.resize(infos_.size());
  table->tls_entrypoints_.resize(infos_.size());
  table->tls_enabled_.assign(infos_.size(), false);
  for (std::size_t i = 0; i < infos_.size(); ++i)
    table->tls_enabled_[i] = infos_[i].tls.has_value();
  std::map<std::string, const ServiceTarget*> services;
  boost::asio::io_context resolver_ctx;
  boost::asio::ip::tcp::resolver resolver(resolver_ctx);
  release_absent(cfg);
  compile_transports(cfg.http);

  for (const auto& [name, svc] : cfg.http.services) {
    if (auto in = internal_.find(name); in != internal_.end()) {
      auto target = std::make_unique<ServiceTarget>();
      target->name = name;
      target->index = static_cast<std::uint32_t>(table->services_.size());
      target->kind = ServiceKind::Internal;
      target->internal = in->second;
      services[name] = target.get();
      table->services_.push_back(std::move(target));
      continue;
    }
    if (svc.weighted || svc.failover || svc.mirroring) continue;  // compile_composites
    if (!svc.provider_error.empty()) {
      result.errors.push_back({"service", name, svc.provider_error});
      continue;
    }
    if (!svc.load_balancer) {
      result.errors.push_back(
          {"service", name, "no loadBalancer, weighted, failover or mirroring given"});
      continue;
    }
    auto target = std::make_unique<ServiceTarget>();
    target->name = name;
    target->index = static_cast<std::uint32_t>(table->services_.size());
    target->pass_host_header = svc.load_balancer->pass_host_header;
    std::string transport_err;
    std::shared_ptr<const Transport> transport =
        transport_for(svc.load_balancer->servers_transport, transport_err);
    if (!transport) {
      result.errors.push_back({"service", name, transport_err});
      continue;
    }
    // Pools are per key: a server reached through two transports never shares connections,
    // and a changed transport starts afresh (its serial is new).
    const bool named_transport = transport->name != "default@internal";
    bool ok = true;
    for (const auto& server : svc.load_balancer->servers) {
      ParsedUrl u;
      std::string err;
      if (!parse_server_url(server.url, u, err)) {
        result.errors.push_back({"service", name, err});
        ok = false;
        break;
      }
      boost::asio::ip::tcp::endpoint endpoint;
      if (names_ != nullptr) {
        NameCache::Answer a = names_->lookup(u.host, u.port);
        if (!a.endpoint) {
          result.errors.push_back({"service", name, a.error});
          ok = false;
          break;
        }
        endpoint = *a.endpoint;
      } else {
        // No cache (unit tests, benchmarks): resolve here, blocking.
        boost::system::error_code ec;
        auto eps =
            resolver.resolve(u.host, u.port, boost::asio::ip::resolver_base::numeric_service, ec);
        if (ec || eps.empty()) {
          result.errors.push_back(
              {"service", name, "cannot resolve `" + u.host + "`: " + ec.message()});
          ok = false;
          break;
        }
        endpoint = eps.begin()->endpoint();
      }
      ServerTarget st;
      st.url = server.url;
      st.endpoint = endpoint;
      st.host_header = u.host_header;
      st.transport = transport;
      st.tls = u.tls;
      st.h2c = u.h2c;
      st.tls_host = u.host;
      const std::string key = named_transport ? server.url + '\x1f' + transport->name + '#' +
                                                    std::to_string(transport->serial)
                                              : server.url;
      const ServerSlot slot = server_slot(key);
      st.id = slot.id;
      st.generation = slot.generation;
      auto& load = loads_[key];
      if (!load) load = std::make_shared<ServerLoad>();
      st.load = load;
      result.loads[server.url] = load;
      st.weight = server.weight;
      if (!server.down_reason.empty()) {
        // Known down by its provider (a Docker healthcheck): out of the rotation until the
        // provider says otherwise, whatever an active check would say.
        auto down = std::make_shared<ServerHealth>();
        down->up.store(false, std::memory_order_relaxed);
        st.health = down;
        result.health[name][server.url] = std::move(down);
      } else if (health_ && svc.load_balancer->health_check) {
        st.health = health_->track(name, server.url, st.endpoint, st.host_header,
                                   *svc.load_balancer->health_check, {transport, u.tls, u.host});
        result.health[name][server.url] = st.health;
      }
      target->servers.push_back(std::move(st));
    }
    if (!ok) continue;
    // No servers (allowEmptyServices, a stopped container that allows it, `servers: []`):
    // the service exists and answers 503, as Traefik's.
    if (std::string e = compile_balancing(*svc.load_balancer, sticky_salt_, *target); !e.empty()) {
      result.errors.push_back({"service", name, e});
      continue;
    }
    for (const auto& s : target->servers) {
      table->server_ids_.push_back(s.id);
      table->max_server_id_ = std::max(table->max_server_id_, s.id);
    }
    services[name] = target.get();
    table->services_.push_back(std::move(target));
  }
  compile_composites(cfg.http, *table, services, result);
  std::sort(table->server_ids_.begin(), table->server_ids_.end());
  table->server_ids_.erase(std::unique(table->server_ids_.begin(), table->server_ids_.end()),
                           table->server_ids_.end());
  release_unused(*table);
  if (names_ != nullptr) names_->sweep();

  for (const auto& [name, mw] : cfg.http.middlewares) {
    if (std::string e = middleware_error(mw); !e.empty()) {
      result.errors.push_back({"middleware", name, e});
    }
  }
  for (const auto& [name, router] : cfg.http.routers) {
    if (!router.provider_error.empty()) {
      result.errors.push_back({"router", name, router.provider_error});
      continue;
    }
    auto rule = rules::parse(router.rule);
    if (!rule) {
      result.errors.push_back(
          {"router", name, "rule `" + router.rule + "`: " + rule.error().message});
      continue;
    }
    std::string err;
    if (!router.rule_syntax.empty() && router.rule_syntax != "v3") {
      result.errors.push_back(
          {"router", name, "ruleSyntax `" + router.rule_syntax + "` is not supported (only v3)"});
      continue;
    }
    auto svc = services.find(router.service);
    if (svc == services.end()) {
      result.errors.push_back(
          {"router", name, "service `" + router.service + "` does not exist or is disabled"});
      continue;
    }
    std::vector<std::size_t> eps;
    if (router.entry_points.empty()) {
      // Every entrypoint but `traefik`, Traefik's internal one (ping, the API), which a router
      // reaches only by naming it.
      for (std::size_t i = 0; i < infos_.size(); ++i) {
        if (infos_[i].name != "traefik") eps.push_back(i);
      }
    } else {
      for (const auto& ep : router.entry_points) {
        auto it = std::find_if(infos_.begin(), infos_.end(),
                               [&](const EntryPointInfo& e) { return e.name == ep; });
        if (it == infos_.end()) {
          err = "entrypoint `" + ep + "` does not exist";
          break;
        }
        eps.push_back(static_cast<std::size_t>(it - infos_.begin()));
      }
      if (!err.empty()) {
        result.errors.push_back({"router", name, err});
        continue;
      }
    }
    // TLS: the router's own, else its entrypoints' http.tls (then the router is TLS on those
    // entrypoints only, as in Traefik).
    std::vector<std::pair<std::size_t, const config::RouterTls*>> placed;
    for (std::size_t ep : eps) {
      const config::RouterTls* t = router.tls       ? &*router.tls
                                   : infos_[ep].tls ? &*infos_[ep].tls
                                                    : nullptr;
      placed.emplace_back(ep, t);
    }
    if (!tls_requests(name, router, *rule, placed, cfg.tls, result, err)) {
      result.errors.push_back({"router", name, err});
      continue;
    }
    ChainContext chain_ctx;
    chain_ctx.services = &services;
    chain_ctx.states = &filter_states_;
    chain_ctx.router = name;
    auto chain = compile_chain(router.middlewares, cfg.http.middlewares, chain_ctx);
    if (!chain) {
      result.errors.push_back({"router", name, chain.error().message});
      continue;
    }
    auto route = std::make_unique<Route>();
    route->name = name;
    // Traefik's default priority: the rule's length, so more specific rules usually win.
    route->priority = router.priority != 0 ? router.priority : static_cast<int>(router.rule.size());
    route->rule = std::move(*rule);
    route->chain = std::move(*chain);
    route->service = svc->second;
    for (auto [ep, t] : placed) {
      if (t != nullptr && route->tls_options.empty()) {
        route->tls_options =
            t->options.empty() ? "default" : t->options.substr(0, t->options.find('@'));
      }
    }
    for (auto [ep, t] : placed) {
      auto& routes = t ? table->tls_entrypoints_[ep] : table->entrypoints_[ep];
      if (t) table->tls_enabled_[ep] = true;
      if (route->rule.pinned_hosts().empty()) {
        routes.any_host_.push_back(route.get());
      } else {
        for (const auto& h : route->rule.pinned_hosts()) routes.by_host_[h].push_back(route.get());
      }
    }
    table->routes_.push_back(std::move(route));
  }
  add_entrypoint_redirects(*table);
  for (auto* v : {&table->entrypoints_, &table->tls_entrypoints_}) {
    for (auto& ep : *v) {
      std::sort(ep.any_host_.begin(), ep.any_host_.end(), route_before);
      for (auto& [h, list] : ep.by_host_) std::sort(list.begin(), list.end(), route_before);
    }
  }
  if (health_) health_->sweep();  // checks of servers no longer in any service stop
  filter_states_.sweep();
  if (metrics_ != nullptr) {
    std::vector<std::uint32_t> live;
    for (auto& r : table->routes_) live.push_back(r->metrics_id = metrics_->intern(r->name));
    for (auto& sv : table->services_) live.push_back(sv->metrics_id = metrics_->intern(sv->name));
    metrics_->set_live(std::move(live));
  }
  result.table = std::move(table);
  return result;
}

}  // namespace portier::proxy
