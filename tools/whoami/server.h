// whoami's HTTP/1.1 server: the accept loop and the per-connection request loop. Everything runs
// on the io_context that owns the acceptor; `shared` must outlive that io_context.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "conn.h"

namespace whoami {

// Accepts connections until the acceptor is closed or the io_context stops, and serves each one
// in its own coroutine on the same io_context. `acceptor` must outlive the loop (main closes it
// to drain, --drain).
asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, Shared& shared);

}  // namespace whoami
