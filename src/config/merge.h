// Merging provider snapshots into one configuration, with Traefik's `name@provider` names.
// Pure function: no I/O, control plane only.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "config/dynamic.h"

namespace portier::config {

// `name` qualified with `provider` unless it already names one ("auth@file" stays).
std::string qualify(const std::string& name, const std::string& provider);

// Every object of every snapshot under its qualified name; references inside a snapshot
// (router.service, router.middlewares, the children of weighted, failover and mirroring
// services, chained middlewares, a load balancer's serversTransport) qualified the same way, so a
// reference without `@` means "from my own provider" and `auth@file` reaches across providers.
Configuration merge(const std::map<std::string, Configuration>& snapshots);
// The same for one snapshot's `tcp` section (tcp_merge.cc): routers' services and middlewares,
// weighted children and serversTransport names.
void merge_tcp(const Tcp& in, const std::string& provider, Tcp& out);
// The `udp` section (udp_merge.cc): routers' services and weighted children.
void merge_udp(const Udp& in, const std::string& provider, Udp& out);

// entryPoints.<ep>.http.middlewares: put in front of the middlewares of every router on that
// entrypoint (a router without entryPoints is on every one), as Traefik does; a name without
// `@provider` is the router's provider's. A router on several entrypoints whose lists differ
// is disabled (Traefik builds one chain per entrypoint; portier has one per router).
// `by_entrypoint` names every proxying entrypoint, with its list (possibly empty).
void add_entrypoint_middlewares(
    Configuration& merged, const std::map<std::string, std::vector<std::string>>& by_entrypoint);

}  // namespace portier::config
