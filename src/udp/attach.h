// Joins a UDP build to the HTTP one: the UDP table goes into the routing table that is about to
// be published, its errors into the HTTP build's list (so logs and the API see them all).
// Control plane only.
#pragma once

#include "proxy/routing_table.h"
#include "udp/table.h"

namespace portier::udp {

inline void attach(BuildResult udp, proxy::BuildResult& http) {
  if (http.table) http.table->set_udp(std::move(udp.table));
  for (auto& e : udp.errors) {
    http.errors.push_back({std::move(e.kind), std::move(e.name), std::move(e.message)});
  }
}

}  // namespace portier::udp
