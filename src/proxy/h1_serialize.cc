// The HTTP/1.1 bytes portier writes: request heads for servers, response heads and local
// answers for clients (the HTTP/1 codec's half of the forwarder; forwarder.h declares the public
// functions). Everything here appends to a caller's string: no allocation once it is warm.
#include "proxy/h1_serialize.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <array>
#include <charconv>
#include <cstring>

#include "proxy/forwarder.h"

namespace portier::proxy {

using namespace std::string_view_literals;

namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

bool is_forwarded_field(std::string_view name) {
  return (name.size() > 12 && http::iequals(name.substr(0, 12), "x-forwarded-")) ||
         http::iequals(name, "x-real-ip");
}

std::string_view port_of(std::string_view host) {
  std::size_t colon = host.rfind(':');
  std::size_t bracket = host.rfind(']');
  if (colon == std::string_view::npos || (bracket != std::string_view::npos && bracket > colon)) {
    return {};
  }
  return host.substr(colon + 1);
}

}  // namespace

// One resize and plain copies: four appends each tested the capacity and called memcpy.
void append_field(std::string& out, std::string_view name, std::string_view value) {
  const std::size_t at = out.size();
  out.resize(at + name.size() + value.size() + 4);
  char* p = out.data() + at;
  std::memcpy(p, name.data(), name.size());
  p += name.size();
  *p++ = ':';
  *p++ = ' ';
  std::memcpy(p, value.data(), value.size());
  p += value.size();
  *p++ = '\r';
  *p = '\n';
}

// The edits' fields: sets (the last of each name) and appends; removals write nothing.
void append_edits(std::string& out, const std::vector<HeaderEdit>& edits) {
  for (const auto& e : edits) {
    if (e.value.empty() || (!e.append && find_edit(edits, e.name) != &e)) continue;
    if (http::iequals(e.name, "host")) continue;  // a request's Host is written first, once
    append_field(out, e.name, e.value);
  }
}

void append_request_head(const ClientContext& c, const ServiceTarget& svc,
                         const ServerTarget& server, std::string_view hostname, bool copy,
                         std::string& out) {
  const auto& head = c.head;
  const auto& info = c.info;
  out.append(head.method).append(" "sv).append(c.target).append(" HTTP/1.1\r\n"sv);
  std::string_view host = info.host.empty() || !svc.pass_host_header
                              ? std::string_view(server.host_header)
                              : info.host;
  // headers.customRequestHeaders may set Host (Go's req.Host); removing it keeps the original.
  if (const HeaderEdit* e = find_edit(c.stream.request_edits, "host"); e && !e->value.empty()) {
    host = e->value;
  }
  append_field(out, "Host", host);
  bool has_proto = false, has_fhost = false, has_fport = false, has_real_ip = false;
  bool te_trailers = false;
  const http::HopByHop hop(head.fields);
  for (const auto& f : head.fields) {
    std::string_view n = f.name;
    if (http::iequals(n, "host") || hop(n) ||
        replaces(c.stream.request_edits, n)) {
      // TE is hop-by-hop, but "trailers" in it says the client takes trailer fields: gRPC
      // servers want to hear it, and Go's reverse proxy (Traefik's) passes it on too.
      if (!te_trailers && http::iequals(n, "te")) {
        http::for_each_token(f.value, [&](std::string_view t) {
          te_trailers = te_trailers || http::iequals(t, "trailers");
        });
      }
      continue;
    }
    // A copy frames its body itself (or has none) and must not wait for a 100 Continue; so does
    // a body a middleware read.
    if ((copy || c.stream.body) && (http::iequals(n, "content-length") || http::iequals(n, "transfer-encoding") ||
                 http::iequals(n, "expect"))) {
      continue;
    }
    if (is_forwarded_field(n)) {
      // X-Forwarded-For is rebuilt below and X-Forwarded-Server is always this proxy's.
      if (!c.trusted_peer || http::iequals(n, "x-forwarded-for") ||
          http::iequals(n, "x-forwarded-server")) {
        continue;
      }
      has_proto |= http::iequals(n, "x-forwarded-proto");
      has_fhost |= http::iequals(n, "x-forwarded-host");
      has_fport |= http::iequals(n, "x-forwarded-port");
      has_real_ip |= http::iequals(n, "x-real-ip");
    }
    append_field(out, n, f.value);
  }
  if (te_trailers && !copy) out.append("TE: trailers\r\n"sv);
  // X-Forwarded-For: the chain a trusted peer sent (all its fields, in order), then this peer.
  out.append("X-Forwarded-For: "sv);
  if (c.trusted_peer) {
    for (const auto& f : head.fields) {
      if (http::iequals(f.name, "x-forwarded-for") && !f.value.empty()) {
        out.append(f.value).append(", "sv);
      }
    }
  }
  out.append(c.peer_ip).append("\r\n"sv);
  const bool upgrade = info.connection.upgrade && !copy;
  if (!has_proto)
    append_field(out, "X-Forwarded-Proto",
                 c.socket.is_tls() ? (upgrade ? "wss" : "https") : (upgrade ? "ws" : "http"));
  if (!has_fhost && !info.host.empty()) append_field(out, "X-Forwarded-Host", info.host);
  if (!has_fport) {
    std::string_view port = port_of(info.host);
    append_field(out, "X-Forwarded-Port", port.empty() ? c.entrypoint_port : port);
  }
  append_field(out, "X-Forwarded-Server", hostname);
  if (!has_real_ip) append_field(out, "X-Real-Ip", c.peer_ip);
  append_edits(out, c.stream.request_edits);
}

void append_response_head(const http::ResponseHead& head,
                          const std::vector<HeaderEdit>& response_headers,
                          std::string_view set_cookie, int client_version_minor, bool chunk_out,
                          bool close_client, std::string& out) {
  out.clear();
  char status[4] = {static_cast<char>('0' + head.status / 100),
                    static_cast<char>('0' + head.status / 10 % 10),
                    static_cast<char>('0' + head.status % 10), 0};
  out.append("HTTP/1.1 "sv).append(status, 3).append(" "sv);
  out.append(head.reason.empty() ? http::reason_phrase(head.status) : head.reason).append("\r\n"sv);
  const http::HopByHop hop(head.fields);
  for (const auto& f : head.fields) {
    if (!hop(f.name) && !replaces(response_headers, f.name)) append_field(out, f.name, f.value);
  }
  append_edits(out, response_headers);
  if (head.status >= 200 || head.status == 101) out.append(set_cookie);
  if (head.status == 101) {
    const http::Field* up = head.fields.find("upgrade");
    out.append("Connection: Upgrade\r\n"sv);
    append_field(out, "Upgrade", up ? up->value : "");
  } else if (head.status >= 200) {
    if (chunk_out) out.append("Transfer-Encoding: chunked\r\n"sv);
    if (close_client) {
      out.append("Connection: close\r\n"sv);
    } else if (client_version_minor == 0) {
      out.append("Connection: keep-alive\r\n"sv);
    }
  }
  out.append("\r\n"sv);
}

asio::awaitable<Outcome> write_local(WorkerState& worker, ClientStream& socket,
                                     std::string& scratch, Stream& stream, bool close,
                                     milliseconds write_timeout, bool head_request) {
  const LocalResponse& l = stream.local;
  close = close || l.close;
  stream.record.status = l.status;
  const std::string_view reason = http::reason_phrase(l.status);
  scratch.clear();
  char code[3] = {static_cast<char>('0' + l.status / 100 % 10),
                  static_cast<char>('0' + l.status / 10 % 10), static_cast<char>('0' + l.status % 10)};
  scratch.append("HTTP/1.1 "sv).append(code, 3).append(" "sv).append(reason).append("\r\n"sv);
  const auto& edits = stream.response_edits;
  const std::string_view content_type =
      l.content_type ? std::string_view(*l.content_type) : "text/plain; charset=utf-8";
  if (!content_type.empty() && !replaces(edits, "content-type") &&
      find_edit(l.fields, "content-type") == nullptr) {
    append_field(scratch, "Content-Type", content_type);
  }
  for (const auto& f : l.fields) {
    if (f.value.empty() || replaces(edits, f.name)) continue;
    if (!f.append && find_edit(l.fields, f.name) != &f) continue;
    append_field(scratch, f.name, f.value);
  }
  append_edits(scratch, edits);
  // The body: the local answer's own, a shared one (a cache hit), or the reason phrase.
  thread_local std::string reason_line;  // kept per worker: no allocation once warm
  std::string_view body = l.body_view();
  if (!l.body_set && !l.body_owner) {
    reason_line.assign(reason).append("\n"sv);
    body = reason_line;
  }
  // A body filters rewrite (compress) is rewritten whole here.
  std::string transformed;
  if (!stream.transforms.empty() && !head_request) {
    std::string tmp[2];
    if (!run_transforms(stream.transforms, body, BodyTransform::Mode::Finish, transformed, tmp)) {
      co_return Outcome::Close;
    }
    body = transformed;
  }
  char len[24];
  auto [end, ec0] = std::to_chars(len, len + sizeof len, body.size());
  scratch.append("Content-Length: "sv).append(len, end).append("\r\n"sv);
  if (close) scratch.append("Connection: close\r\n"sv);
  scratch.append("\r\n"sv);
  if (head_request) body = {};
  stream.record.response_body_bytes = body.size();
  std::array<asio::const_buffer, 2> bufs = {asio::buffer(scratch), asio::buffer(body)};
  boost::system::error_code ec;
  if (!socket.write_now(bufs, ec)) {
    Deadline dl(worker.wheel(), cancel_client, &socket);
    dl.arm(write_timeout);
    auto [wec, n] = co_await asio::async_write(socket, bufs, kNoThrow);
    ec = wec;
  }
  if (ec || close) co_return Outcome::Close;
  co_return Outcome::KeepAlive;
}

asio::awaitable<Outcome> respond_status(WorkerState& worker, ClientStream& socket,
                                        std::string& scratch, int status, bool close,
                                        milliseconds write_timeout, std::string_view body,
                                        std::string_view extra_fields, bool head_request) {
  std::string_view reason = http::reason_phrase(status);
  scratch.clear();
  char code[4] = {static_cast<char>('0' + status / 100), static_cast<char>('0' + status / 10 % 10),
                  static_cast<char>('0' + status % 10), 0};
  if (body.empty()) body = reason;
  char len[24];
  auto [end, ec0] = std::to_chars(len, len + sizeof len, body.size() + 1);
  scratch.append("HTTP/1.1 "sv).append(code, 3).append(" "sv).append(reason).append("\r\n"sv);
  scratch.append("Content-Type: text/plain; charset=utf-8\r\nContent-Length: "sv);
  scratch.append(len, end).append("\r\n"sv);
  if (close) scratch.append("Connection: close\r\n"sv);
  scratch.append(extra_fields);
  scratch.append("\r\n"sv);
  if (!head_request) scratch.append(body).append("\n"sv);
  asio::const_buffer buf = asio::buffer(scratch);
  boost::system::error_code ec;
  if (!socket.write_now({&buf, 1}, ec)) {
    Deadline dl(worker.wheel(), cancel_client, &socket);
    dl.arm(write_timeout);
    auto [wec, n] = co_await asio::async_write(socket, buf, kNoThrow);
    ec = wec;
  }
  if (ec || close) co_return Outcome::Close;
  co_return Outcome::KeepAlive;
}

}  // namespace portier::proxy
