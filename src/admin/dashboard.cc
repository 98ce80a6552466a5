#include "admin/dashboard.h"

namespace portier::admin {
namespace {

// Everything from this origin only: no inline script or style, no framing, no forms.
constexpr const char* kPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

std::string_view content_type(std::string_view name) {
  auto ends = [&](std::string_view ext) { return name.ends_with(ext); };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  return "application/octet-stream";
}

void secure(ApiResponse& r) {
  r.fields.emplace_back("Content-Security-Policy", kPolicy);
  r.fields.emplace_back("X-Content-Type-Options", "nosniff");
  r.fields.emplace_back("X-Frame-Options", "DENY");
  r.fields.emplace_back("Referrer-Policy", "no-referrer");
}

}  // namespace

ApiResponse dashboard_response(std::string_view rest, std::string_view query) {
  ApiResponse r;
  if (rest.empty()) {
    // Traefik answers 302 to "<prefix>/dashboard/"; a relative reference needs no prefix.
    r.status = 302;
    r.content_type = "text/html; charset=utf-8";
    r.body = "<a href=\"dashboard/\">Found</a>.\n";
    r.fields.emplace_back("Location", "dashboard/");
    return r;
  }
  std::string_view name = rest == "/" ? "index.html" : rest.substr(1);
  for (const auto& f : dashboard_files()) {
    if (f.name != name) continue;
    r.content_type = content_type(f.name);
    r.body = f.body;
    // index.html is checked every time (it names this build's assets); an asset asked for with
    // this build's version never changes.
    const bool versioned = query == "v=" + std::string(dashboard_version());
    r.fields.emplace_back("Cache-Control", versioned && f.name != "index.html"
                                               ? "public, max-age=31536000, immutable"
                                               : "no-cache");
    secure(r);
    return r;
  }
  r.status = 404;
  r.content_type = "text/plain; charset=utf-8";
  r.body = "404 page not found\n";
  return r;
}

}  // namespace portier::admin
