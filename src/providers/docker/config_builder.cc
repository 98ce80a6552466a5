#include "providers/docker/config_builder.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "providers/docker/l4_objects.h"
#include "providers/docker/labels.h"

namespace portier::providers::docker {
namespace {

constexpr const char* kComposeProject = "com.docker.compose.project";
constexpr const char* kComposeService = "com.docker.compose.service";

// Result<std::string> cannot take a bare string (Error is constructible from one too).
Result<std::string> ok(std::string s) {
  return Result<std::string>(boost::system::in_place_value, std::move(s));
}

std::string trim(std::string s) {
  s.erase(0, s.find_first_not_of(" \t"));
  s.erase(s.find_last_not_of(" \t") + 1);
  return s;
}

// The value of one template expression: .Name | index .Labels "k" | normalize X | (X).
Result<std::string> eval_expr(std::string e, const std::string& name,
                              const std::map<std::string, std::string>& labels) {
  e = trim(e);
  if (e.size() >= 2 && e.front() == '(' && e.back() == ')') {
    return eval_expr(e.substr(1, e.size() - 2), name, labels);
  }
  if (e == ".Name") return ok(name);
  if (e.rfind("normalize ", 0) == 0) {
    auto inner = eval_expr(e.substr(10), name, labels);
    if (!inner) return inner;
    return ok(normalize(*inner));
  }
  if (e.rfind("index .Labels ", 0) == 0) {
    std::string key = trim(e.substr(14));
    if (key.size() < 2 || key.front() != '"' || key.back() != '"') {
      return Error{"index .Labels needs a \"quoted\" key"};
    }
    auto it = labels.find(key.substr(1, key.size() - 2));
    return ok(it == labels.end() ? std::string() : it->second);
  }
  return Error{"unsupported template expression `" + e +
               "` (supported: .Name, index .Labels \"key\", normalize)"};
}

std::string compose_name(const Container& c) {
  auto p = c.labels.find(kComposeProject);
  auto s = c.labels.find(kComposeService);
  if (p != c.labels.end() && s != c.labels.end()) return s->second + "_" + p->second;
  return c.service_name.empty() ? c.name : c.service_name;
}

// How messages name `c`: a container, or (Swarm) a task or a service's virtual IP.
std::string noun(const Container& c) {
  if (c.service_name.empty()) return "container " + c.name;
  return (c.name == c.service_name ? "service " : "task ") + c.name;
}

struct Address {
  std::string host;
  std::optional<std::string> error;
};

Address container_address(const Container& c, const std::string& network) {
  if (c.network_mode == "host") {
    return {c.host_address.empty() ? "127.0.0.1" : c.host_address, std::nullopt};
  }
  if (!network.empty()) {
    auto it = c.networks.find(network);
    if (it == c.networks.end() || it->second.empty()) {
      return {"", "the container is not on network `" + network + "`"};
    }
    return {it->second, std::nullopt};
  }
  for (const auto& [net, ip] : c.networks) {  // ordered by name: deterministic
    if (!ip.empty()) return {ip, std::nullopt};
  }
  return {"", "the container has no IP address (no network, or not running)"};
}

}  // namespace

Result<std::string> render_default_rule(const std::string& tmpl, const std::string& name,
                                        const std::map<std::string, std::string>& labels) {
  std::string out;
  std::size_t i = 0;
  while (i < tmpl.size()) {
    std::size_t open = tmpl.find("{{", i);
    if (open == std::string::npos) {
      out.append(tmpl, i);
      break;
    }
    out.append(tmpl, i, open - i);
    std::size_t close = tmpl.find("}}", open + 2);
    if (close == std::string::npos) return Error{"defaultRule: unclosed {{"};
    auto v = eval_expr(tmpl.substr(open + 2, close - open - 2), name, labels);
    if (!v) return Error{"defaultRule: " + v.error().message};
    out += *v;
    i = close + 2;
  }
  return ok(std::move(out));
}

BuildOutput build_configuration(const std::vector<Container>& containers,
                                const BuilderOptions& options) {
  BuildOutput out;
  // Sorted by name so that merges and conflicts do not depend on the Engine's order.
  std::vector<const Container*> sorted;
  for (const auto& c : containers) sorted.push_back(&c);
  std::sort(sorted.begin(), sorted.end(),
            [](const Container* a, const Container* b) { return a->name < b->name; });

  auto problem = [&](Problem::Level l, const Container& c, std::string object, std::string msg) {
    out.problems.push_back({l, c.name, std::move(object), std::move(msg)});
  };
  // name -> the containers that define it; more than one name in `conflicts` disables it.
  std::map<std::string, std::string> router_owner, service_owner, middleware_owner;
  std::map<std::string, std::set<std::string>> conflicts;  // "router x" -> containers
  std::map<std::string, std::string> server_errors;  // service -> why a container had no server
  std::set<std::string> keep_empty;  // services of non-running containers that asked to stay

  for (const Container* cp : sorted) {
    const Container& c = *cp;
    if (!options.constraints.matches(c.labels)) continue;
    DecodedLabels d = decode_labels(c.labels, options.label_prefixes, c.name, options.dialect);
    if (!d.enable.value_or(options.exposed_by_default)) continue;
    // A container that is not running is left out, unless it asks to stay (Traefik's
    // allownonrunning) or stands for an empty Swarm service: its routers stay, its services
    // have no server (503).
    if (!c.running && !d.allow_non_running && !c.placeholder) continue;
    for (const auto& e : d.errors) {
      problem(e.warning ? Problem::Level::Warning : Problem::Level::Error, c,
              e.name.empty() ? "" : e.kind + " " + e.name, e.message);
    }
    // Objects whose labels did not decode stay in the configuration as errors, so the API
    // shows them disabled with the reason instead of them vanishing.
    config::Configuration broken;
    for (const auto& e : d.errors) {
      if (e.warning) continue;
      const std::string msg = noun(c) + ": " + e.message;
      if (e.kind == "router") broken.http.routers[e.name].provider_error = msg;
      if (e.kind == "service") broken.http.services[e.name].provider_error = msg;
      if (e.kind == "middleware") broken.http.middlewares[e.name].provider_error = msg;
    }
    const std::string base_name = compose_name(c);
    const std::string default_service = normalize(base_name);
    auto& cfg = d.config;
    // A container labelled for TCP or UDP only gets no default HTTP router and service (Traefik's).
    const bool tcp_only = (!cfg.tcp.routers.empty() || !cfg.tcp.services.empty() ||
                           !cfg.udp.routers.empty() || !cfg.udp.services.empty()) &&
                          cfg.http.routers.empty() && cfg.http.services.empty() &&
                          cfg.http.middlewares.empty();
    if (cfg.http.services.empty() && !tcp_only) {
      // A service the labels broke stays broken: do not invent a default in its place.
      bool service_error = std::any_of(d.errors.begin(), d.errors.end(),
                                       [](const LabelError& e) { return e.kind == "service"; });
      if (!service_error) cfg.http.services[default_service].load_balancer.emplace();
    }
    if (cfg.http.routers.empty() && !tcp_only &&
        std::none_of(d.errors.begin(), d.errors.end(),
                     [](const LabelError& e) { return e.kind == "router"; })) {
      auto rule = render_default_rule(options.default_rule, base_name, c.labels);
      if (!rule) {
        problem(Problem::Level::Error, c, "router " + default_service, rule.error().message);
      } else {
        config::Router r;
        r.rule = *rule;
        cfg.http.routers[default_service] = r;
      }
    }
    for (auto& [rname, r] : cfg.http.routers) {
      // A router labelled without a rule gets the default rule, as in Traefik
      // (provider.BuildRouterConfiguration); it used to stay empty and be disabled.
      if (r.rule.empty()) {
        auto rule = render_default_rule(options.default_rule, base_name, c.labels);
        if (rule) {
          r.rule = *rule;
        } else {
          problem(Problem::Level::Error, c, "router " + rname, rule.error().message);
        }
      }
      if (!r.service.empty()) continue;
      if (cfg.http.services.size() == 1) {
        r.service = cfg.http.services.begin()->first;
      } else {
        problem(Problem::Level::Error, c, "router " + rname,
                "no service label and the container defines " +
                    std::to_string(cfg.http.services.size()) + " services; say which one");
      }
    }

    // One server per service for this container, unless it is paused. A container whose
    // healthcheck fails (or has not passed yet) keeps its server, marked down: it feeds the
    // same server state as an active health check (out of the rotation, DOWN in the API, 503
    // when no server of the service is up).
    const bool gets_traffic = c.running && !c.paused;
    for (auto& [sname, svc] : cfg.http.services) {
      if (!svc.load_balancer) continue;
      if (!c.running) keep_empty.insert(sname);
      const ServerLabels& sl = d.servers[sname];
      if (gets_traffic) {
        std::string url = sl.url;
        if (url.empty()) {
          Address a = container_address(c, d.network.empty() ? options.network : d.network);
          if (a.error) {
            problem(Problem::Level::Error, c, "service " + sname, *a.error);
            server_errors.try_emplace(sname, noun(c) + ": " + *a.error);
            continue;
          }
          int port = 0;
          if (sl.port) {
            port = *sl.port;
          } else if (c.exposed_ports.size() == 1) {
            port = *c.exposed_ports.begin();
          } else if (!c.exposed_ports.empty()) {
            port = *c.exposed_ports.begin();
            problem(Problem::Level::Warning, c, "service " + sname,
                    "several exposed ports; using the lowest, " + std::to_string(port) +
                        " (set loadbalancer.server.port to choose)");
          } else {
            const std::string why = c.service_name.empty() ? "no port: the container exposes none"
                                                           : "no port: the service publishes none";
            problem(Problem::Level::Error, c, "service " + sname,
                    why + "; set loadbalancer.server.port");
            server_errors.try_emplace(sname,
                                      noun(c) + ": " + why + "; set loadbalancer.server.port");
            continue;
          }
          url = (sl.scheme.empty() ? std::string("http") : sl.scheme) + "://" + a.host + ":" +
                std::to_string(port);
        }
        config::Server server;
        server.url = url;
        if (sl.weight) server.weight = *sl.weight;
        if (c.health == Health::Unhealthy) server.down_reason = "Docker healthcheck: unhealthy";
        if (c.health == Health::Starting) server.down_reason = "Docker healthcheck: starting";
        svc.load_balancer->servers.push_back(server);
      }
    }

    // Merge into the provider's snapshot. Replicas define the same objects: servers add up.
    // A different definition under the same name is a conflict: the object is disabled with
    // an error naming the containers (Traefik drops it).
    for (auto& [sname, svc] : cfg.http.services) {
      auto [it, inserted] = out.config.http.services.try_emplace(sname, svc);
      if (inserted) {
        service_owner[sname] = c.name;
        continue;
      }
      if (conflicts.count("service " + sname)) {
        conflicts["service " + sname].insert(c.name);
        continue;
      }
      if (!add_replica_servers(svc, it->second)) {
        conflicts["service " + sname] = {service_owner[sname], c.name};
      }
    }
    for (auto& [rname, r] : cfg.http.routers) {
      if (r.service.empty()) continue;
      auto [it, inserted] = out.config.http.routers.try_emplace(rname, r);
      if (inserted) {
        router_owner[rname] = c.name;
      } else if (conflicts.count("router " + rname)) {
        conflicts["router " + rname].insert(c.name);
      } else if (!(it->second == r)) {
        conflicts["router " + rname] = {router_owner[rname], c.name};
      }
    }
    for (auto& [mname, m] : cfg.http.middlewares) {
      auto [it, inserted] = out.config.http.middlewares.try_emplace(mname, m);
      if (inserted) {
        middleware_owner[mname] = c.name;
      } else if (conflicts.count("middleware " + mname)) {
        conflicts["middleware " + mname].insert(c.name);
      } else if (!(it->second == m)) {
        conflicts["middleware " + mname] = {middleware_owner[mname], c.name};
      }
    }
    // Objects whose labels are broken take part like the others: a name another container
    // defines validly is a conflict naming both, whichever comes first (they used to enter
    // without an owner, so a conflict named "" and the other container, or there was none when
    // the valid definition came first; found by the labels fuzz target).
    auto add_broken = [&](auto& into, const auto& objects, auto& owner, const std::string& kind) {
      for (const auto& [n, obj] : objects) {
        auto [it, inserted] = into.try_emplace(n, obj);
        if (inserted) {
          owner[n] = c.name;
        } else if (conflicts.count(kind + " " + n)) {
          conflicts[kind + " " + n].insert(c.name);
        } else if (it->second.provider_error.empty()) {
          // Against a valid definition. Two broken ones (replicas with the same typo) keep the
          // first's error, which says what to fix.
          conflicts[kind + " " + n] = {owner[n], c.name};
        }
      }
    };
    const std::string l4_host =
        c.running && !c.paused
            ? container_address(c, d.network.empty() ? options.network : d.network).host
            : std::string();
    add_tcp_objects(c, d, default_service, l4_host, out);
    add_udp_objects(c, d, default_service, l4_host, out);
    add_broken(out.config.http.routers, broken.http.routers, router_owner, "router");
    add_broken(out.config.http.services, broken.http.services, service_owner, "service");
    add_broken(out.config.http.middlewares, broken.http.middlewares, middleware_owner,
               "middleware");
  }

  for (const auto& [object, owners] : conflicts) {
    std::string names;
    for (const auto& o : owners) names += (names.empty() ? "" : ", ") + o;
    const std::string msg = "defined differently by containers " + names + "; disabled";
    const std::string kind = object.substr(0, object.find(' '));
    const std::string name = object.substr(kind.size() + 1);
    for (const auto& o : owners) out.problems.push_back({Problem::Level::Error, o, object, msg});
    if (kind == "service") {
      config::Service broken;
      broken.provider_error = msg;
      out.config.http.services[name] = broken;
      keep_empty.insert(name);
    } else if (kind == "router") {
      config::Router broken;
      broken.provider_error = msg;
      out.config.http.routers[name] = broken;
    } else {
      config::Middleware broken;
      broken.provider_error = msg;
      out.config.http.middlewares[name] = broken;
    }
  }

  if (!options.allow_empty_services) {
    // A service without servers is dropped (its routers then report the missing service), so
    // requests get 404 rather than 503: Traefik's behaviour without allowEmptyServices.
    std::set<std::string> dropped;
    for (auto it = out.config.http.services.begin(); it != out.config.http.services.end();) {
      bool empty = it->second.load_balancer && it->second.load_balancer->servers.empty() &&
                   !keep_empty.count(it->first);
      if (empty && server_errors.count(it->first)) {
        // Not a normal state but a mistake (no port, wrong network): keep the service, as an
        // error the API shows, rather than let it vanish.
        it->second.provider_error = server_errors[it->first];
        ++it;
        continue;
      }
      if (empty) dropped.insert(it->first);
      it = empty ? out.config.http.services.erase(it) : std::next(it);
    }
    // Their routers go too, as Traefik drops such containers whole: a paused container is a
    // normal state, not a configuration error to report on every change.
    for (auto it = out.config.http.routers.begin(); it != out.config.http.routers.end();) {
      it = dropped.count(it->second.service) ? out.config.http.routers.erase(it) : std::next(it);
    }
  }
  return out;
}

Result<BuilderOptions> builder_options(const config::DockerProvider& cfg) {
  BuilderOptions options;
  options.label_prefixes = cfg.label_prefixes;
  options.exposed_by_default = cfg.exposed_by_default;
  options.default_rule = cfg.default_rule;
  options.network = cfg.network;
  options.allow_empty_services = cfg.allow_empty_services;
  auto constraints = parse_constraints(cfg.constraints);
  if (!constraints) return constraints.error();
  options.constraints = std::move(*constraints);
  return options;
}

}  // namespace portier::providers::docker
