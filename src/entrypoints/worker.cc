#include "entrypoints/worker.h"

#include <malloc.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/big_blocks.h"
#include "common/log.h"
#include "entrypoints/accept.h"
#include "entrypoints/session.h"

namespace portier::entrypoints {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

TableLease::TableLease(Worker& w, Worker::TableList::iterator it) : w_(w), it_(it) {
  ++it_->second;
}

TableLease::~TableLease() { w_.release(it_); }

Worker::Worker(std::size_t id, const config::StaticConfig& cfg, std::string hostname)
    : id_(id),
      guard_(io_.get_executor()),
      state_(io_.get_executor(), cfg.servers_transport, std::move(hostname)),
      housekeeping_(io_) {
  tables_.emplace_front(std::make_shared<const proxy::RoutingTable>(), 0);
}

Worker::~Worker() { join(); }

Result<bool> Worker::listen(std::vector<EntryPointSpec>& specs) {
  for (auto& spec : specs) {
    if (spec.udp) {
      if (auto r = listen_udp(spec); !r) return r;
      continue;
    }
    boost::system::error_code ec;
    if (id_ == 0 && spec.endpoint.port() != 0) {
      // SO_REUSEPORT would let this process share a port with another process of the same user
      // (a second portier, an old one still running) and split connections between them
      // without a word. A probe without SO_REUSEPORT fails if anybody listens there already.
      tcp::acceptor probe(io_);
      probe.open(spec.endpoint.protocol(), ec);
      if (!ec) probe.set_option(tcp::acceptor::reuse_address(true), ec);
      if (!ec) probe.bind(spec.endpoint, ec);
      if (ec) {
        return Error{"entrypoint " + spec.name + ": cannot listen on " + spec.config.address +
                     ": " + ec.message()};
      }
    }
    auto acc = std::make_unique<tcp::acceptor>(io_);
    acc->open(spec.endpoint.protocol(), ec);
    if (!ec) acc->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) {
      int one = 1;
      if (::setsockopt(acc->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
        ec.assign(errno, boost::system::system_category());
      }
    }
    if (!ec) acc->bind(spec.endpoint, ec);
    if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
    if (!ec) ec = prepare_listener(*acc);
    if (ec) {
      return Error{"entrypoint " + spec.name + ": cannot listen on " + spec.config.address + ": " +
                   ec.message()};
    }
    if (spec.endpoint.port() == 0) {
      spec.endpoint.port(acc->local_endpoint().port());
    }
    spec.port = std::to_string(spec.endpoint.port());
    acceptors_.push_back(std::move(acc));
    acceptor_specs_.push_back(&spec);
  }
  return true;
}

void Worker::start(std::function<void()> on_exit) {
  for (std::size_t i = 0; i < acceptors_.size(); ++i) {
    tcp::acceptor* acc = acceptors_[i].get();
    const EntryPointSpec* spec = acceptor_specs_[i];
    asio::co_spawn(
        io_,
        [this, acc, spec]() -> asio::awaitable<void> {
          tcp::endpoint peer;  // filled by accept itself: no getpeername per connection
          long failures = 0;   // accept errors in a row
          auto backoff = std::chrono::milliseconds(5);
          std::chrono::steady_clock::time_point last_warning{};
          for (;;) {
            tcp::socket sock(io_);
            boost::system::error_code ec = accept_now(*acc, sock, peer);
            if (ec == asio::error::would_block) {
              // The queue is empty: wait for the next client (edge-triggered, so only after
              // accept4 said EAGAIN, which it just did).
              auto [wec] = co_await acc->async_wait(tcp::acceptor::wait_read,
                                                    asio::as_tuple(asio::use_awaitable));
              if (wec == asio::error::operation_aborted || !acc->is_open()) co_return;
              continue;
            }
            if (ec == asio::error::connection_aborted) continue;  // that client is gone already
            if (!acc->is_open()) co_return;
            if (ec) {
              // Out of descriptors (EMFILE, ENFILE) or buffers: back off, 5 ms doubling to 1 s
              // as Go's net/http does, instead of spinning on a queue that cannot drain. One
              // warning when a run of failures starts, then one every 10 s with a count.
              ++failures;
              const auto now = std::chrono::steady_clock::now();
              if (failures == 1 || now - last_warning >= std::chrono::seconds(10)) {
                log::warn("accept failed; backing off",
                          {{"entrypoint", spec->name},
                           {"error", ec.message()},
                           {"failures", std::to_string(failures)},
                           {"delay", std::to_string(backoff.count()) + "ms"}});
                last_warning = now;
              }
              asio::steady_timer t(io_, backoff);
              co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
              backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
              continue;
            }
            if (failures > 0) {
              log::info("accepting again",
                        {{"entrypoint", spec->name}, {"failures", std::to_string(failures)}});
              failures = 0;
              backoff = std::chrono::milliseconds(5);
            }
            asio::co_spawn(io_, run_session(*this, *spec, std::move(sock), peer),
                           log::Escaped{"connection failed: internal error"});
            // One connection per turn of the worker's queue, as nginx accepts one per event
            // loop pass (multi_accept off): taking every waiting client at once put all their
            // TLS handshakes ahead of the requests of connections already open, whose median
            // latency grew to 9-16 ms against nginx's 1.3 (docs/performance.md).
            co_await asio::post(io_, asio::use_awaitable);
          }
        },
        log::Escaped{"entrypoint stopped accepting: internal error"});
  }
  for (auto& l : udp_listeners_) l->start();
  housekeeping();
  thread_ = std::thread([this, on_exit = std::move(on_exit)] {
    io_.run();
    if (on_exit) on_exit();
  });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::housekeeping() {
  housekeeping_.expires_after(std::chrono::seconds(1));
  housekeeping_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || draining_) return;
    state_.sweep();
    // A burst of requests leaves the heap's free memory resident: chunks of ended connections
    // and streams between ones still in use, which free() cannot give back (an HTTP/2 burst of
    // 500 streams: 22 MB anonymous left, 7.6 after a trim). The first second with no request
    // started or ended and no connection closed, after one with some, returns those pages
    // (malloc_trim: every arena, a few milliseconds; first the coroutine frames this worker kept for
    // reuse go back, and the pages of its free buffer slots); under steady load nothing is trimmed.
    // A read of the next request that waited through a whole tick (1-2 s) is cancelled, as
    // nginx frees an idle connection's buffers: an HTTP/1.1 connection is then parked (its
    // coroutines end, its buffers go back: session.cc), an HTTP/2 one gives its buffers back
    // once may_release says nothing else is pending on the socket (h2_connection.cc). The next
    // request makes them again. A busy connection's wait is far shorter.
    for (SessionHandle* s = sessions_; s; s = s->next) {
      if (!s->waiting || s->waiting_ticks == 2) continue;
      if (++s->waiting_ticks == 2) {
        if (s->may_release != nullptr && !s->may_release(s->may_release_ctx)) {
          s->waiting_ticks = 1;  // not now: asked again at the next tick
          continue;
        }
        s->release = true;
        boost::system::error_code ignored;
        s->client->cancel(ignored);  // the session gives its buffers back (worker.h)
        ++activity_;                 // the freed blocks are for the trim below
      }
    }
    if (activity_ != activity_at_tick_) {
      activity_at_tick_ = activity_;
      busy_since_trim_ = true;
    } else if (busy_since_trim_) {
      busy_since_trim_ = false;
      recycling::release_kept();  // the coroutine frames this worker kept (asio_recycling.h)
      spare_connections_.clear();   // ended connections' buffers and request state (session.cc)
      records_.release_spare();     // empty slabs of connection records (record_pool.h)
      big_blocks::release_spare();  // the pages of the buffers' free slots (big_blocks.h)
      ::malloc_trim(0);
    }
    housekeeping();
  });
}

void Worker::publish(std::shared_ptr<const proxy::RoutingTable> table,
                     std::function<void()> taken) {
  asio::post(io_, [this, table = std::move(table), taken = std::move(taken)]() mutable {
    state_.on_table(*table);
    tables_.emplace_front(std::move(table), 0);
    // Tables no request holds any more go now; the others when their last lease ends.
    for (auto it = std::next(tables_.begin()); it != tables_.end();) {
      it = it->second == 0 ? tables_.erase(it) : std::next(it);
    }
    if (taken) taken();
  });
}

TableLease Worker::acquire_table() {
  ++activity_;
  return TableLease(*this, tables_.begin());
}

void Worker::release(TableList::iterator it) {
  ++activity_;
  if (--it->second == 0 && it != tables_.begin()) tables_.erase(it);
}

void Worker::add(SessionHandle& s) {
  s.next = sessions_;
  if (sessions_) sessions_->prev = &s;
  sessions_ = &s;
  ++session_count_;
}

void Worker::remove(SessionHandle& s) {
  if (s.prev) s.prev->next = s.next;
  if (s.next) s.next->prev = s.prev;
  if (sessions_ == &s) sessions_ = s.next;
  s.prev = s.next = nullptr;
  --session_count_;
  ++activity_;
  maybe_finish();
}

void Worker::drain() {
  asio::post(io_, [this] {
    if (draining_) return;
    draining_ = true;
    boost::system::error_code ec;
    for (auto& a : acceptors_) a->close(ec);
    for (auto& l : udp_listeners_) l->close();  // UDP sessions have no request to finish
    housekeeping_.cancel();
    for (SessionHandle* s = sessions_; s; s = s->next) {
      if (s->idle) {
        s->client->cancel(ec);
      } else if (s->on_drain != nullptr) {
        s->on_drain(s->on_drain_ctx);
      }
    }
    guard_.reset();
    maybe_finish();
  });
}

void Worker::abort() {
  asio::post(io_, [this] {
    boost::system::error_code ec;
    for (auto& l : udp_listeners_) l->close();
    for (SessionHandle* s = sessions_; s; s = s->next) {
      s->client->close(ec);
      if (s->upstream) s->upstream->close(ec);
      if (s->tcp_upstream) s->tcp_upstream->close(ec);
    }
  });
}

void Worker::maybe_finish() {
  if (draining_ && session_count_ == 0 && !finished_) {
    finished_ = true;
    state_.shutdown();  // idle upstream connections and the deadline wheel: nothing keeps us up
    log::debug("worker stopped", {{"worker", std::to_string(id_)}});
  }
}

}  // namespace portier::entrypoints
