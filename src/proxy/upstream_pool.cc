#include "proxy/upstream_pool.h"

#include <algorithm>

namespace portier::proxy {

std::unique_ptr<UpstreamConn> UpstreamPool::take() {
  const auto now = Clock::now();
  while (!idle_.empty()) {
    Idle entry = std::move(idle_.back());
    idle_.pop_back();
    if (idle_timeout_.count() > 0 && now - entry.since > idle_timeout_) {
      continue;  // stale: closed by the unique_ptr
    }
    // Stops the idle watch; its handler then sees operation_aborted and does nothing.
    boost::system::error_code ec;
    entry.conn->socket.cancel(ec);
    return std::move(entry.conn);
  }
  return nullptr;
}

void UpstreamPool::put(std::unique_ptr<UpstreamConn> conn) {
  if (max_idle_ == 0 || !conn->buffer.empty() || !conn->socket.is_open()) return;
  if (idle_.size() >= max_idle_) idle_.pop_front();
  const std::uint64_t gen = next_gen_++;
  // Readable while idle means the server closed it or sent bytes nobody asked for: drop it. The
  // handler may run after the connection was taken again (completion already queued), so it
  // finds its entry by generation and never touches a connection it no longer owns.
  conn->socket.async_wait(boost::asio::socket_base::wait_read,
                          [this, gen](const boost::system::error_code& ec) {
                            if (!ec) on_readable(gen);
                          });
  idle_.push_back(Idle{std::move(conn), gen, Clock::now()});
}

void UpstreamPool::on_readable(std::uint64_t gen) {
  auto it = std::find_if(idle_.begin(), idle_.end(), [gen](const Idle& i) { return i.gen == gen; });
  if (it != idle_.end()) idle_.erase(it);
}

void UpstreamPool::sweep(Clock::time_point now) {
  if (idle_timeout_.count() <= 0) return;
  while (!idle_.empty() && now - idle_.front().since > idle_timeout_) idle_.pop_front();
}

}  // namespace portier::proxy
