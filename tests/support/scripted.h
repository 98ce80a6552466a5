// A keep-alive HTTP/1.1 backend for tests whose answers are written by a handler per path, for
// exact heads, pauses and validators that whoami does not offer. Bodiless requests only (a
// request body is read when it has a Content-Length, and dropped). One thread per connection;
// reads time out after 5 s; every thread is joined at destruction.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace portier::test {

bool send_all(int fd, std::string_view s);

class Scripted {
 public:
  // `head`: the request head as received (request line and fields, without the final CRLF).
  using Handler = std::function<void(int fd, const std::string& head)>;
  explicit Scripted(std::map<std::string, Handler> routes);
  ~Scripted();
  Scripted(const Scripted&) = delete;
  Scripted& operator=(const Scripted&) = delete;
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // Requests received for `path` (the target without its query), so far.
  int count(const std::string& path) const;
  // The heads received for `path`, in order.
  std::vector<std::string> heads(const std::string& path) const;

 private:
  void accept_loop();
  void serve(int c);
  std::map<std::string, Handler> routes_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::vector<int> conns_;
  std::vector<std::thread> workers_;
  std::map<std::string, std::vector<std::string>> seen_;
};

// A handler answering `status` with these fields (CRLF-terminated lines) and body; a
// Content-Length is added unless the status has no body.
Scripted::Handler fixed_answer(std::string fields, std::string body, int status = 200);

}  // namespace portier::test
