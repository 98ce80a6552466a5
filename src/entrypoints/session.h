// One client connection: reads request heads (bounded, strictly parsed), routes each request on
// the worker's current routing table and hands it to the forwarder; keep-alive and pipelining
// (requests answered in order). Runs on the worker that accepted the connection.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "entrypoints/entrypoint.h"

namespace portier::entrypoints {

class Worker;

boost::asio::awaitable<void> run_session(Worker& worker, const EntryPointSpec& entrypoint,
                                         boost::asio::ip::tcp::socket socket,
                                         boost::asio::ip::tcp::endpoint peer);

}  // namespace portier::entrypoints
