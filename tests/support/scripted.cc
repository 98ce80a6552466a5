#include "support/scripted.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>

#include "support/net.h"

namespace portier::test {

bool send_all(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    s.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

Scripted::Scripted(std::map<std::string, Handler> routes) : routes_(std::move(routes)) {
  fd_ = listen_loopback(64, port_);
  acceptor_ = std::thread([this] { accept_loop(); });
}

Scripted::~Scripted() {
  stop_ = true;
  acceptor_.join();
  {
    std::lock_guard l(mu_);
    for (int c : conns_) ::shutdown(c, SHUT_RDWR);
  }
  for (auto& t : workers_) t.join();
  for (int c : conns_) ::close(c);
  ::close(fd_);
}

int Scripted::count(const std::string& path) const {
  std::lock_guard l(mu_);
  auto it = seen_.find(path);
  return it == seen_.end() ? 0 : static_cast<int>(it->second.size());
}

std::vector<std::string> Scripted::heads(const std::string& path) const {
  std::lock_guard l(mu_);
  auto it = seen_.find(path);
  return it == seen_.end() ? std::vector<std::string>() : it->second;
}

void Scripted::accept_loop() {
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    int c = ::accept(fd_, nullptr, nullptr);
    if (c < 0) continue;
    timeval tv{5, 0};
    ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::lock_guard l(mu_);
    conns_.push_back(c);
    workers_.emplace_back([this, c] { serve(c); });
  }
}

void Scripted::serve(int c) {
  std::string buf;
  char tmp[4096];
  for (;;) {
    std::size_t end;
    while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
      ssize_t n = ::recv(c, tmp, sizeof tmp, 0);
      if (n <= 0) return;
      buf.append(tmp, static_cast<std::size_t>(n));
    }
    const std::string head = buf.substr(0, end);
    buf.erase(0, end + 4);
    std::string lower = head;
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (auto cl = lower.find("\r\ncontent-length:"); cl != std::string::npos) {
      std::size_t want = std::stoul(lower.substr(cl + 17));
      while (buf.size() < want) {
        ssize_t n = ::recv(c, tmp, sizeof tmp, 0);
        if (n <= 0) return;
        buf.append(tmp, static_cast<std::size_t>(n));
      }
      buf.erase(0, want);
    }
    const std::size_t sp = head.find(' ');
    std::string target = head.substr(sp + 1, head.find(' ', sp + 1) - sp - 1);
    std::string path = target.substr(0, target.find('?'));
    {
      std::lock_guard l(mu_);
      seen_[path].push_back(head);
    }
    auto it = routes_.find(path);
    if (it == routes_.end()) {
      send_all(c, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    } else {
      it->second(c, head);
    }
  }
}

Scripted::Handler fixed_answer(std::string fields, std::string body, int status) {
  return [=](int fd, const std::string&) {
    std::string r = "HTTP/1.1 " + std::to_string(status) + " X\r\n" + fields;
    const bool bodiless = status == 204 || status == 304;
    if (!bodiless) r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    r += "\r\n";
    if (!bodiless) r += body;
    send_all(fd, r);
  };
}

}  // namespace portier::test
