#include "acme/redis.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace portier::acme {
namespace {

constexpr std::size_t kMaxBulk = 64 * 1024 * 1024;
constexpr long long kMaxArray = 1'000'000;
constexpr int kMaxDepth = 8;

using Clock = std::chrono::steady_clock;

ParseStatus parse_at(std::string_view in, std::size_t& pos, RedisReply& out, int depth) {
  if (depth > kMaxDepth) return ParseStatus::Invalid;
  if (pos >= in.size()) return ParseStatus::Incomplete;
  auto eol = in.find("\r\n", pos);
  if (eol == std::string_view::npos) {
    return in.size() - pos > 64 * 1024 ? ParseStatus::Invalid : ParseStatus::Incomplete;
  }
  char kind = in[pos];
  std::string_view line = in.substr(pos + 1, eol - pos - 1);
  std::size_t after = eol + 2;
  auto number = [&](long long& v) {
    auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), v);
    return ec == std::errc() && p == line.data() + line.size();
  };
  long long n = 0;
  switch (kind) {
    case '+':
    case '-':
      out.type = kind == '+' ? RedisReply::Type::Status : RedisReply::Type::Error;
      out.str = std::string(line);
      pos = after;
      return ParseStatus::Ok;
    case ':':
      if (!number(n)) return ParseStatus::Invalid;
      out.type = RedisReply::Type::Integer;
      out.integer = n;
      pos = after;
      return ParseStatus::Ok;
    case '$':
      if (!number(n) || n < -1 || n > static_cast<long long>(kMaxBulk)) return ParseStatus::Invalid;
      if (n == -1) {
        out.type = RedisReply::Type::Nil;
        pos = after;
        return ParseStatus::Ok;
      }
      if (in.size() < after + static_cast<std::size_t>(n) + 2) return ParseStatus::Incomplete;
      if (in.substr(after + static_cast<std::size_t>(n), 2) != "\r\n") return ParseStatus::Invalid;
      out.type = RedisReply::Type::Bulk;
      out.str = std::string(in.substr(after, static_cast<std::size_t>(n)));
      pos = after + static_cast<std::size_t>(n) + 2;
      return ParseStatus::Ok;
    case '*': {
      if (!number(n) || n < -1 || n > kMaxArray) return ParseStatus::Invalid;
      if (n == -1) {
        out.type = RedisReply::Type::Nil;
        pos = after;
        return ParseStatus::Ok;
      }
      std::size_t p = after;
      std::vector<RedisReply> elems;
      for (long long i = 0; i < n; ++i) {
        RedisReply e;
        auto s = parse_at(in, p, e, depth + 1);
        if (s != ParseStatus::Ok) return s;
        elems.push_back(std::move(e));
      }
      out.type = RedisReply::Type::Array;
      out.elements = std::move(elems);
      pos = p;
      return ParseStatus::Ok;
    }
    default:
      return ParseStatus::Invalid;
  }
}

}  // namespace

ParseStatus parse_reply(std::string_view in, RedisReply& out, std::size_t& used) {
  std::size_t pos = 0;
  auto s = parse_at(in, pos, out, 0);
  if (s == ParseStatus::Ok) used = pos;
  return s;
}

std::string encode_command(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) {
    out += "$" + std::to_string(a.size()) + "\r\n";
    out += a;
    out += "\r\n";
  }
  return out;
}

struct RedisConnection::Impl {
  RedisEndpoint ep;
  std::chrono::milliseconds timeout;
  int fd = -1;
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  std::string in;

  ~Impl() {
    close();
    if (ctx != nullptr) SSL_CTX_free(ctx);
  }
  void close() {
    if (ssl != nullptr) SSL_free(ssl);
    ssl = nullptr;
    if (fd >= 0) ::close(fd);
    fd = -1;
    in.clear();
  }
  Error fail(std::string what) {
    close();
    return Error{"redis " + ep.host + ":" + std::to_string(ep.port) + ": " + what};
  }
  // Waits until fd is ready for `events` or the deadline passes.
  bool ready(short events, Clock::time_point deadline) {
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() < 0) return false;
      pollfd p{fd, events, 0};
      int r = ::poll(&p, 1, static_cast<int>(left.count()));
      if (r > 0) return true;
      if (r == 0) return false;
      if (errno != EINTR) return false;
    }
  }
  Result<bool> connect_tcp(Clock::time_point deadline) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    std::string port = std::to_string(ep.port);
    if (int rc = ::getaddrinfo(ep.host.c_str(), port.c_str(), &hints, &res); rc != 0) {
      return fail(std::string("cannot resolve: ") + gai_strerror(rc));
    }
    std::string last = "no address";
    for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
      fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
      if (fd < 0) continue;
      int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
      if (rc != 0 && errno == EINPROGRESS && ready(POLLOUT, deadline)) {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        rc = err == 0 ? 0 : -1;
        errno = err == 0 ? 0 : err;
      } else if (rc != 0 && errno == EINPROGRESS) {
        errno = ETIMEDOUT;
      }
      if (rc == 0) {
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        ::freeaddrinfo(res);
        return true;
      }
      last = std::strerror(errno);
      ::close(fd);
      fd = -1;
    }
    ::freeaddrinfo(res);
    return fail("cannot connect: " + last);
  }
  Result<bool> start_tls(Clock::time_point deadline) {
    if (ctx == nullptr) {
      ctx = SSL_CTX_new(TLS_client_method());
      if (ctx == nullptr) return fail("cannot create a TLS context");
      SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
      int ok = ep.ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx)
                                  : SSL_CTX_load_verify_locations(ctx, ep.ca_file.c_str(), nullptr);
      if (ok != 1) return fail("cannot load the CA certificates " + ep.ca_file);
    }
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    const std::string& name = ep.server_name.empty() ? ep.host : ep.server_name;
    SSL_set_tlsext_host_name(ssl, name.c_str());
    SSL_set1_host(ssl, name.c_str());
    for (;;) {
      int r = SSL_connect(ssl);
      if (r == 1) return true;
      int e = SSL_get_error(ssl, r);
      if (e == SSL_ERROR_WANT_READ && ready(POLLIN, deadline)) continue;
      if (e == SSL_ERROR_WANT_WRITE && ready(POLLOUT, deadline)) continue;
      char buf[256] = {};
      ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
      return fail(std::string("TLS handshake failed: ") + (buf[0] ? buf : "timeout"));
    }
  }
  Result<bool> write_all(std::string_view data, Clock::time_point deadline) {
    std::size_t off = 0;
    while (off < data.size()) {
      if (ssl != nullptr) {
        int r = SSL_write(ssl, data.data() + off, static_cast<int>(data.size() - off));
        if (r > 0) {
          off += static_cast<std::size_t>(r);
          continue;
        }
        int e = SSL_get_error(ssl, r);
        if (e == SSL_ERROR_WANT_WRITE && ready(POLLOUT, deadline)) continue;
        if (e == SSL_ERROR_WANT_READ && ready(POLLIN, deadline)) continue;
        return fail("write failed");
      }
      ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n > 0) {
        off += static_cast<std::size_t>(n);
      } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        if (!ready(POLLOUT, deadline)) return fail("write timed out");
      } else {
        return fail(std::string("write failed: ") + std::strerror(errno));
      }
    }
    return true;
  }
  // Reads more into `in`: 1 when bytes came, 0 on timeout, -1 on error or close.
  int fill(Clock::time_point deadline) {
    char buf[16384];
    for (;;) {
      if (ssl != nullptr) {
        int r = SSL_read(ssl, buf, sizeof buf);
        if (r > 0) {
          in.append(buf, static_cast<std::size_t>(r));
          return 1;
        }
        int e = SSL_get_error(ssl, r);
        if (e == SSL_ERROR_WANT_READ) {
          if (!ready(POLLIN, deadline)) return 0;
          continue;
        }
        if (e == SSL_ERROR_WANT_WRITE) {
          if (!ready(POLLOUT, deadline)) return 0;
          continue;
        }
        return -1;
      }
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) {
        in.append(buf, static_cast<std::size_t>(n));
        return 1;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        if (!ready(POLLIN, deadline)) return 0;
        continue;
      }
      return -1;
    }
  }
  // One reply: a value, nothing on timeout (when `quiet_ok`), or an error.
  Result<std::optional<RedisReply>> read_reply(Clock::time_point deadline, bool quiet_ok) {
    for (;;) {
      RedisReply r;
      std::size_t used = 0;
      auto s = parse_reply(in, r, used);
      if (s == ParseStatus::Ok) {
        in.erase(0, used);
        return std::optional<RedisReply>(std::move(r));
      }
      if (s == ParseStatus::Invalid) return fail("malformed reply");
      int f = fill(deadline);
      if (f == 0 && quiet_ok) return std::optional<RedisReply>();  // a partial reply stays in `in`
      if (f == 0) return fail("read timed out");
      if (f < 0) return fail("connection closed");
    }
  }
  Result<RedisReply> roundtrip(const std::vector<std::string>& args) {
    auto deadline = Clock::now() + timeout;
    if (auto w = write_all(encode_command(args), deadline); !w) return w.error();
    auto r = read_reply(deadline, false);
    if (!r) return r.error();
    return std::move(**r);
  }
  Result<bool> ensure() {
    if (fd >= 0) return true;
    auto deadline = Clock::now() + timeout;
    if (auto r = connect_tcp(deadline); !r) return r;
    if (ep.tls) {
      if (auto r = start_tls(deadline); !r) return r;
    }
    if (!ep.password.empty()) {
      std::vector<std::string> auth{"AUTH"};
      if (!ep.username.empty()) auth.push_back(ep.username);
      auth.push_back(ep.password);
      auto r = roundtrip(auth);
      if (!r) return r.error();
      if (r->is_error()) return fail("AUTH refused: " + r->str);
    }
    if (ep.db != 0) {
      auto r = roundtrip({"SELECT", std::to_string(ep.db)});
      if (!r) return r.error();
      if (r->is_error()) return fail("SELECT refused: " + r->str);
    }
    return true;
  }
};

RedisConnection::RedisConnection(RedisEndpoint ep, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  impl_->ep = std::move(ep);
  impl_->timeout = timeout;
}

RedisConnection::~RedisConnection() = default;

Result<RedisReply> RedisConnection::command(const std::vector<std::string>& args) {
  // A connection that was open may have been closed by the server meanwhile (a Redis restart,
  // an idle timeout): that shows only now, so one failure on it is retried on a new one.
  const bool reused = impl_->fd >= 0;
  if (auto r = impl_->ensure(); !r) return r.error();
  auto r = impl_->roundtrip(args);
  if (r || !reused) return r;
  if (auto again = impl_->ensure(); !again) return again.error();
  return impl_->roundtrip(args);
}

Result<bool> RedisConnection::send(const std::vector<std::string>& args) {
  if (auto r = impl_->ensure(); !r) return r;
  return impl_->write_all(encode_command(args), Clock::now() + impl_->timeout);
}

Result<std::optional<RedisReply>> RedisConnection::read(std::chrono::milliseconds wait) {
  if (impl_->fd < 0) return Error{"redis: not connected"};
  return impl_->read_reply(Clock::now() + wait, true);
}

bool RedisConnection::connected() const { return impl_->fd >= 0; }
void RedisConnection::close() { impl_->close(); }

}  // namespace portier::acme
