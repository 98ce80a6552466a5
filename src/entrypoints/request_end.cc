#include "entrypoints/request_end.h"

#include <openssl/x509.h>

#include <atomic>
#include <charconv>
#include <cstring>

#include "common/ip_text.h"
#include "entrypoints/entrypoint.h"
#include "proxy/http/icase.h"
#include "observability/access_log.h"
#include "entrypoints/worker.h"
#include "proxy/routing_table.h"

namespace portier::entrypoints {

using namespace std::string_view_literals;
namespace {

using observability::Protocol;

// Traefik's protocol label (pkg/middlewares/metrics getRequestProtocol), in one pass over the
// fields: websocket (an Upgrade to websocket), sse (Accept: text/event-stream), grpc-web, grpc
// (by Content-Type), else http.
Protocol request_protocol(const http::Fields& fields) {
  bool upgrade_ws = false, sse = false;
  std::string_view content_type;
  for (const auto& f : fields) {
    switch (f.name.size()) {
      case 6:  // accept
        if (http::iequals(f.name, "accept") && http::contains_icase(f.value, "text/event-stream")) {
          sse = true;
        }
        break;
      case 7:  // upgrade
        if (http::iequals(f.name, "upgrade") && http::contains_icase(f.value, "websocket")) {
          upgrade_ws = true;
        }
        break;
      case 12:  // content-type
        if (content_type.empty() && http::iequals(f.name, "content-type")) content_type = f.value;
        break;
      default:
        break;
    }
  }
  if (upgrade_ws) return Protocol::Websocket;
  if (sse) return Protocol::Sse;
  if (http::starts_with_icase(content_type, "application/grpc-web")) return Protocol::GrpcWeb;
  if (http::starts_with_icase(content_type, "application/grpc")) return Protocol::Grpc;
  return Protocol::Http;
}

}  // namespace

namespace {
std::atomic<std::uint64_t> g_request_count{0};  // Traefik's RequestCount (access log only)
std::uint64_t next_request_count() {
  return g_request_count.fetch_add(1, std::memory_order_relaxed) + 1;
}
}  // namespace

void capture_request(Worker& worker, const http::RequestHead& head, SSL* ssl, bool trusted,
                     RequestCapture& out) {
  out.log = false;
  out.wants_headers = false;
  out.response.origin.count = out.response.downstream.count = 0;
  out.version_minor = head.version_minor;
  if (worker.metrics() == nullptr && worker.access_log() == nullptr) return;
  out.method = observability::method_id(head.method);
  out.protocol = request_protocol(head.fields);
  observability::AccessLog* log = worker.access_log();
  if (log == nullptr) return;
  // Numbered when the request arrives, as Traefik does (not when its line is written, which
  // a later request on another connection may beat).
  out.request_count = next_request_count();
  // Copies: the head's bytes do not outlive a streamed body.
  out.log = true;
  out.wall_start = std::chrono::system_clock::now();
  out.ssl = ssl;
  out.method_text.assign(head.method);
  out.target.assign(head.target);
  const http::Field* host = head.fields.find("host");
  out.host.assign(host ? host->value : std::string_view());
  const http::Field* xff = trusted ? head.fields.find("x-forwarded-for") : nullptr;
  out.forwarded_for.assign(xff ? xff->value : std::string_view());
  out.header_count = 0;
  out.wants_headers = log->wants_headers();
  if (out.wants_headers) {
    for (const auto& f : head.fields) {
      if (out.header_count == out.headers.size()) out.headers.emplace_back();
      auto& [name, value] = out.headers[out.header_count++];
      name.assign(f.name);
      value.assign(f.value);
    }
  }
}

namespace {

std::string_view tls_version(SSL* ssl) {
  switch (SSL_version(ssl)) {
    case TLS1_3_VERSION:
      return "1.3";
    case TLS1_2_VERSION:
      return "1.2";
    case TLS1_1_VERSION:
      return "1.1";
    case TLS1_VERSION:
      return "1.0";
    default:
      return "unknown";
  }
}

// The access log's line for a finished request: filled in place in the worker's ring slot.
void log_request(Worker& worker, const EntryPointSpec& ep, const proxy::Stream& stream,
                 const RequestCapture& capture, const boost::asio::ip::tcp::endpoint& peer,
                 std::chrono::nanoseconds duration) {
  observability::AccessLog* log = worker.access_log();
  const proxy::RequestRecord& r = stream.record;
  const int retries = r.attempts > 1 ? r.attempts - 1 : 0;
  if (!log->keeps(r.status, retries, duration)) return;
  const int producer = static_cast<int>(worker.id());
  observability::AccessRecord* a = log->begin(producer);
  if (a == nullptr) return;  // the ring is full: dropped and counted
  a->start = capture.wall_start;
  a->duration = duration;
  if (r.upstream_start != std::chrono::steady_clock::time_point{} &&
      r.upstream_end >= r.upstream_start) {
    a->origin_duration = r.upstream_end - r.upstream_start;
  }
  char port[8];
  auto [pend, pec] = std::to_chars(port, port + sizeof port, peer.port());
  const std::string_view port_text(port, static_cast<std::size_t>(pend - port));
  char ip_buf[64];
  const std::string_view ip = ip_text(peer.address(), ip_buf);
  if (peer.address().is_v6()) {
    a->client_addr.assign("[").append(ip).append("]:"sv).append(port_text);
  } else {
    a->client_addr.assign(ip).append(":"sv).append(port_text);
  }
  // Traefik: a (trusted) X-Forwarded-For names the client.
  a->client_host.assign(capture.forwarded_for.empty() ? ip
                                                      : std::string_view(capture.forwarded_for));
  a->client_port.assign(port_text);
  a->client_username.assign(stream.user);
  a->waf_rule_ids.assign(r.waf_rule_ids);
  a->request_addr.assign(capture.host);
  std::string_view host = capture.host, host_port;
  if (const auto colon = host.rfind(':');
      colon != std::string_view::npos && host.find(']', colon) == std::string_view::npos) {
    host_port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  a->request_host.assign(host);
  a->request_port.assign(host_port);
  a->request_method.assign(capture.method_text);
  a->request_path.assign(capture.target);
  a->request_protocol.assign(capture.http2                ? "HTTP/2.0"
                             : capture.version_minor == 0 ? "HTTP/1.0"
                                                          : "HTTP/1.1");
  a->request_scheme.assign(capture.ssl != nullptr ? "https" : "http");
  a->request_content_size =
      std::max<std::uint64_t>(r.request_body_bytes, stream.body ? stream.body->size() : 0);
  a->entrypoint.assign(ep.name);
  if (r.route != nullptr) a->router_name.assign(r.route->name);
  if (r.service != nullptr) {
    a->service_name.assign(r.service->name);
  } else if (r.route != nullptr && r.route->service != nullptr) {
    a->service_name.assign(r.route->service->name);
  }
  if (r.server != nullptr && r.upstream_status != 0) {
    a->service_url.assign(r.server->url);
    a->service_addr.assign(r.server->host_header);
  }
  a->origin_status = r.upstream_status;
  a->origin_content_size = r.upstream_body_bytes;
  a->downstream_status = r.status;
  a->downstream_content_size = r.response_body_bytes;
  a->retry_attempts = retries;
  a->request_count = capture.request_count;
  if (capture.ssl != nullptr) {
    a->tls_version.assign(tls_version(capture.ssl));
    if (const SSL_CIPHER* c = SSL_get_current_cipher(capture.ssl)) {
      const char* name = SSL_CIPHER_standard_name(c);  // IANA's, as Go names them
      a->tls_cipher.assign(name ? name : SSL_CIPHER_get_name(c));
    }
    if (X509* cert = SSL_get0_peer_certificate(capture.ssl)) {
      if (BIO* b = BIO_new(BIO_s_mem())) {
        X509_NAME_print_ex(b, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
        char* data = nullptr;
        const long n = BIO_get_mem_data(b, &data);
        if (n > 0) a->tls_client_subject.assign(data, static_cast<std::size_t>(n));
        BIO_free(b);
      }
    }
  }
  if (log->wants_headers()) {
    auto copy = [](const auto& from, std::size_t n, auto& to) {
      to.resize(n);
      for (std::size_t i = 0; i < n; ++i) {
        to[i].first.assign(from[i].first);
        to[i].second.assign(from[i].second);
      }
    };
    copy(capture.headers, capture.header_count, a->request_headers);
    const auto& rc = capture.response;
    copy(rc.origin.items, rc.origin.count, a->origin_headers);
    if (r.upstream_status != 0 && rc.downstream.count != 0 && stream.local.status == 0) {
      copy(rc.downstream.items, rc.downstream.count, a->downstream_headers);
    } else {
      // Answered by portier (a middleware, an error, the API): its fields and the edits.
      a->downstream_headers.clear();
      const auto& l = stream.local;
      if (l.status == 0) {
        a->downstream_headers.emplace_back("Content-Type", "text/plain; charset=utf-8");  // 404
      } else {
        if (!l.content_type || !l.content_type->empty()) {
          a->downstream_headers.emplace_back(
              "Content-Type", l.content_type ? *l.content_type : "text/plain; charset=utf-8");
        }
        for (const auto& f : l.fields) {
          if (!f.value.empty()) a->downstream_headers.emplace_back(f.name, f.value);
        }
      }
      for (const auto& e : stream.response_edits) {
        if (!e.value.empty()) a->downstream_headers.emplace_back(e.name, e.value);
      }
    }
  }
  log->commit(producer);
}

}  // namespace

void report_request(Worker& worker, const EntryPointSpec& ep, const proxy::Stream& stream,
                    const RequestCapture& capture, const boost::asio::ip::tcp::endpoint& peer) {
  observability::Shard* metrics = worker.metrics();
  const bool log = capture.log && worker.access_log() != nullptr;
  if (metrics == nullptr && !log) return;
  const proxy::RequestRecord& r = stream.record;
  if (r.status == 0) return;  // nothing was answered: the connection failed
  const bool internal = r.route != nullptr && r.route->service != nullptr &&
                        r.route->service->kind == proxy::ServiceKind::Internal;
  const auto duration = std::chrono::steady_clock::now() - r.start;
  // ping, the API, metrics: counted and logged only with metrics.addInternals and
  // accessLog.addInternals.
  if (log && (!internal || worker.access_log()->add_internals())) {
    log_request(worker, ep, stream, capture, peer, duration);
  }
  if (metrics == nullptr || (internal && !worker.count_internals())) return;
  observability::Observation o;
  o.entrypoint = static_cast<std::uint32_t>(ep.index);
  if (r.route != nullptr) {
    o.router = r.route->metrics_id;
    if (r.route->service != nullptr) o.service = r.route->service->metrics_id;
  }
  if (r.service != nullptr) o.leaf_service = r.service->metrics_id;
  o.code = r.status;
  o.method = capture.method;
  o.protocol = capture.protocol;
  o.duration = duration;
  o.request_bytes =
      std::max<std::uint64_t>(r.request_body_bytes, stream.body ? stream.body->size() : 0);
  o.response_bytes = r.response_body_bytes;
  o.retries = r.attempts > 1 ? r.attempts - 1 : 0;
  metrics->observe(o);
}

}  // namespace portier::entrypoints
