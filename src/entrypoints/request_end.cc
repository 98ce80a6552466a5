#include "entrypoints/request_end.h"

#include "entrypoints/entrypoint.h"
#include "entrypoints/worker.h"
#include "proxy/routing_table.h"

namespace portier::entrypoints {
namespace {

using observability::Protocol;

bool starts_with_icase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && http::iequals(s.substr(0, prefix.size()), prefix);
}

bool contains_icase(std::string_view s, std::string_view needle) {
  for (std::size_t i = 0; i + needle.size() <= s.size(); ++i) {
    if (http::iequals(s.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

// Traefik's protocol label (pkg/middlewares/metrics getRequestProtocol), in one pass over the
// fields: websocket (an Upgrade to websocket), sse (Accept: text/event-stream), grpc-web, grpc
// (by Content-Type), else http.
Protocol request_protocol(const http::Fields& fields) {
  bool upgrade_ws = false, sse = false;
  std::string_view content_type;
  for (const auto& f : fields) {
    switch (f.name.size()) {
      case 6:  // accept
        if (http::iequals(f.name, "accept") && contains_icase(f.value, "text/event-stream")) {
          sse = true;
        }
        break;
      case 7:  // upgrade
        if (http::iequals(f.name, "upgrade") && contains_icase(f.value, "websocket")) {
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
  if (starts_with_icase(content_type, "application/grpc-web")) return Protocol::GrpcWeb;
  if (starts_with_icase(content_type, "application/grpc")) return Protocol::Grpc;
  return Protocol::Http;
}

}  // namespace

void capture_request(Worker& worker, const http::RequestHead& head, RequestCapture& out) {
  out.log = false;
  out.version_minor = head.version_minor;
  if (worker.metrics() == nullptr) return;
  out.method = observability::method_id(head.method);
  out.protocol = request_protocol(head.fields);
}

void report_request(Worker& worker, const EntryPointSpec& ep, const proxy::Stream& stream,
                    const RequestCapture& capture, const boost::asio::ip::tcp::endpoint& peer) {
  (void)peer;
  observability::Shard* metrics = worker.metrics();
  if (metrics == nullptr) return;
  const proxy::RequestRecord& r = stream.record;
  if (r.status == 0) return;  // nothing was answered: the connection failed
  observability::Observation o;
  o.entrypoint = static_cast<std::uint32_t>(ep.index);
  if (r.route != nullptr && r.route->service != nullptr &&
      r.route->service->kind == proxy::ServiceKind::Internal && !worker.count_internals()) {
    return;  // ping, the API, metrics: counted only with metrics.addInternals
  }
  if (r.route != nullptr) {
    o.router = r.route->metrics_id;
    if (r.route->service != nullptr) o.service = r.route->service->metrics_id;
  }
  if (r.service != nullptr) o.leaf_service = r.service->metrics_id;
  o.code = r.status;
  o.method = capture.method;
  o.protocol = capture.protocol;
  o.duration = std::chrono::steady_clock::now() - r.start;
  o.request_bytes = std::max<std::uint64_t>(r.request_body_bytes, stream.body ? stream.body->size() : 0);
  o.response_bytes = r.response_body_bytes;
  o.retries = r.attempts > 1 ? r.attempts - 1 : 0;
  metrics->observe(o);
}

}  // namespace portier::entrypoints
