#include "entrypoints/prelude.h"

#include "entrypoints/worker.h"
#include "tcp/serve.h"

namespace portier::entrypoints {

boost::asio::awaitable<bool> prelude(Worker& worker, const EntryPointSpec& ep,
                                     proxy::ClientStream& socket, proxy::Buffer& buffer,
                                     boost::asio::ip::tcp::endpoint& peer, SessionHandle& handle) {
  // The lease keeps the TCP routes (and the certificate store) alive while a TCP router serves
  // the connection, however long that lasts.
  TableLease table = worker.acquire_table();
  const tcp::Table* routes = table->tcp_enabled(ep.index) ? table->tcp() : nullptr;
  tcp::Connection c{socket,
                    buffer,
                    worker.state().wheel(),
                    peer,
                    ep.name,
                    ep.config.responding_timeouts.read_header_timeout,
                    ep.config.responding_timeouts.idle_timeout,
                    &ep.proxy_trusted,
                    ep.config.proxy_protocol && ep.config.proxy_protocol->insecure,
                    ep.proxy_protocol,
                    routes ? routes->entrypoint(ep.index) : nullptr,
                    worker.tls().context,
                    table->tls_store(),
                    &handle.idle,
                    &handle.tcp_upstream};
  co_return co_await tcp::serve(c) == tcp::Next::Http;
}

}  // namespace portier::entrypoints
