// errors: responses whose status is in the configured ranges (the server's, or a local answer
// such as a dead server's 502 or a later middleware's 401) are replaced by a page another service
// serves, with the original status or its statusRewrites mapping (Traefik's
// pkg/middlewares/customerrors/custom_errors.go).
#include "common/log.h"
#include "proxy/http/message.h"
#include "proxy/middlewares/filters.h"
#include "proxy/middlewares/subrequest_parts.h"
#include "proxy/subrequest.h"
#include "proxy/upstream_tls.h"
#include "proxy/worker_state.h"

namespace portier::proxy::mw {
namespace {

// Error pages are held in memory: a longer one is a failure of the error service.
constexpr std::uint64_t kMaxErrorPageBytes = 1 << 20;

class ErrorsFilter final : public Filter {
 public:
  ErrorsFilter(std::string name, StatusRanges status,
               std::vector<std::pair<StatusRanges, int>> rewrites, const ServiceTarget* service,
               std::string query, std::vector<std::string> request_headers)
      : Filter(std::move(name), kRequest | kResponse),
        status_(std::move(status)),
        rewrites_(std::move(rewrites)),
        service_(service),
        query_(std::move(query)),
        request_headers_(std::move(request_headers)) {}

  // A streamed body reuses the buffer the head's views point into: keep what the page request
  // needs now. (Without one, replace() reads the views, with every middleware's edits.)
  Verdict on_request(Stream& s) const override {
    if (s.has_body && !s.body && !s.head_copy && service_ != nullptr) {
      s.head_copy.emplace(Stream::HeadCopy{std::string(s.host), std::string(s.path),
                                           std::string(s.query),
                                           effective_fields(s, s.worker->hostname())});
    }
    return Verdict::Continue;
  }
  bool on_response(Stream&, const ResponseView& view) const override {
    return service_ != nullptr && in_ranges(status_, view.status);
  }
  boost::asio::awaitable<void> replace(Stream& s, int status) const override;

 private:
  // When the error service cannot answer, Traefik's proxy writes its error text under the
  // status the page would have had.
  void fallback(Stream& s, int code, int failure) const {
    s.respond(code);
    s.local.body = std::string(http::reason_phrase(failure));
    s.local.body_set = true;
  }
  std::string page_head(const Stream& s, const ServiceTarget& lb, const ServerTarget& server,
                        const std::string& target) const;

  StatusRanges status_;
  std::vector<std::pair<StatusRanges, int>> rewrites_;
  const ServiceTarget* service_;
  std::string query_;
  std::vector<std::string> request_headers_;
};

std::string ErrorsFilter::page_head(const Stream& s, const ServiceTarget& lb,
                                    const ServerTarget& server, const std::string& target) const {
  std::string head;
  head.reserve(512);
  head.append("GET ").append(target).append(" HTTP/1.1\r\nHost: ");
  const std::string_view host = s.head_copy ? std::string_view(s.head_copy->host) : s.host;
  head.append(lb.pass_host_header && !host.empty() ? host : std::string_view(server.host_header));
  head.append("\r\n");
  const FieldList fields =
      s.head_copy ? s.head_copy->fields : effective_fields(s, s.worker->hostname());
  for (const auto& field : fields) {
    // Named, not a structured binding: clang 14 cannot capture one in the lambda below.
    const auto& n = field.first;
    const auto& v = field.second;
    if (!request_headers_.empty() &&
        std::none_of(request_headers_.begin(), request_headers_.end(),
                     [&](const std::string& h) { return http::iequals(h, n); })) {
      continue;
    }
    head.append(n).append(": ").append(v).append("\r\n");
  }
  return head;
}

boost::asio::awaitable<void> ErrorsFilter::replace(Stream& s, int status) const {
  int code = status;
  for (const auto& [from, to] : rewrites_) {
    if (in_ranges(from, status)) {
      code = to;
      break;
    }
  }
  const std::string_view host = s.head_copy ? std::string_view(s.head_copy->host) : s.host;
  const std::string_view path = s.head_copy ? std::string_view(s.head_copy->path) : s.path;
  const std::string_view query = s.head_copy ? std::string_view(s.head_copy->query) : s.query;
  std::string url = std::string(s.tls ? "https://" : "http://").append(host).append(path);
  if (!query.empty()) url.append("?").append(query);
  const std::string target = error_page_target(query_, code, status, query_escape(url));

  WorkerState& w = *s.worker;
  WorkerState::PickRequest pick_req{s.peer_ip, s.head_copy ? nullptr : s.fields, nullptr};
  std::string ignored_cookies;
  const ServiceTarget* lb = w.resolve(*service_, pick_req, ignored_cookies);
  WorkerState::Pick pick;
  if (lb != nullptr) pick = w.pick(*lb, pick_req);
  if (pick.server == nullptr) {
    fallback(s, code, 503);
    co_return;
  }
  const ServerTarget& server = *pick.server;
  const std::string head = page_head(s, *lb, server, target);
  const auto& t = server.transport ? server.transport->timeouts : w.transport().forwarding_timeouts;
  const auto wait = t.response_header_timeout.count() > 0
                        ? std::chrono::duration_cast<std::chrono::milliseconds>(
                              t.response_header_timeout)
                        : std::chrono::milliseconds(60000);
  SubTarget sub;
  sub.endpoint = server.endpoint;
  set_upstream_tls(server, sub);
  SubRequest req{"GET", head, std::nullopt,
                 std::chrono::duration_cast<std::chrono::milliseconds>(t.dial_timeout) + wait,
                 kMaxErrorPageBytes};
  w.begin_request(server);
  SubResult r = co_await send_subrequest(w, sub, req);
  w.end_request(server);
  if (r.error != SubError::None) {
    log::warn("errors: error page request failed",
              {{"middleware", name()}, {"service", lb->name}, {"server", server.url},
               {"error", describe(r.error)}});
    fallback(s, code, r.error == SubError::Timeout ? 504 : 502);
    co_return;
  }
  s.respond(code);
  s.local.body = std::move(r.response.body);
  s.local.body_set = true;
  copy_response_fields(r.response.fields, s.local);
}

// The provider part of a qualified name ("file" of "err@file"), or "".
std::string_view provider_of(std::string_view name) {
  std::size_t at = name.rfind('@');
  return at == std::string_view::npos ? std::string_view() : name.substr(at + 1);
}

}  // namespace

Built errors(const std::string& name, const config::Middleware& m, const ChainContext& ctx) {
  const config::ErrorPage& e = *m.errors;
  auto status = parse_status_ranges(e.status);
  if (!status) return Error{"errors." + status.error().message};
  std::vector<std::pair<StatusRanges, int>> rewrites;
  for (const auto& [from, to] : e.status_rewrites) {
    auto r = parse_status_ranges({from});
    if (!r) return Error{"errors.statusRewrites: " + r.error().message};
    rewrites.emplace_back(std::move(*r), to);
  }
  if (e.service.empty()) return Error{"errors.service is required"};
  const ServiceTarget* service = nullptr;
  if (ctx.services != nullptr) {
    std::string qualified = e.service;
    if (qualified.find('@') == std::string::npos && !provider_of(name).empty()) {
      qualified.append("@").append(provider_of(name));
    }
    auto it = ctx.services->find(qualified);
    if (it == ctx.services->end()) {
      return Error{"errors.service: service `" + qualified + "` does not exist or is disabled"};
    }
    service = it->second;
  }
  return std::make_unique<ErrorsFilter>(name, std::move(*status), std::move(rewrites), service,
                                        e.query, e.error_request_headers);
}

}  // namespace portier::proxy::mw
