#include "udp/table.h"

#include <boost/asio/io_context.hpp>
#include <map>
#include <set>

#include "common/host_port.h"

namespace portier::udp {

namespace ip = boost::asio::ip;

const Service* Service::pick_child() const {
  std::lock_guard lock(mu_);
  return wrr_pick_child(weighted, current_);
}

const Server* Service::pick() const {
  const Service* s = this;
  for (int depth = 0; s != nullptr && !s->weighted.empty() && depth < 16; ++depth) {
    s = s->pick_child();
  }
  if (s == nullptr || s->servers.empty()) return nullptr;
  std::lock_guard lock(s->mu_);
  return &s->servers[s->next_++ % s->servers.size()];
}

namespace {

// "host:port" or "[v6]:port" -> endpoint; a host name is resolved now (control thread).
bool parse_server(const std::string& address, Server& s, std::string& err) {
  s.address = address;
  HostPort hp;
  if (const HostPortError e = split_host_port(address, hp); e != HostPortError::None) {
    err = host_port_message(e, address, "[::1]:53", "has no :port");
    return false;
  }
  boost::system::error_code aec;
  ip::address a = ip::make_address(hp.host, aec);
  if (aec) {
    boost::asio::io_context io;
    ip::udp::resolver resolver(io);
    auto results = resolver.resolve(hp.host, hp.port, aec);
    if (aec || results.empty()) {
      err = "server address `" + address + "`: cannot resolve `" + hp.host + "`" +
            (aec ? ": " + aec.message() : std::string());
      return false;
    }
    s.endpoint = results.begin()->endpoint();
    return true;
  }
  s.endpoint = ip::udp::endpoint(a, hp.number);
  return true;
}

struct Build {
  const config::Configuration& cfg;
  std::vector<std::unique_ptr<Service>>& services;  // moved into the table by the Builder
  std::vector<BuildError>& errors;
  std::map<std::string, Service*> done;
  std::set<std::string> failed;
  std::set<std::string> visiting;

  // The service named `name`, or null with the reason in `err` (the service's own errors are
  // reported once, under its name).
  Service* resolve(const std::string& name, std::string& err) {
    if (auto it = done.find(name); it != done.end()) return it->second;
    if (failed.count(name)) {
      err = "service `" + name + "` is disabled";
      return nullptr;
    }
    auto it = cfg.udp.services.find(name);
    if (it == cfg.udp.services.end()) {
      err = "service `" + name + "` does not exist";
      return nullptr;
    }
    if (!visiting.insert(name).second) {
      err = "service `" + name + "` refers to itself through weighted";
      return nullptr;
    }
    std::string own = it->second.provider_error;
    auto svc = std::make_unique<Service>();
    svc->name = name;
    if (own.empty() && it->second.load_balancer) {
      for (const auto& sc : *it->second.load_balancer) {
        Server s;
        if (!parse_server(sc.address, s, own)) break;
        svc->servers.push_back(std::move(s));
      }
    }
    if (own.empty() && it->second.weighted) {
      for (const auto& c : *it->second.weighted) {
        std::string child_err;
        Service* child = resolve(c.name, child_err);
        if (child == nullptr) {
          own = "weighted child: " + child_err;
          break;
        }
        svc->weighted.emplace_back(child, c.weight);
      }
    }
    visiting.erase(name);
    if (!own.empty()) {
      failed.insert(name);
      errors.push_back({"udp service", name, own});
      err = "service `" + name + "` is disabled";
      return nullptr;
    }
    Service* raw = svc.get();
    services.push_back(std::move(svc));
    done.emplace(name, raw);
    return raw;
  }
};

}  // namespace

BuildResult Builder::build(const config::Configuration& cfg) const {
  BuildResult out;
  auto table = std::make_shared<Table>();
  table->entrypoints_.assign(eps_.size(), nullptr);
  std::vector<std::string> owner(eps_.size());
  Build b{cfg, table->services_, out.errors, {}, {}, {}};
  // Every service is built, used or not, so its errors show (as the HTTP services').
  for (const auto& [name, s] : cfg.udp.services) {
    std::string ignored;
    b.resolve(name, ignored);
  }
  // Traefik sorts an entrypoint's routers by name, descending, and keeps the first: the same
  // router wins here, and the others are reported instead of dropped in silence.
  for (auto it = cfg.udp.routers.rbegin(); it != cfg.udp.routers.rend(); ++it) {
    const auto& [name, r] = *it;
    // A named reference: clang 14 (the fuzz build) cannot capture a structured binding.
    const std::string& router_name = name;
    auto fail = [&](const std::string& msg) {
      out.errors.push_back({"udp router", router_name, msg});
    };
    if (!r.provider_error.empty()) {
      fail(r.provider_error);
      continue;
    }
    if (r.service.empty()) {
      fail("the service is missing on the udp router");
      continue;
    }
    std::vector<std::size_t> on;
    std::string err;
    if (r.entry_points.empty()) {
      for (std::size_t i = 0; i < eps_.size(); ++i) {
        if (eps_[i].udp) on.push_back(i);
      }
    }
    for (const auto& ep : r.entry_points) {
      std::size_t i = 0;
      while (i < eps_.size() && eps_[i].name != ep) ++i;
      if (i == eps_.size()) {
        err = "entrypoint `" + ep + "` does not exist";
      } else if (!eps_[i].udp) {
        err = "entrypoint `" + ep + "` is not a UDP entrypoint (its address has no /udp)";
      } else if (!owner[i].empty()) {
        err = "entrypoint `" + ep + "` is already served by udp router `" + owner[i] +
              "` (one UDP router per entrypoint)";
      } else {
        on.push_back(i);
        continue;
      }
      break;
    }
    if (err.empty()) {
      std::erase_if(on, [&](std::size_t i) { return !owner[i].empty(); });
      if (on.empty()) err = "no UDP entrypoint is free for this router";
    }
    const Service* svc = err.empty() ? b.resolve(r.service, err) : nullptr;
    if (svc == nullptr) {
      fail(err);
      continue;
    }
    for (std::size_t i : on) {
      owner[i] = name;
      table->entrypoints_[i] = svc;
    }
  }
  bool any = false;
  for (const auto* s : table->entrypoints_) any = any || s != nullptr;
  if (any) out.table = std::move(table);
  return out;
}

}  // namespace portier::udp
