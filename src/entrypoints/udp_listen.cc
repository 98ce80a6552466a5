// A worker's socket on a UDP entrypoint (address ending in /udp): bound with SO_REUSEPORT like
// the TCP listeners, so every worker reads datagrams; the kernel hashes a client's 4-tuple to one
// socket, so its session stays on one worker (src/udp/listener.h).
#include <sys/socket.h>

#include <boost/asio/ip/udp.hpp>

#include "entrypoints/worker.h"
#include "udp/table.h"

namespace portier::entrypoints {

namespace asio = boost::asio;
using udp_proto = asio::ip::udp;

Result<bool> Worker::listen_udp(EntryPointSpec& spec) {
  const udp_proto::endpoint at(spec.endpoint.address(), spec.endpoint.port());
  auto fail = [&](const boost::system::error_code& ec) -> Result<bool> {
    return Error{"entrypoint " + spec.name + ": cannot listen on " + spec.config.address + ": " +
                 ec.message()};
  };
  boost::system::error_code ec;
  if (id_ == 0 && at.port() != 0) {
    // As for TCP: without this probe, SO_REUSEPORT would split datagrams with another process.
    udp_proto::socket probe(io_);
    probe.open(at.protocol(), ec);
    if (!ec) probe.bind(at, ec);
    if (ec) return fail(ec);
  }
  udp_proto::socket sock(io_);
  sock.open(at.protocol(), ec);
  if (!ec) {
    int one = 1;
    if (::setsockopt(sock.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
      ec.assign(errno, boost::system::system_category());
    }
  }
  if (!ec) sock.bind(at, ec);
  if (ec) return fail(ec);
  if (spec.endpoint.port() == 0) spec.endpoint.port(sock.local_endpoint().port());
  spec.port = std::to_string(spec.endpoint.port());
  const std::size_t index = spec.index;
  // A new session asks the current table once; the endpoint is copied, so the session does not
  // keep the table alive.
  auto pick = [this, index]() -> std::optional<udp_proto::endpoint> {
    TableLease lease = acquire_table();
    const udp::Table* t = lease->udp();
    const udp::Service* svc = t ? t->entrypoint(index) : nullptr;
    const udp::Server* s = svc ? svc->pick() : nullptr;
    if (s == nullptr) return std::nullopt;
    return s->endpoint;
  };
  udp_listeners_.push_back(std::make_unique<udp::Listener>(
      io_, std::move(sock), spec.config.udp_timeout, std::move(pick)));
  return true;
}

}  // namespace portier::entrypoints
