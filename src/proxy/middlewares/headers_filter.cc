// headers: custom request and response fields, the security fields, CORS (preflights answered
// here), allowed hosts and the SSL redirect options Traefik v3 still accepts. Semantics follow
// Traefik's pkg/middlewares/headers (itself built on unrolled/secure).
#include "proxy/middlewares/filters.h"

namespace portier::proxy::mw {
namespace {

class HeadersFilter final : public Filter {
 public:
  HeadersFilter(std::string name, config::Headers h)
      : Filter(std::move(name), kRequest | kResponse), h_(std::move(h)) {
    for (const auto& [k, v] : h_.custom_response_headers) set_edit(static_response_, k, v);
    if (!h_.custom_frame_options_value.empty()) {
      set_edit(static_response_, "X-Frame-Options", h_.custom_frame_options_value);
    } else if (h_.frame_deny) {
      set_edit(static_response_, "X-Frame-Options", "DENY");
    }
    if (h_.content_type_nosniff) set_edit(static_response_, "X-Content-Type-Options", "nosniff");
    if (h_.browser_xss_filter) set_edit(static_response_, "X-XSS-Protection", "1; mode=block");
    if (!h_.content_security_policy.empty()) {
      set_edit(static_response_, "Content-Security-Policy", h_.content_security_policy);
    }
    if (!h_.referrer_policy.empty()) {
      set_edit(static_response_, "Referrer-Policy", h_.referrer_policy);
    }
    if (!h_.permissions_policy.empty()) {
      set_edit(static_response_, "Permissions-Policy", h_.permissions_policy);
    }
    if (h_.sts_seconds > 0) {
      sts_ = "max-age=" + std::to_string(h_.sts_seconds);
      if (h_.sts_include_subdomains) sts_ += "; includeSubDomains";
      if (h_.sts_preload) sts_ += "; preload";
    }
  }

  Verdict on_request(Stream& s) const override {
    for (const auto& [k, v] : h_.custom_request_headers) set_edit(s.request_edits, k, v);
    return Verdict::Continue;
  }

  bool on_response(Stream& s, const ResponseView&) const override {
    for (const auto& e : static_response_) set_edit(s.response_edits, e.name, e.value);
    // Traefik sends STS on HTTPS responses, and on plain ones only when forced.
    if (!sts_.empty() && (s.tls || h_.force_sts_header)) {
      set_edit(s.response_edits, "Strict-Transport-Security", sts_);
    }
    return false;
  }

 private:
  config::Headers h_;
  std::vector<HeaderEdit> static_response_;
  std::string sts_;
};

}  // namespace

Built headers(const std::string& name, const config::Middleware& m, const ChainContext&) {
  return std::make_unique<HeadersFilter>(name, *m.headers);
}

}  // namespace portier::proxy::mw
