#include "proxy/routing_table.h"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cctype>

namespace portier::proxy {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The rule subset of this stage: Host(`a`, ...), Path(`/p`), PathPrefix(`/p`) joined by &&.
// The full Traefik v3 rule language replaces this (issue 3).
struct SimpleRule {
  std::vector<std::string> hosts;
  std::string path_prefix;
  std::string path;
};

bool parse_simple_rule(std::string_view rule, SimpleRule& out, std::string& err) {
  std::size_t i = 0;
  auto skip_ws = [&] {
    while (i < rule.size() && std::isspace(static_cast<unsigned char>(rule[i]))) ++i;
  };
  bool first = true;
  for (;;) {
    skip_ws();
    if (i >= rule.size()) break;
    if (!first) {
      if (rule.substr(i, 2) != "&&") {
        err = "expected && at column " + std::to_string(i + 1);
        return false;
      }
      i += 2;
      skip_ws();
    }
    first = false;
    std::size_t name_start = i;
    while (i < rule.size() && std::isalpha(static_cast<unsigned char>(rule[i]))) ++i;
    std::string name(rule.substr(name_start, i - name_start));
    if (i >= rule.size() || rule[i] != '(') {
      err = "expected a matcher like Host(`...`) at column " + std::to_string(name_start + 1);
      return false;
    }
    ++i;
    std::vector<std::string> args;
    for (;;) {
      skip_ws();
      if (i < rule.size() && (rule[i] == '`' || rule[i] == '"')) {
        char q = rule[i++];
        std::size_t end = rule.find(q, i);
        if (end == std::string_view::npos) {
          err = "unterminated string at column " + std::to_string(i);
          return false;
        }
        args.emplace_back(rule.substr(i, end - i));
        i = end + 1;
        skip_ws();
        if (i < rule.size() && rule[i] == ',') {
          ++i;
          continue;
        }
      }
      if (i < rule.size() && rule[i] == ')') {
        ++i;
        break;
      }
      err = "expected a quoted argument or ) at column " + std::to_string(i + 1);
      return false;
    }
    if (args.empty()) {
      err = name + " needs at least one argument";
      return false;
    }
    if (name == "Host") {
      for (auto& h : args) {
        std::string l = lower(h);
        if (!l.empty() && l.back() == '.') l.pop_back();
        out.hosts.push_back(l);
      }
    } else if (name == "PathPrefix" && args.size() == 1) {
      out.path_prefix = args[0];
    } else if (name == "Path" && args.size() == 1) {
      out.path = args[0];
    } else {
      err = "matcher " + name + " is not supported yet (Host, Path and PathPrefix are)";
      return false;
    }
  }
  if (first) {
    err = "empty rule";
    return false;
  }
  return true;
}

struct ParsedUrl {
  std::string host;  // without brackets
  std::string port;
  std::string host_header;
};

bool parse_server_url(const std::string& url, ParsedUrl& out, std::string& err) {
  constexpr std::string_view kHttp = "http://";
  if (url.compare(0, kHttp.size(), kHttp) != 0) {
    err =
        "server URL `" + url + "` must start with http:// (https upstreams are not supported yet)";
    return false;
  }
  std::string rest = url.substr(kHttp.size());
  rest = rest.substr(0, rest.find('/'));
  out.host_header = rest;
  if (!rest.empty() && rest.front() == '[') {
    std::size_t close = rest.find(']');
    if (close == std::string::npos) {
      err = "server URL `" + url + "` has an unclosed IPv6 bracket";
      return false;
    }
    out.host = rest.substr(1, close - 1);
    out.port = close + 1 < rest.size() && rest[close + 1] == ':' ? rest.substr(close + 2) : "80";
  } else {
    std::size_t colon = rest.rfind(':');
    out.host = rest.substr(0, colon);
    out.port = colon == std::string::npos ? "80" : rest.substr(colon + 1);
  }
  if (out.host.empty() || out.port.empty() ||
      !std::all_of(out.port.begin(), out.port.end(), ::isdigit)) {
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

bool Route::matches_path(std::string_view p) const {
  if (!path.empty() && p != path) return false;
  if (!path_prefix.empty() && p.substr(0, path_prefix.size()) != path_prefix) return false;
  return true;
}

const Route* EntryPointRoutes::match(std::string_view host, std::string_view path) const {
  // Host without port and trailing dot, lower-cased into a stack buffer: no allocation.
  if (!host.empty() && host.front() != '[') {
    host = host.substr(0, host.rfind(':'));
  } else if (!host.empty()) {
    host = host.substr(0, host.find(']') + 1);
  }
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  char buf[256];
  const std::vector<const Route*>* hosted = nullptr;
  if (host.size() <= sizeof buf && !by_host_.empty()) {
    for (std::size_t i = 0; i < host.size(); ++i) {
      buf[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(host[i])));
    }
    auto it = by_host_.find(std::string_view(buf, host.size()));
    if (it != by_host_.end()) hosted = &it->second;
  }
  // Merge the two priority-ordered lists, first match wins.
  std::size_t i = 0, j = 0;
  const std::size_t n = hosted ? hosted->size() : 0;
  while (i < n || j < any_host_.size()) {
    const Route* r;
    if (j >= any_host_.size() || (i < n && route_before((*hosted)[i], any_host_[j]))) {
      r = (*hosted)[i++];
    } else {
      r = any_host_[j++];
    }
    if (r->matches_path(path)) return r;
  }
  return nullptr;
}

std::uint32_t TableBuilder::server_id(const std::string& key) {
  auto [it, inserted] =
      server_ids_.try_emplace(key, static_cast<std::uint32_t>(server_ids_.size()));
  return it->second;
}

BuildResult TableBuilder::build(const config::Configuration& cfg) {
  BuildResult result;
  auto table = std::make_shared<RoutingTable>();
  table->entrypoints_.resize(entrypoints_.size());
  std::map<std::string, const ServiceTarget*> services;
  boost::asio::io_context resolver_ctx;
  boost::asio::ip::tcp::resolver resolver(resolver_ctx);

  for (const auto& [name, svc] : cfg.http.services) {
    if (!svc.load_balancer) {
      result.errors.push_back({"service " + name, "no loadBalancer given"});
      continue;
    }
    auto target = std::make_unique<ServiceTarget>();
    target->name = name;
    target->index = static_cast<std::uint32_t>(table->services_.size());
    target->pass_host_header = svc.load_balancer->pass_host_header;
    bool ok = true;
    for (const auto& server : svc.load_balancer->servers) {
      ParsedUrl u;
      std::string err;
      if (!parse_server_url(server.url, u, err)) {
        result.errors.push_back({"service " + name, err});
        ok = false;
        break;
      }
      boost::system::error_code ec;
      auto eps =
          resolver.resolve(u.host, u.port, boost::asio::ip::resolver_base::numeric_service, ec);
      if (ec || eps.empty()) {
        result.errors.push_back(
            {"service " + name, "cannot resolve `" + u.host + "`: " + ec.message()});
        ok = false;
        break;
      }
      ServerTarget st;
      st.url = server.url;
      st.endpoint = eps.begin()->endpoint();
      st.host_header = u.host_header;
      st.id = server_id(server.url);
      target->servers.push_back(std::move(st));
    }
    if (!ok) continue;
    if (target->servers.empty()) {
      result.errors.push_back({"service " + name, "no servers"});
      continue;
    }
    for (const auto& s : target->servers) {
      table->server_ids_.push_back(s.id);
      table->max_server_id_ = std::max(table->max_server_id_, s.id);
    }
    services[name] = target.get();
    table->services_.push_back(std::move(target));
  }
  std::sort(table->server_ids_.begin(), table->server_ids_.end());
  table->server_ids_.erase(std::unique(table->server_ids_.begin(), table->server_ids_.end()),
                           table->server_ids_.end());

  for (const auto& [name, router] : cfg.http.routers) {
    SimpleRule rule;
    std::string err;
    if (!parse_simple_rule(router.rule, rule, err)) {
      result.errors.push_back({"router " + name, "rule `" + router.rule + "`: " + err});
      continue;
    }
    if (!router.middlewares.empty()) {
      result.errors.push_back({"router " + name, "middlewares are not supported yet"});
      continue;
    }
    auto svc = services.find(router.service);
    if (svc == services.end()) {
      result.errors.push_back(
          {"router " + name, "service `" + router.service + "` does not exist or is disabled"});
      continue;
    }
    std::vector<std::size_t> eps;
    if (router.entry_points.empty()) {
      for (std::size_t i = 0; i < entrypoints_.size(); ++i) eps.push_back(i);
    } else {
      for (const auto& ep : router.entry_points) {
        auto it = std::find(entrypoints_.begin(), entrypoints_.end(), ep);
        if (it == entrypoints_.end()) {
          err = "entrypoint `" + ep + "` does not exist";
          break;
        }
        eps.push_back(static_cast<std::size_t>(it - entrypoints_.begin()));
      }
      if (!err.empty()) {
        result.errors.push_back({"router " + name, err});
        continue;
      }
    }
    auto route = std::make_unique<Route>();
    route->name = name;
    route->priority = router.priority != 0 ? router.priority : static_cast<int>(router.rule.size());
    route->hosts = rule.hosts;
    route->path_prefix = rule.path_prefix;
    route->path = rule.path;
    route->service = svc->second;
    for (std::size_t ep : eps) {
      auto& routes = table->entrypoints_[ep];
      if (route->hosts.empty()) {
        routes.any_host_.push_back(route.get());
      } else {
        for (const auto& h : route->hosts) routes.by_host_[h].push_back(route.get());
      }
    }
    table->routes_.push_back(std::move(route));
  }
  for (auto& ep : table->entrypoints_) {
    std::sort(ep.any_host_.begin(), ep.any_host_.end(), route_before);
    for (auto& [h, list] : ep.by_host_) std::sort(list.begin(), list.end(), route_before);
  }
  result.table = std::move(table);
  return result;
}

}  // namespace portier::proxy
