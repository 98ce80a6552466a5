#include "acme/dns_client.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>

#include "acme/ok.h"

namespace portier::acme::dns {
namespace {

using Clock = std::chrono::steady_clock;

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Waits for `events` on `fd` until `deadline`; false on timeout or error.
bool wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, events, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return false;
  }
}

Result<std::string> udp(const addrinfo* ai, std::string_view wire, Clock::time_point deadline) {
  Fd s{::socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
  if (s.fd < 0 || ::connect(s.fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
      ::send(s.fd, wire.data(), wire.size(), 0) != static_cast<ssize_t>(wire.size())) {
    return Error{std::string("UDP: ") + std::strerror(errno)};
  }
  char buf[65535];
  for (;;) {  // skip answers to other IDs (late answers to an earlier attempt)
    if (!wait_for(s.fd, POLLIN, deadline)) return Error{"UDP: no answer in time"};
    ssize_t n = ::recv(s.fd, buf, sizeof buf, 0);
    if (n < 0) return Error{std::string("UDP: ") + std::strerror(errno)};
    if (n >= 2 && buf[0] == wire[0] && buf[1] == wire[1])
      return ok(std::string(buf, static_cast<std::size_t>(n)));
  }
}

Result<std::string> tcp(const addrinfo* ai, std::string_view wire, Clock::time_point deadline) {
  Fd s{::socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)};
  if (s.fd < 0) return Error{std::string("TCP: ") + std::strerror(errno)};
  if (::connect(s.fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
    return Error{std::string("TCP: ") + std::strerror(errno)};
  }
  std::string out;
  out += static_cast<char>(wire.size() >> 8);
  out += static_cast<char>(wire.size() & 0xff);
  out += wire;
  for (std::size_t sent = 0; sent < out.size();) {
    if (!wait_for(s.fd, POLLOUT, deadline)) return Error{"TCP: timeout"};
    ssize_t n = ::send(s.fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN) return Error{std::string("TCP: ") + std::strerror(errno)};
    if (n > 0) sent += static_cast<std::size_t>(n);
  }
  std::string in;
  char buf[4096];
  for (;;) {
    if (in.size() >= 2) {
      std::size_t len = static_cast<unsigned char>(in[0]) << 8 | static_cast<unsigned char>(in[1]);
      if (in.size() >= 2 + len) return ok(in.substr(2, len));
    }
    if (!wait_for(s.fd, POLLIN, deadline)) return Error{"TCP: no answer in time"};
    ssize_t n = ::recv(s.fd, buf, sizeof buf, 0);
    if (n == 0) return Error{"TCP: the server closed the connection"};
    if (n < 0 && errno != EAGAIN) return Error{std::string("TCP: ") + std::strerror(errno)};
    if (n > 0) in.append(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace

std::string with_port(std::string_view server, int default_port) {
  std::string s(server);
  if (s.starts_with('[')) {
    return s.find("]:") != std::string::npos ? s : s + ":" + std::to_string(default_port);
  }
  std::size_t colons = std::count(s.begin(), s.end(), ':');
  if (colons == 1) return s;
  if (colons > 1) return "[" + s + "]:" + std::to_string(default_port);  // a bare IPv6 address
  return s + ":" + std::to_string(default_port);
}

std::uint16_t new_id() {
  static thread_local std::mt19937 rng(std::random_device{}());
  return static_cast<std::uint16_t>(rng());
}

Result<std::string> exchange(const std::string& server, std::string_view wire,
                             std::chrono::milliseconds timeout) {
  std::string hp = with_port(server);
  std::size_t colon = hp.rfind(':');
  std::string host = hp.substr(0, colon), port = hp.substr(colon + 1);
  if (host.starts_with('[')) host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    return Error{"DNS server " + server + ": " + gai_strerror(rc)};
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, freeaddrinfo);
  const auto deadline = Clock::now() + timeout;
  Error last{"DNS server " + server + ": no address"};
  for (const addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    Result<std::string> r =
        wire.size() <= 512 ? udp(ai, wire, deadline) : Result<std::string>(Error{"too large"});
    if (r) {
      auto m = decode(*r);
      if (m && !m->truncated()) return r;
    }
    auto t = tcp(ai, wire, deadline);
    if (t) return t;
    last = Error{"DNS server " + server + ": " + (r ? t.error().message : r.error().message)};
  }
  return last;
}

std::vector<std::string> system_resolvers() {
  std::vector<std::string> out;
  std::ifstream in("/etc/resolv.conf");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string key, value;
    if (ls >> key >> value && key == "nameserver") out.push_back(with_port(value));
  }
  if (out.empty()) out = {"1.1.1.1:53", "1.0.0.1:53"};
  return out;
}

}  // namespace portier::acme::dns
