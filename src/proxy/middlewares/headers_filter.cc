// headers: custom request and response fields, CORS (preflights answered here), the security
// options (unrolled/secure's, as Traefik passes them) and allowedHosts. Semantics follow
// Traefik's pkg/middlewares/headers; the v2 options sslRedirect/sslTemporaryRedirect/sslHost/
// sslForceHost, which Traefik v3 accepts and ignores, redirect to HTTPS as they did in v2
// (docs/middlewares.md says so).
#include <re2/re2.h>

#include <algorithm>

#include "proxy/middlewares/filters.h"

namespace portier::proxy::mw {
namespace {

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += ",";
    out += s;
  }
  return out;
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

class HeadersFilter final : public Filter {
 public:
  HeadersFilter(std::string name, config::Headers h,
                std::vector<std::unique_ptr<re2::RE2>> origin_regexes)
      : Filter(std::move(name), kRequest | kResponse),
        h_(std::move(h)),
        origin_regexes_(std::move(origin_regexes)) {
    cors_ = h_.access_control_allow_credentials || !h_.access_control_allow_headers.empty() ||
            !h_.access_control_allow_methods.empty() ||
            !h_.access_control_allow_origin_list.empty() || !origin_regexes_.empty() ||
            !h_.access_control_expose_headers.empty() || h_.access_control_max_age ||
            h_.add_vary_header;
    for (const auto& [k, v] : h_.custom_response_headers) set_edit(static_response_, k, v);
    auto set = [&](std::string_view k, const std::string& v) {
      if (!v.empty()) set_edit(secure_response_, k, v);
    };
    if (!h_.custom_frame_options_value.empty()) {
      set("X-Frame-Options", h_.custom_frame_options_value);
    } else if (h_.frame_deny) {
      set("X-Frame-Options", "DENY");
    }
    if (!h_.custom_browser_xss_value.empty()) {
      set("X-XSS-Protection", h_.custom_browser_xss_value);
    } else if (h_.browser_xss_filter) {
      set("X-XSS-Protection", "1; mode=block");
    }
    if (h_.content_type_nosniff) set("X-Content-Type-Options", "nosniff");
    set("Content-Security-Policy", h_.content_security_policy);
    set("Content-Security-Policy-Report-Only", h_.content_security_policy_report_only);
    set("Referrer-Policy", h_.referrer_policy);
    set("Permissions-Policy", h_.permissions_policy);
    if (h_.sts_seconds > 0 && !h_.is_development) {
      sts_ = "max-age=" + std::to_string(h_.sts_seconds);
      if (h_.sts_include_subdomains) sts_ += "; includeSubDomains";
      if (h_.sts_preload) sts_ += "; preload";
    }
  }

  Verdict on_request(Stream& s) const override {
    const bool ssl = is_ssl(s);
    if (!h_.is_development && !h_.allowed_hosts.empty()) {
      std::string_view host = s.host;
      for (const auto& f : h_.hosts_proxy_headers) {
        if (auto v = s.header(f); v && !v->empty()) {
          host = *v;
          break;
        }
      }
      if (!contains(h_.allowed_hosts, host)) {
        s.respond(500);  // unrolled/secure's answer: "Bad Host"
        s.local.body = "Bad Host\n";
        s.local.body_set = true;
        return Verdict::Respond;
      }
    }
    if (h_.ssl_redirect && !h_.is_development && !ssl) {
      std::string host = h_.ssl_host.empty() ? std::string(s.host) : h_.ssl_host;
      if (h_.ssl_host.empty()) {
        // The request's host without its port (the HTTPS default port is implied).
        if (auto colon = host.rfind(':');
            colon != std::string::npos && host.find(']', colon) == std::string::npos) {
          host.erase(colon);
        }
      }
      s.respond(h_.ssl_temporary_redirect ? 302 : 301);
      s.local.fields.push_back({"Location", "https://" + host + forward_target(s)});
      return Verdict::Respond;
    }
    std::optional<std::string> origin;
    if (cors_) {
      auto o = s.header("Origin");
      if (auto acrm = s.header("Access-Control-Request-Method");
          acrm && !acrm->empty() && o && !o->empty() && s.method == "OPTIONS") {
        preflight(s, *acrm, *o);
        return Verdict::Respond;
      }
      if (o) origin = match_origin(*o);
    }
    for (const auto& [k, v] : h_.custom_request_headers) set_edit(s.request_edits, k, v);
    // What the response hook needs of the request, whose fields may be gone by then.
    std::string note = ssl ? "s" : "-";
    if (origin) note += "o" + *origin;
    s.notes.emplace_back(this, std::move(note));
    return Verdict::Continue;
  }

  bool on_response(Stream& s, const ResponseView& r) const override {
    const std::string* note = s.note(this);
    const bool ssl = note != nullptr ? note->front() == 's' : s.tls;
    for (const auto& e : static_response_) set_edit(s.response_edits, e.name, e.value);
    for (const auto& e : secure_response_) set_edit(s.response_edits, e.name, e.value);
    // STS on HTTPS responses, and on plain ones only when forced.
    if (!sts_.empty() && (ssl || h_.force_sts_header)) {
      set_edit(s.response_edits, "Strict-Transport-Security", sts_);
    }
    if (!h_.public_key.empty() && ssl && !h_.is_development) {
      set_edit(s.response_edits, "Public-Key-Pins", h_.public_key);
    }
    if (!cors_) return false;
    if (note != nullptr && note->size() > 1 && (*note)[1] == 'o') {
      set_edit(s.response_edits, "Access-Control-Allow-Origin", note->substr(2));
    }
    if (h_.access_control_allow_credentials) {
      set_edit(s.response_edits, "Access-Control-Allow-Credentials", "true");
    }
    if (!h_.access_control_expose_headers.empty() &&
        !(contains(h_.access_control_expose_headers, "*") &&
          h_.access_control_allow_credentials)) {
      set_edit(s.response_edits, "Access-Control-Expose-Headers",
               join(h_.access_control_expose_headers));
    }
    if (h_.add_vary_header) {
      // The Vary the response will carry: an earlier edit's, else the server's.
      std::string vary;
      if (const HeaderEdit* e = find_edit(s.response_edits, "Vary")) {
        vary = e->value;
      } else if (auto v = r.header("Vary")) {
        vary = *v;
      }
      if (vary != "Origin") {
        if (!vary.empty()) vary += ",";
        vary += "Origin";
        set_edit(s.response_edits, "Vary", vary);
      }
    }
    return false;
  }

 private:
  bool is_ssl(const Stream& s) const {
    if (s.tls) return true;
    for (const auto& [k, v] : h_.ssl_proxy_headers) {
      if (auto got = s.header(k); got && *got == v) return true;
    }
    return false;
  }

  std::optional<std::string> match_origin(std::string_view origin) const {
    for (const auto& item : h_.access_control_allow_origin_list) {
      if (item == origin) return item;
      if (item == "*") {
        // A wildcard cannot go with credentials: the origin is echoed instead.
        return h_.access_control_allow_credentials ? std::string(origin) : item;
      }
    }
    for (const auto& re : origin_regexes_) {
      if (re2::RE2::PartialMatch(re2::StringPiece(origin.data(), origin.size()), *re)) {
        return std::string(origin);
      }
    }
    return std::nullopt;
  }

  void preflight(Stream& s, std::string_view method, std::string_view origin) const {
    s.respond(200);
    s.local.body_set = true;  // empty
    s.local.content_type.emplace();
    auto& f = s.local.fields;
    if (h_.access_control_allow_credentials) f.push_back({"Access-Control-Allow-Credentials", "true"});
    const auto& ah = h_.access_control_allow_headers;
    if (contains(ah, "*") && h_.access_control_allow_credentials) {
      if (auto acrh = s.header("Access-Control-Request-Headers"); acrh && !acrh->empty()) {
        f.push_back({"Access-Control-Allow-Headers", std::string(*acrh)});
      }
    } else if (!ah.empty()) {
      f.push_back({"Access-Control-Allow-Headers", join(ah)});
    }
    const auto& am = h_.access_control_allow_methods;
    if (contains(am, "*") && h_.access_control_allow_credentials) {
      f.push_back({"Access-Control-Allow-Methods", std::string(method)});
    } else if (!am.empty()) {
      f.push_back({"Access-Control-Allow-Methods", join(am)});
    }
    if (auto m = match_origin(origin)) f.push_back({"Access-Control-Allow-Origin", *m});
    if (h_.access_control_max_age) {
      f.push_back({"Access-Control-Max-Age", std::to_string(*h_.access_control_max_age)});
    }
    if (!h_.access_control_expose_headers.empty() &&
        !(contains(h_.access_control_expose_headers, "*") &&
          h_.access_control_allow_credentials)) {
      f.push_back({"Access-Control-Expose-Headers", join(h_.access_control_expose_headers)});
    }
  }

  config::Headers h_;
  std::vector<std::unique_ptr<re2::RE2>> origin_regexes_;
  bool cors_ = false;
  std::vector<HeaderEdit> static_response_;
  std::vector<HeaderEdit> secure_response_;
  std::string sts_;
};

}  // namespace

Built headers(const std::string& name, const config::Middleware& m, const ChainContext&) {
  std::vector<std::unique_ptr<re2::RE2>> regexes;
  for (const auto& expr : m.headers->access_control_allow_origin_list_regex) {
    auto re = std::make_unique<re2::RE2>(expr, re2::RE2::Quiet);
    if (!re->ok()) return Error{"headers.accessControlAllowOriginListRegex: " + re->error()};
    regexes.push_back(std::move(re));
  }
  return std::make_unique<HeadersFilter>(name, *m.headers, std::move(regexes));
}

}  // namespace portier::proxy::mw
