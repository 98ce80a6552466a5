// forwardAuth: asks an authentication server about each request (Traefik's
// pkg/middlewares/auth/forward.go). A 2xx answer lets the request through, with the fields the
// server vouches for copied into it; any other answer goes to the client as it is.
#include <re2/re2.h>

#include <algorithm>
#include <set>

#include "common/log.h"
#include "proxy/http/message.h"
#include "proxy/middlewares/filters.h"
#include "proxy/middlewares/subrequest_parts.h"
#include "proxy/subrequest.h"
#include "proxy/worker_state.h"

namespace portier::proxy::mw {
namespace {

using http::iequals;

// forwardBody with maxBodySize -1 (Traefik: no limit): the body is held in memory, so portier
// keeps a ceiling. An explicit maxBodySize is taken as given.
constexpr std::uint64_t kForwardBodyCeiling = 4 << 20;
// maxResponseBodySize -1 (Traefik: no limit): the answer is held in memory too.
constexpr std::uint64_t kAuthResponseCeiling = 1 << 20;
// Traefik's http.Client timeout for the auth request.
constexpr std::chrono::seconds kAuthTimeout{30};

// Go's html.EscapeString, for the sign-in redirect's body.
std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '\'': out += "&#39;"; break;
      case '"': out += "&#34;"; break;
      default: out += c;
    }
  }
  return out;
}

class ForwardAuthFilter final : public Filter {
 public:
  ForwardAuthFilter(std::string name, config::ForwardAuth cfg, HttpUrl url, SubTarget target,
                    std::unique_ptr<re2::RE2> regex)
      : Filter(std::move(name),
               kAsyncRequest | (cfg.add_auth_cookies_to_response.empty() ? 0u : kResponse)),
        cfg_(std::move(cfg)),
        url_(std::move(url)),
        target_(std::move(target)),
        regex_(std::move(regex)),
        cookies_(cfg_.add_auth_cookies_to_response.begin(),
                 cfg_.add_auth_cookies_to_response.end()) {
    trust_ = !cfg_.trust_forward_header      ? TrustForward::Unset
             : *cfg_.trust_forward_header    ? TrustForward::Trust
                                             : TrustForward::Distrust;
    allowed_ = cfg_.auth_request_headers;
    if (trust_ == TrustForward::Trust && !allowed_.empty()) {
      // Traefik: trusted X-Forwarded-* fields pass the authRequestHeaders filter.
      for (const auto& h : managed_x_headers()) allowed_.push_back(h);
    }
    body_limit_ = cfg_.max_body_size < 0 ? kForwardBodyCeiling
                                         : static_cast<std::uint64_t>(cfg_.max_body_size);
    response_limit_ = cfg_.max_response_body_size < 0
                          ? kAuthResponseCeiling
                          : static_cast<std::uint64_t>(cfg_.max_response_body_size);
  }

  boost::asio::awaitable<Verdict> on_request_async(Stream& s) const override;
  bool on_response(Stream& s, const ResponseView& view) const override;

 private:
  // Traefik answers its own failures with a bare status (no body, no Content-Type).
  static Verdict bare(Stream& s, int status, bool close = false) {
    s.respond(status);
    s.local.content_type.emplace();
    s.local.body_set = true;
    s.local.close = close;
    return Verdict::Respond;
  }
  std::string auth_head(const Stream& s, std::string_view method) const;
  void pass_answer(Stream& s, SubResponse& r) const;
  void copy_identity(Stream& s, const SubResponse& r) const;

  config::ForwardAuth cfg_;
  HttpUrl url_;
  SubTarget target_;
  std::unique_ptr<re2::RE2> regex_;
  std::set<std::string, std::less<>> cookies_;
  TrustForward trust_ = TrustForward::Unset;
  std::vector<std::string> allowed_;
  std::uint64_t body_limit_ = 0;
  std::uint64_t response_limit_ = 0;
};

std::string ForwardAuthFilter::auth_head(const Stream& s, std::string_view method) const {
  const std::string uri = forward_target(s);
  AuthRequestInfo info{s.method, s.host, uri, s.peer_ip, s.tls};
  FieldList fields = auth_request_fields(
      effective_fields(s, s.worker != nullptr ? s.worker->hostname() : std::string()), trust_,
      allowed_, info);
  std::string head;
  head.reserve(512);
  head.append(method).append(" ").append(url_.path).append(url_.query).append(" HTTP/1.1\r\n");
  head.append("Host: ").append(url_.authority).append("\r\n");
  for (const auto& [n, v] : fields) head.append(n).append(": ").append(v).append("\r\n");
  return head;
}

boost::asio::awaitable<Verdict> ForwardAuthFilter::on_request_async(Stream& s) const {
  const std::string_view method = cfg_.preserve_request_method ? s.method : "GET";
  std::optional<std::string_view> body;
  if (cfg_.forward_body && (s.has_body || s.body)) {
    if (!s.body) {
      if (s.body_reader == nullptr) co_return bare(s, 500, true);
      s.body.emplace();
      const BodyRead read = co_await s.body_reader->read_all(*s.body, body_limit_);
      if (read != BodyRead::Ok) {
        s.body.reset();
        log::debug("forwardAuth: request body not read",
                   {{"middleware", name()},
                    {"error", read == BodyRead::TooLarge ? "too large" : "read failed"}});
        // Traefik: 401 for a body over maxBodySize, 500 for a failed read.
        co_return bare(s, read == BodyRead::TooLarge ? 401 : 500, true);
      }
    }
    body = *s.body;
  }
  const std::string head = auth_head(s, method);
  SubRequest req{method, head, body, kAuthTimeout, response_limit_};
  SubResult r = co_await send_subrequest(*s.worker, target_, req);
  if (r.error == SubError::TooLarge) co_return bare(s, 401);
  if (r.error != SubError::None) {
    log::warn("forwardAuth: authentication server failed",
              {{"middleware", name()}, {"address", cfg_.address}, {"error", describe(r.error)}});
    co_return bare(s, 500);
  }
  const int status = r.response.status;
  if (!cfg_.auth_signin_url.empty() && status == 401) {
    // Go's http.Redirect, as Traefik uses it.
    s.respond(302);
    s.local.fields.push_back({"Location", cfg_.auth_signin_url, false});
    s.local.content_type.emplace();
    s.local.body_set = true;
    if (s.method == "GET" || s.method == "HEAD") {
      s.local.content_type = "text/html; charset=utf-8";
    }
    if (s.method == "GET") {
      s.local.body = "<a href=\"" + html_escape(cfg_.auth_signin_url) + "\">Found</a>.\n\n";
    }
    co_return Verdict::Respond;
  }
  if (status < 200 || status >= 300) {
    pass_answer(s, r.response);
    co_return Verdict::Respond;
  }
  copy_identity(s, r.response);
  co_return Verdict::Continue;
}

void ForwardAuthFilter::pass_answer(Stream& s, SubResponse& r) const {
  s.respond(r.status);
  s.local.body = std::move(r.body);
  s.local.body_set = true;
  copy_response_fields(r.fields, s.local);
  auto& f = s.local.fields;
  auto loc = std::find_if(f.begin(), f.end(), [](const HeaderEdit& e) {
    return iequals(e.name, "location") && !e.value.empty();
  });
  if (loc == f.end()) return;
  // Traefik makes the Location absolute against the auth address (Go's Response.Location),
  // unless preserveLocationHeader; one Location in any case.
  std::string value = cfg_.preserve_location_header ? loc->value
                                                    : resolve_reference(url_, loc->value);
  std::erase_if(f, [](const HeaderEdit& e) { return iequals(e.name, "location"); });
  f.push_back({"Location", std::move(value), false});
}

void ForwardAuthFilter::copy_identity(Stream& s, const SubResponse& r) const {
  // authResponseHeaders: the client's fields of these names go; the server's replace them.
  for (const auto& name : cfg_.auth_response_headers) {
    bool first = true;
    for (const auto& [n, v] : r.fields) {
      if (!iequals(n, name)) continue;
      if (first) {
        set_edit(s.request_edits, canonical_key(name), v);
      } else {
        add_edit(s.request_edits, canonical_key(name), v);
      }
      first = false;
    }
    if (first) set_edit(s.request_edits, canonical_key(name), "");
  }
  if (regex_) {
    // The regex sees canonical names, as Go's header map keys.
    std::vector<std::string> drop;
    if (s.fields != nullptr) {
      for (const auto& f : *s.fields) drop.push_back(canonical_key(f.name));
    }
    for (const auto& e : s.request_edits) drop.push_back(canonical_key(e.name));
    for (const auto& n : drop) {
      if (RE2::PartialMatch(n, *regex_)) set_edit(s.request_edits, n, "");
    }
    std::vector<std::string> seen;
    for (const auto& [n, v] : r.fields) {
      std::string key = canonical_key(n);
      if (!RE2::PartialMatch(key, *regex_)) continue;
      if (std::find(seen.begin(), seen.end(), key) == seen.end()) {
        set_edit(s.request_edits, key, v);
        seen.push_back(std::move(key));
      } else {
        add_edit(s.request_edits, key, v);
      }
    }
  }
  if (!cookies_.empty()) {
    // addAuthCookiesToResponse: the server's cookies of these names go to the client with the
    // final response, whatever it is (on_response takes the service's of the same names out).
    for (const auto& [n, v] : r.fields) {
      if (iequals(n, "set-cookie") && cookies_.count(cookie_name(v))) {
        add_edit(s.response_edits, "Set-Cookie", v);
      }
    }
  }
}

bool ForwardAuthFilter::on_response(Stream& s, const ResponseView& view) const {
  auto ours = [&](const HeaderEdit& e) {
    return e.append && iequals(e.name, "set-cookie") && cookies_.count(cookie_name(e.value));
  };
  if (std::none_of(s.response_edits.begin(), s.response_edits.end(), ours)) return false;
  std::vector<std::string> theirs;
  if (view.fields != nullptr) {
    for (const auto& f : *view.fields) {
      if (iequals(f.name, "set-cookie")) theirs.emplace_back(f.value);
    }
  } else if (view.local != nullptr) {
    for (const auto& e : *view.local) {
      if (iequals(e.name, "set-cookie") && !e.value.empty()) theirs.push_back(e.value);
    }
  }
  if (std::none_of(theirs.begin(), theirs.end(),
                   [&](const std::string& v) { return cookies_.count(cookie_name(v)) > 0; })) {
    return false;
  }
  // The service set a cookie the auth server owns: the auth server's wins (Traefik's
  // buildModifier). A removal edit drops the service's cookies; the others come back as edits.
  std::vector<std::string> keep;
  for (auto& v : theirs) {
    if (!cookies_.count(cookie_name(v))) keep.push_back(std::move(v));
  }
  for (const auto& e : s.response_edits) {
    if (e.append && iequals(e.name, "set-cookie")) keep.push_back(e.value);
  }
  set_edit(s.response_edits, "Set-Cookie", "");
  for (const auto& v : keep) add_edit(s.response_edits, "Set-Cookie", v);
  return false;
}

}  // namespace

Built forward_auth(const std::string& name, const config::Middleware& m, const ChainContext&) {
  const config::ForwardAuth& cfg = *m.forward_auth;
  if (cfg.address.empty()) return Error{"forwardAuth.address is required"};
  auto url = parse_http_url(cfg.address);
  if (!url) return Error{"forwardAuth.address " + url.error().message};
  SubTarget target;
  target.host = url->host;
  target.port = url->port;
  boost::system::error_code ec;
  auto ip = boost::asio::ip::make_address(url->host, ec);
  if (!ec) {
    target.endpoint.emplace(ip, static_cast<unsigned short>(std::stoi(url->port)));
  }
  if (url->scheme == "https") {
    ClientTlsConfig tc;
    if (cfg.tls) tc = {cfg.tls->ca, cfg.tls->cert, cfg.tls->key, cfg.tls->insecure_skip_verify};
    auto ctx = make_client_tls(tc);
    if (!ctx) return Error{"forwardAuth." + ctx.error().message};
    target.tls = std::move(*ctx);
    target.verify = !tc.insecure_skip_verify;
  }
  std::unique_ptr<re2::RE2> regex;
  if (!cfg.auth_response_headers_regex.empty()) {
    regex = std::make_unique<re2::RE2>(cfg.auth_response_headers_regex, re2::RE2::Quiet);
    if (!regex->ok()) return Error{"forwardAuth.authResponseHeadersRegex: " + regex->error()};
  }
  return std::make_unique<ForwardAuthFilter>(name, cfg, std::move(*url), std::move(target),
                                             std::move(regex));
}

}  // namespace portier::proxy::mw
