// What a connection goes through before HTTP: entryPoints.<ep>.proxyProtocol and the TCP
// routers (src/tcp/serve.h). Called once per connection by run_session, only on entrypoints with
// either; the others never read a byte here.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "entrypoints/entrypoint.h"
#include "proxy/buffer.h"
#include "proxy/client_stream.h"

namespace portier::entrypoints {

class Worker;
struct SessionHandle;

// True: go on with HTTP (the buffer holds the bytes read, `peer` the client the PROXY header
// named). False: the connection was served by a TCP router, or refused; close it.
boost::asio::awaitable<bool> prelude(Worker& worker, const EntryPointSpec& ep,
                                     proxy::ClientStream& socket, proxy::Buffer& buffer,
                                     boost::asio::ip::tcp::endpoint& peer, SessionHandle& handle);

}  // namespace portier::entrypoints
