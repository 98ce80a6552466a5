// A TCP backend for the TCP router tests: greets each connection with "<name>\n" (a
// server-first protocol, as SSH or SMTP), then echoes every byte until the client half-closes,
// then closes. With `proxy_header`, it first reads a PROXY protocol header (v1 or v2, read by
// this independent reader) and keeps it. Optionally over TLS with its own certificate (for TLS
// passthrough: the client must see this certificate). One thread per connection; all joined at
// destruction.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace portier::test {

class TcpBackend {
 public:
  struct Options {
    bool proxy_header = false;
    std::string cert_file, key_file;  // both set: TLS
  };
  TcpBackend(std::string name, Options o);
  explicit TcpBackend(std::string name) : TcpBackend(std::move(name), Options{}) {}
  ~TcpBackend();
  TcpBackend(const TcpBackend&) = delete;
  TcpBackend& operator=(const TcpBackend&) = delete;
  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int connections() const { return connections_.load(); }
  // The PROXY headers received so far (raw bytes), in order.
  std::vector<std::string> headers() const;

 private:
  void accept_loop();
  void serve(int fd);
  std::string name_;
  Options o_;
  void* ctx_ = nullptr;  // SSL_CTX*
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::vector<int> conns_;
  std::vector<std::thread> workers_;
  std::vector<std::string> headers_;
};

}  // namespace portier::test
