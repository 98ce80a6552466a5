#include "proxy/mirror.h"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <memory>

#include "common/log.h"

namespace portier::proxy {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

bool edited(const std::vector<HeaderEdit>& edits, std::string_view name) {
  for (const auto& e : edits) {
    if (http::iequals(e.name, name)) return true;
  }
  return false;
}

bool is_forwarded_field(std::string_view name) {
  return (name.size() > 12 && http::iequals(name.substr(0, 12), "x-forwarded-")) ||
         http::iequals(name, "x-real-ip");
}

// The copy's head: the request as the main service gets it (target after path steps, header
// middlewares applied, X-Forwarded-* set), without body framing and Expect, closing.
std::string copy_head(const ClientContext& c, const ServiceTarget& lb, const ServerTarget& server) {
  const auto& head = c.head;
  const auto& info = c.info;
  std::string out;
  out.append(head.method).append(" ").append(c.target).append(" HTTP/1.1\r\n");
  append_field(out, "Host",
               info.host.empty() || !lb.pass_host_header ? std::string_view(server.host_header)
                                                         : info.host);
  bool has_proto = false, has_fhost = false;
  for (const auto& f : head.fields) {
    std::string_view n = f.name;
    if (http::iequals(n, "host") || http::is_hop_by_hop(n, head.fields) ||
        http::iequals(n, "content-length") || http::iequals(n, "transfer-encoding") ||
        http::iequals(n, "expect") || edited(c.actions->request_headers, n) ||
        edited(*c.added_headers, n)) {
      continue;
    }
    if (is_forwarded_field(n)) {
      if (!c.trusted_peer || http::iequals(n, "x-forwarded-for")) continue;
      has_proto |= http::iequals(n, "x-forwarded-proto");
      has_fhost |= http::iequals(n, "x-forwarded-host");
    }
    append_field(out, n, f.value);
  }
  out.append("X-Forwarded-For: ");
  if (c.trusted_peer) {
    for (const auto& f : head.fields) {
      if (http::iequals(f.name, "x-forwarded-for") && !f.value.empty()) {
        out.append(f.value).append(", ");
      }
    }
  }
  out.append(c.peer_ip).append("\r\n");
  if (!has_proto) append_field(out, "X-Forwarded-Proto", c.socket.is_tls() ? "https" : "http");
  if (!has_fhost && !info.host.empty()) append_field(out, "X-Forwarded-Host", info.host);
  for (const auto* edits : {&c.actions->request_headers, c.added_headers}) {
    for (const auto& e : *edits) {
      if (!e.value.empty()) append_field(out, e.name, e.value);
    }
  }
  out.append("Connection: close\r\n");
  return out;
}

asio::awaitable<void> run_copy(WorkerState& w, tcp::endpoint endpoint, std::string bytes,
                               std::shared_ptr<const std::string> body, std::string service) {
  tcp::socket socket(w.executor());
  struct Slot {
    WorkerState& w;
    std::list<tcp::socket*>::iterator it;
    ~Slot() { w.remove_mirror(it); }
  } slot{w, w.add_mirror(&socket)};
  Deadline deadline(w.wheel(), cancel_socket, &socket);
  deadline.arm(kMirrorTimeout);
  auto [ec] = co_await socket.async_connect(endpoint, kNoThrow);
  if (!ec) {
    std::array<asio::const_buffer, 2> bufs = {
        asio::buffer(bytes), body ? asio::buffer(*body) : asio::const_buffer()};
    auto [wec, n] = co_await asio::async_write(socket, bufs, kNoThrow);
    ec = wec;
  }
  // The answer is read and dropped until the mirror closes (the copy asked it to).
  std::array<char, 4096> sink;
  while (!ec) {
    auto [rec, n] = co_await socket.async_read_some(asio::buffer(sink), kNoThrow);
    ec = rec;
  }
  deadline.disarm();
  if (ec != asio::error::eof) {
    log::debug("mirror request failed",
               {{"service", service}, {"error", deadline.expired() ? "timeout" : ec.message()}});
  }
  boost::system::error_code ignored;
  socket.close(ignored);
}

}  // namespace

void prepare_mirrors(WorkerState& w, ClientContext& client,
                     const std::vector<const ServiceTarget*>& mirrorings, MirrorBatch& out) {
  if (client.info.connection.upgrade) return;
  const bool has_body = client.info.framing.kind != http::BodyKind::None;
  std::vector<const ServiceTarget*> chosen;
  std::string ignored_cookies;
  for (const ServiceTarget* m : mirrorings) {
    chosen.clear();
    w.choose_mirrors(*m, chosen);
    if (chosen.empty()) continue;
    const bool with_body = has_body && m->mirror_body;
    if (with_body && client.info.framing.kind == http::BodyKind::Length &&
        client.info.framing.length > m->mirror_body_limit) {
      log::debug("request not mirrored: body too large", {{"service", m->name}});
      continue;
    }
    for (const ServiceTarget* mirror : chosen) {
      WorkerState::PickRequest req{client.peer_ip, &client.head.fields, nullptr};
      const ServiceTarget* lb = w.resolve(*mirror, req, ignored_cookies);
      WorkerState::Pick pick;
      if (lb != nullptr) pick = w.pick(*lb, req);
      if (pick.server == nullptr) {
        log::debug("request not mirrored: no available server", {{"service", mirror->name}});
        continue;
      }
      out.copies.push_back(
          {m, lb->name, pick.server->endpoint, copy_head(client, *lb, *pick.server), with_body});
      if (with_body) out.tee.limit = std::max(out.tee.limit, m->mirror_body_limit);
    }
  }
  if (out.tee.limit > 0) client.tee = &out.tee;
}

void send_mirrors(WorkerState& w, MirrorBatch& batch) {
  if (batch.copies.empty()) return;
  std::shared_ptr<const std::string> body;
  if (batch.tee.complete && !batch.tee.overflow) {
    body = std::make_shared<const std::string>(std::move(batch.tee.data));
  }
  for (auto& copy : batch.copies) {
    if (copy.with_body && (!body || body->size() > copy.mirroring->mirror_body_limit)) {
      log::debug("request not mirrored: body incomplete or too large",
                 {{"service", copy.mirroring->name}});
      continue;
    }
    if (!w.mirror_slot_free()) {
      log::debug("request not mirrored: too many mirror requests in flight",
                 {{"service", copy.service}});
      continue;
    }
    std::string bytes = std::move(copy.head);
    if (copy.with_body) {
      bytes.append("Content-Length: ").append(std::to_string(body->size())).append("\r\n");
    }
    bytes.append("\r\n");
    asio::co_spawn(w.executor(),
                   run_copy(w, copy.endpoint, std::move(bytes),
                            copy.with_body ? body : nullptr, std::move(copy.service)),
                   asio::detached);
  }
}

}  // namespace portier::proxy
