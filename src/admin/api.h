// The admin API's answers, apart from any HTTP server: one pure function from a request's
// method and target to a response, over the latest RuntimeStore snapshot. Two adapters serve
// it: ApiServer (admin/server.h, api.insecure's own address) and the internal service
// api@internal, which the proxy calls in process behind a router's middlewares (app wires it).
//
//   /ping  /api/version  /api/overview  /api/entrypoints  /api/rawdata
//   /api/providers[/{name}]  (portier's: each provider's refused sources)
//   /api/http/routers[/{name}]  /api/http/services[/{name}]  /api/http/middlewares[/{name}]
//   /api/tcp/routers[/{name}]   /api/tcp/services[/{name}]   /api/tcp/middlewares[/{name}]
//   /api/udp/routers[/{name}]   /api/udp/services[/{name}]
//   /api/portier/certificates  /api/portier/traffic  (portier's: RuntimeStore::traffic_source)
//   /api/portier/cache  (GET: the cache middlewares' counters; DELETE ?key= or ?prefix=
//                        [&middleware=]: purges; the API's one write)
//   /dashboard/  (with api.dashboard: admin/dashboard.h)
//
// Thread-safe (RuntimeStore::get() takes its mutex briefly); never blocks otherwise. Its cost
// grows with the configuration (rawdata serializes all of it).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "admin/runtime.h"

namespace portier::admin {

struct ApiResponse {
  int status = 200;
  std::string content_type;
  std::string body;   // also for HEAD: the adapter drops it and keeps its length
  std::string allow;  // the Allow field of a 405, else ""
  // Other header fields (the dashboard's Location, Cache-Control, Content-Security-Policy).
  std::vector<std::pair<std::string, std::string>> fields;
};

// `method`: as received ("GET"); only GET and HEAD are served (and DELETE on /api/portier/cache),
// other methods on a known path get 405. `path`: as sent, percent-escaped (a name segment is decoded, so
// /api/http/routers/whoami%40file names whoami@file). `query`: without '?'; only the dashboard
// reads it (Traefik's search, status and paging parameters are not implemented).
ApiResponse handle_api(const RuntimeStore& store, std::string_view version, std::string_view method,
                       std::string_view path, std::string_view query);

// Percent-decodes `s` ('+' stays '+'); a malformed escape is kept as is.
std::string percent_decode(std::string_view s);

}  // namespace portier::admin
