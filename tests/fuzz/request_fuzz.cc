// Fuzz target for a session's request path without sockets: what run_session does with a
// client's bytes up to the upstream request. The request head parser and framing rules, the
// origin-form target, path normalization (escapes, dot segments), percent-decoding, Host
// normalization, routing on a table with every rule matcher and the path and redirect
// middlewares, and the head sent upstream (append_request_head). Not covered: screen_fields
// (entrypoint options, in session.cc) and the socket side (copy_body, pools, retries).
// Invariants: no crash, no UB; a normalized host is lower case and bounded; a redirect Location
// and a rewritten target never hold CR, LF or NUL (no header or request-line injection); the
// request sent upstream parses back as one complete request with the same method, the target
// chosen, the Host and X-Forwarded-* fields portier sets, and the body framing of the client's
// request.
//
// Input: byte 0 holds options (trusted peer, mirror copy, TLS-like scheme), the rest is what
// the client sent.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/decode.h"
#include "config/merge.h"
#include "fuzz_util.h"
#include "proxy/forwarder.h"
#include "proxy/http/message.h"
#include "proxy/http/parser.h"
#include "proxy/http/path.h"
#include "proxy/routing_table.h"
#include "rules/rule.h"

namespace {

using namespace portier;
using portier::fuzz::check;
using portier::fuzz::has_line_break;

constexpr const char* kDynamic = R"yaml(http:
  routers:
    api:
      rule: "Host(`api.example.com`) && PathPrefix(`/v1`)"
      service: s
      middlewares: [strip, hdr]
    regex:
      rule: "HostRegexp(`^[a-z]+\\.example\\.org$`) || Path(`/exact`)"
      service: s
      middlewares: [add]
    replace:
      rule: "PathRegexp(`^/old/`) && !Method(`DELETE`)"
      service: s
      middlewares: [replace]
    scheme:
      rule: "Host(`redirect.example.com`)"
      service: s
      middlewares: [toHttps]
    rx:
      rule: "Host(`rx.example.com`)"
      service: s
      middlewares: [rx]
    misc:
      rule: "Query(`a`, `b`) || Header(`X-Key`, `k`) || HeaderRegexp(`X-Re`, `^v[0-9]+$`) || QueryRegexp(`q`, `^x`) || (Method(`PUT`) && ClientIP(`10.0.0.0/8`))"
      service: s
      middlewares: [hdr]
    all:
      rule: "PathPrefix(`/`)"
      priority: 1
      service: s
  middlewares:
    strip:
      stripPrefix:
        prefixes: ["/v1", "/v1/x"]
    add:
      addPrefix:
        prefix: "/pre"
    replace:
      replacePath:
        path: "/new"
    toHttps:
      redirectScheme:
        scheme: https
        port: "8443"
        permanent: true
    rx:
      redirectRegex:
        regex: "^https?://([^/]+)/(.*)"
        replacement: "https://${1}/moved/${2}"
    hdr:
      headers:
        customRequestHeaders:
          X-Custom: "1"
          X-Key: ""
  services:
    s:
      loadBalancer:
        servers:
          - url: "http://127.0.0.1:1"
)yaml";

struct Env {
  std::shared_ptr<proxy::RoutingTable> table;
  boost::asio::io_context io;
  proxy::ClientStream stream{boost::asio::ip::tcp::socket(io)};
  proxy::Buffer buffer{16 * 1024};
  config::EntryPoint ep;

  Env() {
    auto cfg = config::decode_dynamic_yaml(kDynamic, "request_fuzz.yml");
    check(cfg.has_value(), "fuzz configuration does not decode");
    proxy::TableBuilder builder(std::vector<std::string>{"web"});
    auto built = builder.build(config::merge({{"file", *cfg}}));
    check(built.errors.empty(), "fuzz configuration does not build");
    table = built.table;
  }
};

Env& env() {
  static Env* e = new Env();
  return *e;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t opts = data[0];
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  Env& e = env();

  http::Limits limits;
  http::RequestHead head;
  http::ParseResult pr = http::parse_request_head(in, limits, head);
  if (pr.status != http::ParseStatus::Complete) return 0;
  http::RequestInfo info;
  if (http::analyze_request(head, info) != http::Error::None) return 0;

  // As run_session: the origin-form target analyze_request settled, the path normalized
  // (http/path.h), the query as sent, the path percent-decoded for the rules.
  if (info.asterisk) return 0;  // OPTIONS *: answered by portier itself
  std::string_view target = info.target;
  // Absolute-form "http://h?q" leaves "?q": its path is "/" (normalize_path makes it so);
  // "http://h#f" leaves "#f", which normalize_path refuses.
  check(target.empty() || target.front() == '/' || target.front() == '?' || target.front() == '#',
        "analyzed target is not origin-form");
  std::string_view raw_path = target.substr(0, target.find('?'));
  std::string path_buf, target_buf;
  http::PathResult np = http::normalize_path(raw_path, http::PathPolicy{}, path_buf);
  if (np.error != http::Error::None) return 0;  // 400
  check(!np.path.empty() && np.path.front() == '/', "normalized path does not start with /");
  check(np.path.find("//") == std::string_view::npos, "normalized path keeps //");
  check(np.path.find("/./") == std::string_view::npos && !np.path.ends_with("/."),
        "normalized path keeps a . segment");
  check(np.path.find("/../") == std::string_view::npos && !np.path.ends_with("/.."),
        "normalized path keeps a .. segment");
  check(np.path.find('#') == std::string_view::npos, "normalized path keeps a fragment");
  if (np.path.data() != raw_path.data()) {
    target_buf.assign(np.path).append(target.substr(raw_path.size()));
    target = target_buf;
    raw_path = target.substr(0, np.path.size());
  }
  std::string_view query =
      raw_path.size() < target.size() ? target.substr(raw_path.size() + 1) : std::string_view();
  std::string decoded;
  std::string_view path = raw_path;
  if (raw_path.find('%') != std::string_view::npos) {
    decoded.resize(raw_path.size());
    std::size_t n = rules::percent_decode(raw_path, decoded.data());
    check(n != std::string_view::npos, "a normalized path has a malformed escape");
    check(n <= raw_path.size(), "percent-decoding grew the path");
    path = std::string_view(decoded.data(), n);
  }
  char host_buf[256];
  const std::size_t host_len = proxy::normalize_host(info.host, host_buf);
  check(host_len <= 255, "normalized host too long");
  for (std::size_t i = 0; i < host_len; ++i) {
    check(!std::isupper(static_cast<unsigned char>(host_buf[i])), "normalized host has upper case");
  }

  const auto client_ip = boost::asio::ip::make_address((opts & 1) ? "10.1.2.3" : "192.0.2.7");
  const rules::Request req{std::string_view(host_buf, host_len),
                           head.method,
                           path,
                           query,
                           std::span<const HeaderView>(head.fields.begin(), head.fields.count),
                           client_ip};
  const proxy::EntryPointRoutes* routes = e.table->entrypoint(0);
  check(routes != nullptr, "no routes");
  const proxy::Route* route = routes->match(req);
  if (route == nullptr) return 0;
  const std::string_view scheme = (opts & 4) ? "https" : "http";
  proxy::Stream stream;
  stream.method = head.method;
  stream.scheme = scheme;
  stream.host = info.host;
  stream.path = raw_path;
  stream.query = query;
  stream.fields = &head.fields;
  stream.peer_ip = "192.0.2.7";
  stream.peer = client_ip;
  if (route->entrypoint_redirect) return 0;
  std::size_t ran = 0;
  for (const auto& f : route->chain.filters) {
    ++ran;
    // The fuzzed configuration has synchronous filters only (redirects, paths, headers).
    if ((f->hooks() & proxy::Filter::kRequest) == 0) continue;
    if (f->on_request(stream) == proxy::Verdict::Respond) {
      for (const auto& field : stream.local.fields) {
        check(!has_line_break(field.value), "local answer field holds a line break");
      }
      const int status = stream.local.status;
      check(status >= 200 && status <= 599, "local answer status");
      return 0;
    }
  }
  if (route->service == nullptr) return 0;

  std::string send_target_buf;
  std::string_view send_target = target;
  if (stream.new_path) {
    send_target_buf.assign(*stream.new_path);
    if (!query.empty()) send_target_buf.append("?").append(query);
    send_target = send_target_buf;
  }
  check(!send_target.empty() && send_target.front() == '/', "target sent is not origin-form");
  check(!has_line_break(send_target) && send_target.find(' ') == std::string_view::npos,
        "target sent would break the request line");

  bool draining = false;
  std::string scratch;
  const bool trusted = (opts & 2) != 0;
  const bool copy = (opts & 8) != 0;
  proxy::ClientContext ctx{e.stream, e.buffer, head,        info,      send_target,
                           stream,   route->chain, ran,  e.ep,      "80",
                           "192.0.2.7", trusted, &draining, scratch};
  std::string out;
  const auto& svc = *route->service;
  check(!svc.servers.empty(), "service without servers");
  proxy::append_request_head(ctx, svc, svc.servers[0], "portier-fuzz", copy, out);
  // What serialize_request adds after it.
  if (!copy && info.framing.kind == http::BodyKind::Chunked) {
    out.append("Transfer-Encoding: chunked\r\n");
  }
  out.append("\r\n");

  http::Limits big;
  big.max_head_bytes = 1 << 20;
  big.max_target = 1 << 20;
  http::RequestHead back;
  http::ParseResult rb = http::parse_request_head(out, big, back);
  if (rb.status == http::ParseStatus::Failed && rb.error == http::Error::TooManyFields) {
    check(head.fields.count + 12 > http::kMaxFields, "sent head has too many fields");
    return 0;
  }
  check(rb.status == http::ParseStatus::Complete, "the request sent upstream does not parse");
  check(rb.head_size == out.size(), "the request sent upstream has trailing bytes");
  check(back.method == head.method, "method changed");
  check(back.target == send_target, "target changed");
  http::RequestInfo binfo;
  check(http::analyze_request(back, binfo) == http::Error::None,
        "the request sent upstream is rejected by the framing rules");
  if (!copy) {
    check(binfo.framing.kind == info.framing.kind, "body framing changed");
    check(binfo.framing.length == info.framing.length, "Content-Length changed");
  } else {
    check(binfo.framing.kind == http::BodyKind::None, "a mirror copy kept the client's framing");
  }
  check(back.fields.find("x-forwarded-server") != nullptr, "X-Forwarded-Server missing");
  check(back.fields.find("x-forwarded-for") != nullptr, "X-Forwarded-For missing");
  return 0;
}
