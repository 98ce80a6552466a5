// WebSocket (RFC 6455) support for whoami's /ws endpoint: the handshake key transform and an echo
// loop that streams frames through the connection's fixed buffer.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>
#include <string_view>

#include "conn.h"

namespace whoami {

// Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + GUID)).
std::string websocket_accept(std::string_view key);

// Echoes frames after a 101 answer until the client closes, a protocol error (answered with close
// 1002) or an I/O error. Data frames are echoed one by one as they arrive, fragments included,
// payloads of any length streamed in pieces; pings get pongs, pongs are dropped; a close is
// answered with a close carrying the same status code. Returns with the socket closed. Text frames
// are not checked for valid UTF-8.
asio::awaitable<void> websocket_echo(Conn& conn);

}  // namespace whoami
