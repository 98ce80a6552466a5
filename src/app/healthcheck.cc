#include "app/healthcheck.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <string>

#include "entrypoints/entrypoint.h"

namespace portier::app {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

int run_healthcheck(const config::StaticConfig& cfg, std::ostream& out) {
  if (!cfg.ping) {
    out << "portier healthcheck: `ping` is not enabled in the static configuration\n";
    return 1;
  }
  // The ping entrypoint's address (the static decoder made `traefik` when it was missing; with
  // api.insecure it is the API listener's, which answers /ping too).
  std::string address = "127.0.0.1:8080";
  if (auto it = cfg.entry_points.find(cfg.ping->entry_point); it != cfg.entry_points.end()) {
    address = it->second.address;
  } else if (cfg.ping->entry_point != "traefik") {
    out << "portier healthcheck: ping.entryPoint: no entrypoint `" << cfg.ping->entry_point
        << "`\n";
    return 1;
  }
  auto ep = entrypoints::parse_listen_address(address);
  if (!ep) {
    out << "portier healthcheck: " << ep.error().message << "\n";
    return 1;
  }
  tcp::endpoint target = *ep;
  if (target.address().is_unspecified()) {
    target.address(target.address().is_v6() ? asio::ip::address(asio::ip::address_v6::loopback())
                                             : asio::ip::address(asio::ip::address_v4::loopback()));
  }
  const std::string url = "http://" +
                          (target.address().is_v6() ? "[" + target.address().to_string() + "]"
                                                    : target.address().to_string()) +
                          ":" + std::to_string(target.port()) + "/ping";
  asio::io_context io;
  tcp::socket socket(io);
  std::string response;
  boost::system::error_code result = asio::error::timed_out;
  std::string request = "GET /ping HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  socket.async_connect(target, [&](boost::system::error_code ec) {
    if (ec) {
      result = ec;
      return;
    }
    asio::async_write(socket, asio::buffer(request), [&](boost::system::error_code wec, std::size_t) {
      if (wec) {
        result = wec;
        return;
      }
      asio::async_read(socket, asio::dynamic_buffer(response, 64 * 1024),
                       [&](boost::system::error_code rec, std::size_t) {
                         result = rec == asio::error::eof ? boost::system::error_code() : rec;
                       });
    });
  });
  io.run_for(std::chrono::seconds(5));
  if (result) {
    out << "portier healthcheck: " << url << ": " << result.message() << "\n";
    return 1;
  }
  const std::size_t sp = response.find(' ');
  const std::string status = sp == std::string::npos ? "" : response.substr(sp + 1, 3);
  if (status != "200") {
    out << "portier healthcheck: " << url << ": status " << (status.empty() ? "none" : status)
        << "\n";
    return 1;
  }
  out << "OK: " << url << "\n";
  return 0;
}

}  // namespace portier::app
