// A UDP backend for the UDP router tests: answers every datagram with "<name>|<payload>" to the
// address it came from, and remembers the source ports it has seen (one per portier session).
// One thread; joined at destruction.
#pragma once

#include <atomic>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

namespace portier::test {

class UdpBackend {
 public:
  explicit UdpBackend(std::string name);
  ~UdpBackend();
  UdpBackend(const UdpBackend&) = delete;
  UdpBackend& operator=(const UdpBackend&) = delete;
  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int datagrams() const { return datagrams_.load(); }
  std::set<int> peers() const;  // source ports seen

 private:
  void loop();
  std::string name_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> datagrams_{0};
  mutable std::mutex mu_;
  std::set<int> peers_;
  std::thread thread_;
};

// A client socket bound to 127.0.0.1:<any>: send() a datagram to 127.0.0.1:port and receive()
// one answer (nullopt after `wait` without one).
class UdpClient {
 public:
  UdpClient();
  ~UdpClient();
  UdpClient(const UdpClient&) = delete;
  UdpClient& operator=(const UdpClient&) = delete;
  void send(int port, const std::string& payload);
  std::optional<std::string> receive(std::chrono::milliseconds wait);
  // send, then receive with a 2 s wait.
  std::optional<std::string> ask(int port, const std::string& payload);

 private:
  int fd_ = -1;
};

}  // namespace portier::test
