#include "udp/listener.h"

#include "common/log.h"

namespace portier::udp {

namespace asio = boost::asio;
using udp_proto = asio::ip::udp;

namespace {
constexpr std::size_t kMaxDatagram = 64 * 1024;  // the largest UDP payload is 65507 bytes
// Datagrams read per readiness event before the socket goes back to the reactor, so one busy
// socket does not starve the worker's other work.
constexpr int kBatch = 64;
}  // namespace

Listener::Listener(asio::io_context& io, udp_proto::socket socket, std::chrono::milliseconds timeout,
                   Pick pick, std::size_t max_sessions)
    : io_(io),
      socket_(std::move(socket)),
      timeout_(timeout),
      pick_(std::move(pick)),
      max_sessions_(std::max<std::size_t>(1, max_sessions)),
      buffer_(kMaxDatagram) {}

Listener::~Listener() { close(); }

void Listener::start() {
  boost::system::error_code ec;
  socket_.non_blocking(true, ec);
  wait_client();
}

void Listener::close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ec;
  socket_.close(ec);
  while (!lru_.empty()) end_session(*lru_.front());
}

// Readiness, then non-blocking reads into the one buffer: no buffer per session or per wait.
void Listener::wait_client() {
  socket_.async_wait(udp_proto::socket::wait_read, [this](const boost::system::error_code& ec) {
    if (ec || closed_) return;
    on_client_readable();
    wait_client();
  });
}

void Listener::on_client_readable() {
  for (int i = 0; i < kBatch; ++i) {
    udp_proto::endpoint from;
    boost::system::error_code ec;
    const std::size_t n = socket_.receive_from(asio::buffer(buffer_), from, 0, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) return;
    if (ec) continue;  // an ICMP error reported on the listening socket: nothing to do
    SessionPtr s;
    if (auto it = by_client_.find(from); it != by_client_.end()) {
      s = it->second;
    } else {
      s = open_session(from);
      if (!s) continue;
    }
    touch(*s);
    // A full send buffer drops the datagram (no queue); a refused port (ICMP from an earlier
    // datagram) is reported on a later send and is not this datagram's failure.
    s->upstream.send(asio::buffer(buffer_.data(), n), 0, ec);
  }
}

Listener::SessionPtr Listener::open_session(const udp_proto::endpoint& client) {
  std::optional<udp_proto::endpoint> server = pick_();
  if (!server) {
    log::debug("udp datagram dropped: no router or server", {{"client", client.address().to_string()}});
    return nullptr;
  }
  if (by_client_.size() >= max_sessions_) end_session(*lru_.back());  // the least recently active
  auto s = std::make_shared<Session>(io_);
  s->client = client;
  boost::system::error_code ec;
  s->upstream.open(server->protocol(), ec);
  if (!ec) s->upstream.connect(*server, ec);  // a connected socket: only the server's replies
  if (!ec) s->upstream.non_blocking(true, ec);
  if (ec) {
    log::warn("udp session not opened", {{"server", server->address().to_string() + ":" +
                                                        std::to_string(server->port())},
                                         {"error", ec.message()}});
    return nullptr;
  }
  lru_.push_front(s.get());
  s->lru = lru_.begin();
  by_client_.emplace(client, s);
  wait_upstream(s);
  s->last = std::chrono::steady_clock::now();
  arm_timer(s);
  return s;
}

void Listener::touch(Session& s) {
  s.last = std::chrono::steady_clock::now();
  if (s.lru != lru_.begin()) lru_.splice(lru_.begin(), lru_, s.lru);
}

void Listener::wait_upstream(const SessionPtr& s) {
  s->upstream.async_wait(udp_proto::socket::wait_read,
                         [this, s](const boost::system::error_code& ec) {
                           if (ec || s->closed) return;
                           on_upstream_readable(s);
                           if (!s->closed) wait_upstream(s);
                         });
}

void Listener::on_upstream_readable(const SessionPtr& s) {
  for (int i = 0; i < kBatch; ++i) {
    boost::system::error_code ec;
    const std::size_t n = s->upstream.receive(asio::buffer(buffer_), 0, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) return;
    if (ec == asio::error::connection_refused) continue;  // ICMP port unreachable: keep waiting
    if (ec) {
      end_session(*s);
      return;
    }
    touch(*s);
    socket_.send_to(asio::buffer(buffer_.data(), n), s->client, 0, ec);  // full: dropped
  }
}

// One timer per session, re-armed only when it fires: traffic just moves `last`, so a busy
// session costs no timer operation per datagram.
void Listener::arm_timer(const SessionPtr& s) {
  s->timer.expires_at(s->last + timeout_);
  s->timer.async_wait([this, s](const boost::system::error_code& ec) {
    if (ec || s->closed) return;
    if (std::chrono::steady_clock::now() - s->last >= timeout_) {
      end_session(*s);
    } else {
      arm_timer(s);
    }
  });
}

void Listener::end_session(Session& s) {
  if (s.closed) return;
  s.closed = true;
  boost::system::error_code ec;
  s.upstream.close(ec);
  s.timer.cancel();
  lru_.erase(s.lru);
  by_client_.erase(s.client);  // may free `s` unless a handler still holds it
}

}  // namespace portier::udp
