#include "providers/docker/l4_objects.h"

#include <type_traits>

namespace portier::providers::docker {
namespace {

// The steps TCP and UDP share, over their config sections (config::Tcp, config::Udp), which
// name their members alike. `kind` is "tcp" or "udp", as in the label errors' kinds.
template <typename Section>
struct L4 {
  const Container& c;
  Section& section;
  std::string kind;

  std::string container_msg(const std::string& msg) const {
    return "container " + c.name + ": " + msg;
  }

  // Objects whose labels did not decode stay, disabled with the reason, so the API shows them.
  void mark_label_errors(const std::vector<LabelError>& errors) {
    for (const auto& e : errors) {
      if (e.warning) continue;
      const std::string msg = container_msg(e.message);
      if (e.kind == kind + " router") section.routers[e.name].provider_error = msg;
      if (e.kind == kind + " service") section.services[e.name].provider_error = msg;
      if constexpr (std::is_same_v<Section, config::Tcp>) {
        if (e.kind == kind + " middleware") section.middlewares[e.name].provider_error = msg;
      }
    }
  }

  // Routers without a service label use the container's only service, made when there is none.
  void default_services(const std::string& default_service) {
    if (section.services.empty() && !section.routers.empty()) {
      section.services[default_service].load_balancer.emplace();
    }
    for (auto& [rname, r] : section.routers) {
      if (!r.service.empty() || !r.provider_error.empty()) continue;
      if (section.services.size() == 1) {
        r.service = section.services.begin()->first;
      } else {
        std::string upper = kind;
        for (char& ch : upper) ch = static_cast<char>(ch - 'a' + 'A');
        r.provider_error = container_msg("no service label and the container defines " +
                                         std::to_string(section.services.size()) + " " + upper +
                                         " services; say which one");
      }
    }
  }

  // Calls add(service, "host:port") for each load balancer that gets this container as a server.
  template <typename Add>
  void add_servers(const std::map<std::string, int>& ports, const std::string& host, Add add) {
    for (auto& [sname, svc] : section.services) {
      if (!svc.load_balancer || !svc.provider_error.empty() || host.empty()) continue;
      auto p = ports.find(sname);
      int port = p == ports.end() ? 0 : p->second;
      if (port == 0 && !c.exposed_ports.empty()) port = *c.exposed_ports.begin();
      if (port == 0) {
        svc.provider_error =
            container_msg("no port: the container exposes none; set loadbalancer.server.port");
        continue;
      }
      add(svc, (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
                   std::to_string(port));
    }
  }

  void clash(auto& obj) const {
    obj.provider_error = "defined differently by another container (" + c.name + "); disabled";
  }

  // Objects that must be defined alike by every container naming them (routers, middlewares).
  template <typename Objects>
  void merge_same(const Objects& mine, Objects& into) const {
    for (const auto& [n, o] : mine) {
      auto [it, inserted] = into.try_emplace(n, o);
      if (!inserted && !(it->second == o)) clash(it->second);
    }
  }

  bool empty() const {
    bool none = section.routers.empty() && section.services.empty();
    if constexpr (std::is_same_v<Section, config::Tcp>) none = none && section.middlewares.empty();
    return none;
  }
};

}  // namespace

void add_tcp_objects(const Container& c, DecodedLabels& d, const std::string& default_service,
                     const std::string& host, BuildOutput& out) {
  L4<config::Tcp> l4{c, d.config.tcp, "tcp"};
  l4.mark_label_errors(d.errors);
  if (l4.empty()) return;
  l4.default_services(default_service);
  l4.add_servers(d.tcp_ports, host, [](config::TcpService& svc, std::string address) {
    config::TcpServer server;
    server.address = std::move(address);
    svc.load_balancer->servers.push_back(server);
  });
  auto& tcp = d.config.tcp;
  l4.merge_same(tcp.routers, out.config.tcp.routers);
  // Replicas: the same service but for its servers, which add up.
  for (auto& [n, svc] : tcp.services) {
    auto [it, inserted] = out.config.tcp.services.try_emplace(n, svc);
    if (!inserted && !add_replica_servers(svc, it->second)) l4.clash(it->second);
  }
  l4.merge_same(tcp.middlewares, out.config.tcp.middlewares);
}

void add_udp_objects(const Container& c, DecodedLabels& d, const std::string& default_service,
                     const std::string& host, BuildOutput& out) {
  L4<config::Udp> l4{c, d.config.udp, "udp"};
  l4.mark_label_errors(d.errors);
  if (l4.empty()) return;
  l4.default_services(default_service);
  l4.add_servers(d.udp_ports, host, [](config::UdpService& svc, std::string address) {
    svc.load_balancer->push_back({std::move(address)});
  });
  auto& udp = d.config.udp;
  l4.merge_same(udp.routers, out.config.udp.routers);
  // Replicas: a UDP load balancer is only its servers, which add up.
  for (auto& [n, svc] : udp.services) {
    auto [it, inserted] = out.config.udp.services.try_emplace(n, svc);
    if (inserted) continue;
    if (svc.load_balancer && it->second.load_balancer && svc.provider_error.empty() &&
        it->second.provider_error.empty()) {
      it->second.load_balancer->insert(it->second.load_balancer->end(),
                                       svc.load_balancer->begin(), svc.load_balancer->end());
    } else if (!(it->second == svc)) {
      l4.clash(it->second);
    }
  }
}

}  // namespace portier::providers::docker
