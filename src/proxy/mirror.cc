#include "proxy/mirror.h"
#include "proxy/connect.h"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <memory>

#include "common/log.h"
#include "proxy/upstream_tls.h"

namespace portier::proxy {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// The copy's head: the request as the main service gets it (target after path steps, header
// middlewares applied, X-Forwarded-* set), without body framing and Expect, closing.
std::string copy_head(const WorkerState& w, const ClientContext& c, const ServiceTarget& lb,
                      const ServerTarget& server) {
  std::string out;
  append_request_head(c, lb, server, w.hostname(), true, out);
  out.append("Connection: close\r\n");
  return out;
}

asio::awaitable<void> run_copy(WorkerState& w, tcp::endpoint endpoint,
                               std::shared_ptr<const Transport> tls, std::string tls_host,
                               std::string bytes, std::shared_ptr<const std::string> body,
                               std::string service) {
  UpstreamStream stream(w.executor());
  tcp::socket& socket = stream.socket();
  struct Slot {
    WorkerState& w;
    std::list<tcp::socket*>::iterator it;
    ~Slot() { w.remove_mirror(it); }
  } slot{w, w.add_mirror(&socket)};
  w.release_mirror_slots(1);  // reserved by prepare_mirrors; the socket now counts instead
  Deadline deadline(w.wheel(), cancel_socket, &socket);
  deadline.arm(kMirrorTimeout);
  boost::system::error_code ec = co_await proxy::connect(socket, endpoint);
  if (!ec && tls) {
    // A fresh connection per copy (never pooled), so no session is kept either.
    std::string why = co_await tls_handshake(stream, *tls, tls_host, nullptr, nullptr);
    if (!why.empty()) {
      log::debug("mirror TLS handshake failed", {{"service", service}, {"error", why}});
      ec = asio::error::connection_aborted;
    }
  }
  if (!ec) {
    std::array<asio::const_buffer, 2> bufs = {
        asio::buffer(bytes), body ? asio::buffer(*body) : asio::const_buffer()};
    auto [wec, n] = co_await asio::async_write(stream, bufs, kNoThrow);
    ec = wec;
  }
  // The answer is read and dropped until the mirror closes (the copy asked it to).
  std::array<char, 4096> sink;
  while (!ec) {
    auto [rec, n] = co_await stream.async_read_some(asio::buffer(sink), kNoThrow);
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
  out.worker = &w;
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
      if (!w.reserve_mirror_slot()) {
        log::debug("request not mirrored: too many mirror requests in flight",
                   {{"service", mirror->name}});
        continue;
      }
      const ServerTarget& server = *pick.server;
      out.copies.push_back({m, lb->name, server.endpoint, copy_head(w, client, *lb, server),
                            with_body, server.tls ? server.transport : nullptr,
                            server.tls ? server.tls_host : std::string()});
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
  // Each copy's slot, reserved by prepare_mirrors, passes to its coroutine, which releases it
  // once its socket is registered; skipped copies free theirs here.
  batch.worker = nullptr;
  for (auto& copy : batch.copies) {
    if (copy.with_body && (!body || body->size() > copy.mirroring->mirror_body_limit)) {
      log::debug("request not mirrored: body incomplete or too large",
                 {{"service", copy.mirroring->name}});
      w.release_mirror_slots(1);
      continue;
    }
    std::string bytes = std::move(copy.head);
    if (copy.with_body) {
      bytes.append("Content-Length: ").append(std::to_string(body->size())).append("\r\n");
    }
    bytes.append("\r\n");
    asio::co_spawn(
        w.executor(),
        run_copy(w, copy.endpoint, std::move(copy.tls), std::move(copy.tls_host), std::move(bytes),
                 copy.with_body ? body : nullptr, std::move(copy.service)),
        log::Escaped{"mirroring: copy failed: internal error"});
  }
}

}  // namespace portier::proxy
