#include "support/udp_backend.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <vector>

namespace portier::test {

namespace {
int bound_socket(int& port) {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) throw std::runtime_error("udp socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    throw std::runtime_error("udp bind");
  }
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return fd;
}
}  // namespace

UdpBackend::UdpBackend(std::string name) : name_(std::move(name)) {
  fd_ = bound_socket(port_);
  thread_ = std::thread([this] { loop(); });
}

UdpBackend::~UdpBackend() {
  stop_ = true;
  thread_.join();
  ::close(fd_);
}

std::set<int> UdpBackend::peers() const {
  std::lock_guard lock(mu_);
  return peers_;
}

void UdpBackend::loop() {
  std::vector<char> buf(65536);
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    sockaddr_in from{};
    socklen_t len = sizeof from;
    ssize_t n = ::recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) continue;
    ++datagrams_;
    {
      std::lock_guard lock(mu_);
      peers_.insert(ntohs(from.sin_port));
    }
    std::string reply = name_ + "|" + std::string(buf.data(), static_cast<std::size_t>(n));
    ::sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
  }
}

UdpClient::UdpClient() {
  int port = 0;
  fd_ = bound_socket(port);
}

UdpClient::~UdpClient() { ::close(fd_); }

void UdpClient::send(int port, const std::string& payload) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  ::sendto(fd_, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
}

std::optional<std::string> UdpClient::receive(std::chrono::milliseconds wait) {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(wait.count())) <= 0) return std::nullopt;
  std::vector<char> buf(65536);
  ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
  if (n < 0) return std::nullopt;
  return std::string(buf.data(), static_cast<std::size_t>(n));
}

std::optional<std::string> UdpClient::ask(int port, const std::string& payload) {
  send(port, payload);
  return receive(std::chrono::seconds(2));
}

}  // namespace portier::test
