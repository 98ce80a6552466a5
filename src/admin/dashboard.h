// The dashboard: a page and its scripts (src/admin/dashboard/), compiled into the binary at build
// time (embed_dashboard.cmake), served by handle_api under /dashboard/ when api.dashboard is on.
// It reads the JSON API from the browser (relative URLs, so it works under a stripped prefix);
// nothing is fetched from elsewhere, and its Content-Security-Policy says so.
//
// Thread-safe: the files are constants.
#pragma once

#include <span>
#include <string_view>

#include "admin/api.h"

namespace portier::admin {

struct DashboardFile {
  std::string_view name;  // "index.html", "app.js", ...
  std::string_view body;
};

// Generated (dashboard_files.cc).
std::span<const DashboardFile> dashboard_files();
// A hash of every file; index.html asks for its assets with "?v=<it>".
std::string_view dashboard_version();

// The answer for /dashboard<rest>: "" redirects to "dashboard/" (relative, so a prefix a router
// stripped is kept), "/" is index.html, "/<file>" a file; anything else is a 404. `query` is the
// query without '?': a file asked for with this build's version may be cached for good.
ApiResponse dashboard_response(std::string_view rest, std::string_view query);

}  // namespace portier::admin
