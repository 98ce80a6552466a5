#include "support/tcp_backend.h"

#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "support/net.h"
#include "support/scripted.h"

namespace portier::test {
namespace {

// Reads exactly n bytes (5 s at most per read).
bool read_exact(int fd, std::string& out, std::size_t n) {
  while (out.size() < n) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 5000) <= 0) return false;
    char c[512];
    ssize_t r = ::recv(fd, c, std::min(sizeof c, n - out.size()), 0);
    if (r <= 0) return false;
    out.append(c, static_cast<std::size_t>(r));
  }
  return true;
}

}  // namespace

TcpBackend::TcpBackend(std::string name, Options o) : name_(std::move(name)), o_(std::move(o)) {
  if (!o_.cert_file.empty()) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate_chain_file(ctx, o_.cert_file.c_str());
    SSL_CTX_use_PrivateKey_file(ctx, o_.key_file.c_str(), SSL_FILETYPE_PEM);
    ctx_ = ctx;
  }
  fd_ = listen_loopback(64, port_);
  acceptor_ = std::thread([this] { accept_loop(); });
}

TcpBackend::~TcpBackend() {
  stop_ = true;
  ::shutdown(fd_, SHUT_RDWR);
  acceptor_.join();
  {
    std::lock_guard lock(mu_);
    for (int c : conns_) ::shutdown(c, SHUT_RDWR);
  }
  for (auto& t : workers_) t.join();
  for (int c : conns_) ::close(c);
  ::close(fd_);
  if (ctx_) SSL_CTX_free(static_cast<SSL_CTX*>(ctx_));
}

std::vector<std::string> TcpBackend::headers() const {
  std::lock_guard lock(mu_);
  return headers_;
}

void TcpBackend::accept_loop() {
  while (!stop_) {
    int c = ::accept(fd_, nullptr, nullptr);
    if (c < 0) {
      if (stop_) return;
      continue;
    }
    ++connections_;
    std::lock_guard lock(mu_);
    conns_.push_back(c);
    workers_.emplace_back([this, c] { serve(c); });
  }
}

void TcpBackend::serve(int fd) {
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (o_.proxy_header) {
    std::string h;
    if (!read_exact(fd, h, 1)) return;
    if (h[0] == 'P') {  // v1: up to CRLF
      while (h.size() < 108 && h.find("\r\n") == std::string::npos) {
        if (!read_exact(fd, h, h.size() + 1)) return;
      }
    } else {  // v2: 16 bytes, then the announced length
      if (!read_exact(fd, h, 16)) return;
      const std::size_t len = (static_cast<unsigned char>(h[14]) << 8) |
                              static_cast<unsigned char>(h[15]);
      if (!read_exact(fd, h, 16 + len)) return;
    }
    std::lock_guard lock(mu_);
    headers_.push_back(h);
  }
  SSL* ssl = nullptr;
  if (ctx_) {
    ssl = SSL_new(static_cast<SSL_CTX*>(ctx_));
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) != 1) {
      SSL_free(ssl);
      ::shutdown(fd, SHUT_RDWR);
      return;
    }
  }
  auto write = [&](const std::string& s) {
    return ssl ? SSL_write(ssl, s.data(), static_cast<int>(s.size())) > 0
               : send_all(fd, s);
  };
  if (write(name_ + "\n")) {
    char buf[4096];
    for (;;) {
      int n = ssl ? SSL_read(ssl, buf, sizeof buf)
                  : static_cast<int>(::recv(fd, buf, sizeof buf, 0));
      if (n <= 0 || !write(std::string(buf, static_cast<std::size_t>(n)))) break;
    }
  }
  if (ssl) {
    SSL_shutdown(ssl);
    SSL_free(ssl);
  }
  ::shutdown(fd, SHUT_RDWR);
}

}  // namespace portier::test
