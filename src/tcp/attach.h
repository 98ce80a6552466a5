// Joins a TCP build to the HTTP one: the TCP table goes into the routing table that is about
// to be published, its errors and certificate needs into the HTTP build's lists (so logs, the
// API and certificate resolvers see them all). Control plane only.
#pragma once

#include "proxy/routing_table.h"
#include "tcp/table.h"

namespace portier::tcp {

inline void attach(BuildResult tcp, proxy::BuildResult& http) {
  if (http.table) http.table->set_tcp(std::move(tcp.table), std::move(tcp.enabled));
  for (auto& e : tcp.errors) {
    http.errors.push_back({std::move(e.kind), std::move(e.name), std::move(e.message)});
  }
  for (auto& c : tcp.certificates) {
    http.certificates.push_back({std::move(c.router), std::move(c.resolver), std::move(c.domains)});
  }
}

}  // namespace portier::tcp
