#include "support/net.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <regex>
#include <stdexcept>

namespace portier::test {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::string Response::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (lower(k) == lower(std::string(name))) return v;
  }
  return "";
}

bool Response::has_header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (lower(k) == lower(std::string(name))) return true;
  }
  return false;
}

Conn::Conn(int port, std::chrono::milliseconds timeout, const std::string& source_ip) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (!source_ip.empty()) {
    sockaddr_in src{};
    src.sin_family = AF_INET;
    if (::inet_pton(AF_INET, source_ip.c_str(), &src.sin_addr) != 1 ||
        ::bind(fd_, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
      ::close(fd_);
      throw std::runtime_error("cannot bind to " + source_ip + ": " + std::strerror(errno));
    }
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) +
                             " failed: " + std::strerror(errno));
  }
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

Conn::~Conn() {
  if (ssl_) {
    // A session freed without close_notify is marked not resumable.
    SSL_shutdown(static_cast<SSL*>(ssl_));
    SSL_free(static_cast<SSL*>(ssl_));
  }
  if (ctx_) SSL_CTX_free(static_cast<SSL_CTX*>(ctx_));
  if (fd_ >= 0) ::close(fd_);
}

namespace {
std::string name_cn(X509_NAME* name) {
  char buf[256] = {};
  int n = X509_NAME_get_text_by_NID(name, NID_commonName, buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
}
}  // namespace

TlsInfo Conn::start_tls(const TlsClientOptions& o) {
  TlsInfo info;
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  ctx_ = ctx;
  // No internal cache: freeing the context would mark cached sessions not resumable.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  if (o.max_version) SSL_CTX_set_max_proto_version(ctx, o.max_version);
  if (o.min_version) SSL_CTX_set_min_proto_version(ctx, o.min_version);
  if (o.security_level >= 0) SSL_CTX_set_security_level(ctx, o.security_level);
  if (!o.ciphersuites.empty()) SSL_CTX_set_ciphersuites(ctx, o.ciphersuites.c_str());
  if (!o.cipher_list.empty()) SSL_CTX_set_cipher_list(ctx, o.cipher_list.c_str());
  if (!o.ca_file.empty()) {
    SSL_CTX_load_verify_locations(ctx, o.ca_file.c_str(), nullptr);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  }
  if (!o.cert_file.empty() &&
      (SSL_CTX_use_certificate_chain_file(ctx, o.cert_file.c_str()) != 1 ||
       SSL_CTX_use_PrivateKey_file(ctx, o.key_file.c_str(), SSL_FILETYPE_PEM) != 1)) {
    info.error = "cannot load the client certificate " + o.cert_file;
    ERR_clear_error();
    return info;
  }
  SSL* ssl = SSL_new(ctx);
  ssl_ = ssl;
  if (!o.sni.empty()) {
    SSL_set_tlsext_host_name(ssl, o.sni.c_str());
    if (!o.ca_file.empty()) SSL_set1_host(ssl, o.sni.c_str());
  }
  std::string alpn;
  for (const auto& p : o.alpn) {
    alpn.push_back(static_cast<char>(p.size()));
    alpn += p;
  }
  if (!alpn.empty()) {
    SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char*>(alpn.data()),
                        static_cast<unsigned>(alpn.size()));
  }
  if (o.session) SSL_set_session(ssl, static_cast<SSL_SESSION*>(o.session));
  // OpenSSL writes to the descriptor with write(2): a server that refused the handshake
  // after the client finished its side (TLS 1.3 client certificates) and closed would kill the
  // test with SIGPIPE, where a real client (curl, a browser) gets EPIPE. The plain path sends
  // with MSG_NOSIGNAL for the same reason.
  static const bool sigpipe_ignored = [] {
    ::signal(SIGPIPE, SIG_IGN);
    return true;
  }();
  (void)sigpipe_ignored;
  SSL_set_fd(ssl, fd_);
  if (SSL_connect(ssl) != 1) {
    char buf[256];
    ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
    info.error = buf;
    ERR_clear_error();
    return info;
  }
  info.ok = true;
  info.version = SSL_get_version(ssl);
  info.cipher = SSL_CIPHER_get_name(SSL_get_current_cipher(ssl));
  info.resumed = SSL_session_reused(ssl) == 1;
  info.verified = !o.ca_file.empty() && SSL_get_verify_result(ssl) == X509_V_OK;
  const unsigned char* sel = nullptr;
  unsigned sel_len = 0;
  SSL_get0_alpn_selected(ssl, &sel, &sel_len);
  info.alpn.assign(reinterpret_cast<const char*>(sel), sel_len);
  if (X509* peer = SSL_get1_peer_certificate(ssl)) {
    info.subject_cn = name_cn(X509_get_subject_name(peer));
    info.issuer_cn = name_cn(X509_get_issuer_name(peer));
    BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(peer), nullptr);
    char* hex = BN_bn2hex(bn);
    info.serial = hex;
    OPENSSL_free(hex);
    BN_free(bn);
    X509_free(peer);
  }
  return info;
}

void* Conn::tls_session() const {
  return ssl_ ? SSL_get1_session(static_cast<SSL*>(ssl_)) : nullptr;
}

bool Conn::send(std::string_view bytes) {
  if (ssl_) {
    while (!bytes.empty()) {
      int n = SSL_write(static_cast<SSL*>(ssl_), bytes.data(), static_cast<int>(bytes.size()));
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void Conn::shutdown_write() { ::shutdown(fd_, SHUT_WR); }

bool Conn::tls_close() {
  auto* s = static_cast<SSL*>(ssl_);
  if (s == nullptr) return false;
  int r = SSL_shutdown(s);
  if (r == 1) return true;
  if (r < 0) return false;
  char tmp[4096];
  for (;;) {  // bounded by the socket's receive timeout
    int n = SSL_read(s, tmp, sizeof tmp);
    if (n > 0) continue;
    return SSL_get_error(s, n) == SSL_ERROR_ZERO_RETURN;
  }
}

bool Conn::wait_close_notify() {
  auto* s = static_cast<SSL*>(ssl_);
  if (s == nullptr) return false;
  char tmp[4096];
  for (;;) {  // bounded by the socket's receive timeout
    int n = SSL_read(s, tmp, sizeof tmp);
    if (n > 0) continue;
    return SSL_get_error(s, n) == SSL_ERROR_ZERO_RETURN;
  }
}

bool Conn::fill() {
  char tmp[65536];
  if (ssl_) {
    int n = SSL_read(static_cast<SSL*>(ssl_), tmp, sizeof tmp);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
  }
  ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
  if (n <= 0) return false;
  buf_.append(tmp, static_cast<std::size_t>(n));
  return true;
}

std::optional<Response> Conn::read_response(bool no_body) {
  std::size_t end;
  while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
    if (!fill()) return std::nullopt;
  }
  Response r;
  std::string head = buf_.substr(0, end);
  buf_.erase(0, end + 4);
  std::size_t line_end = head.find("\r\n");
  r.status_line = head.substr(0, line_end);
  if (r.status_line.size() < 12 || r.status_line.rfind("HTTP/1.", 0) != 0) return std::nullopt;
  r.status = std::stoi(r.status_line.substr(9, 3));
  std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    std::size_t e = head.find("\r\n", pos);
    if (e == std::string::npos) e = head.size();
    std::string line = head.substr(pos, e - pos);
    std::size_t colon = line.find(':');
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    r.headers.emplace_back(line.substr(0, colon), value);
    pos = e + 2;
  }
  if (no_body || r.status < 200 || r.status == 204 || r.status == 304) return r;
  if (lower(r.header("transfer-encoding")) == "chunked") {
    for (;;) {
      std::size_t le;
      while ((le = buf_.find("\r\n")) == std::string::npos) {
        if (!fill()) return std::nullopt;
      }
      std::size_t size = std::stoul(buf_.substr(0, le), nullptr, 16);
      buf_.erase(0, le + 2);
      if (size == 0) {
        while ((le = buf_.find("\r\n")) != 0) {  // trailers until the empty line
          if (le == std::string::npos) {
            if (!fill()) return std::nullopt;
            continue;
          }
          buf_.erase(0, le + 2);
        }
        buf_.erase(0, 2);
        return r;
      }
      while (buf_.size() < size + 2) {
        if (!fill()) return std::nullopt;
      }
      r.body.append(buf_, 0, size);
      buf_.erase(0, size + 2);
    }
  }
  if (r.has_header("content-length")) {
    std::size_t len = std::stoul(r.header("content-length"));
    while (buf_.size() < len) {
      if (!fill()) return std::nullopt;
    }
    r.body = buf_.substr(0, len);
    buf_.erase(0, len);
    return r;
  }
  while (fill()) {
  }
  r.body = std::move(buf_);
  buf_.clear();
  return r;
}

std::optional<std::string> Conn::read_bytes(std::size_t n) {
  while (buf_.size() < n) {
    if (!fill()) return std::nullopt;
  }
  std::string out = buf_.substr(0, n);
  buf_.erase(0, n);
  return out;
}

std::optional<std::string> Conn::read_some() {
  if (buf_.empty() && !fill()) return std::nullopt;
  std::string out = std::move(buf_);
  buf_.clear();
  return out;
}

std::string Conn::read_all() {
  while (fill()) {
  }
  std::string out = std::move(buf_);
  buf_.clear();
  return out;
}

bool Conn::wait_closed(std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    pollfd p{fd_, POLLIN, 0};
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    end - std::chrono::steady_clock::now())
                                    .count());
    if (::poll(&p, 1, std::max(left, 1)) <= 0) continue;
    char tmp[4096];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, MSG_DONTWAIT);
    if (n == 0) return true;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return true;  // reset counts as closed
  }
  return false;
}

std::optional<Response> http_get(int port, const std::string& host, const std::string& path,
                                 const std::string& extra_headers) {
  Conn c(port);
  c.send("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n" + extra_headers + "\r\n");
  return c.read_response();
}

namespace {
long stat_field(int port, const std::string& key) {
  auto r = http_get(port, "stats", "/stats");
  if (!r) return -1;
  std::smatch m;
  if (!std::regex_search(r->body, m, std::regex("\"" + key + "\":([0-9]+)"))) return -1;
  return std::stol(m[1].str());
}
}  // namespace

long Whoami::connections() const { return stat_field(port, "connections"); }
long Whoami::requests() const { return stat_field(port, "requests"); }

bool backend_got(const Whoami& w, long n, long before) {
  long polls = 0;
  return poll_until(
      [&] {
        ++polls;
        return w.requests() >= before + n + polls;  // each /stats call counts itself
      },
      std::chrono::seconds(5));
}

Whoami start_whoami(const TempDir& dir, const std::string& name,
                    const std::vector<std::string>& extra_args) {
  Whoami w;
  std::vector<std::string> argv = {WHOAMI_BIN, "--addr", "127.0.0.1:0", "--name", name};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  w.proc = Process::start(argv, dir.path() / ("whoami-" + name + ".log"));
  auto port = w.proc->wait_for_log("whoami listening on 127\\.0\\.0\\.1:([0-9]+)",
                                   std::chrono::seconds(10));
  if (!port) throw std::runtime_error("whoami did not start: " + w.proc->log());
  w.port = std::stoi(*port);
  return w;
}

Portier start_portier(const TempDir& dir, const std::string& dynamic_yaml,
                      const std::string& entrypoint_extra, const std::string& static_extra,
                      int workers) {
  dir.write("dynamic.yml", dynamic_yaml);
  auto cfg = dir.write("portier.yml",
                       "entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\n" + entrypoint_extra +
                           "providers:\n  file:\n    filename: dynamic.yml\n" + static_extra);
  Portier p;
  p.proc = Process::start({PORTIER_BIN, "--configFile=" + cfg.string(),
                           "--workers=" + std::to_string(workers), "--log.level=debug"},
                          dir.path() / "portier.log");
  auto port = p.proc->wait_for_log(
      "msg=\"entrypoint listening\" entrypoint=web address=127\\.0\\.0\\.1:([0-9]+)",
      std::chrono::seconds(10));
  if (!port || !p.proc->wait_for_log("configuration applied", std::chrono::seconds(10))) {
    throw std::runtime_error("portier did not start: " + p.proc->log());
  }
  p.port = std::stoi(*port);
  return p;
}

Portier start_portier_static(const TempDir& dir, const std::string& static_yaml,
                             const std::string& dynamic_yaml,
                             const std::vector<std::string>& entrypoints, int workers,
                             const std::string& log_level) {
  dir.write("dynamic.yml", dynamic_yaml);
  auto cfg = dir.write("portier.yml", static_yaml);
  Portier p;
  p.proc = Process::start({PORTIER_BIN, "--configFile=" + cfg.string(),
                           "--workers=" + std::to_string(workers), "--log.level=" + log_level},
                          dir.path() / "portier.log");
  for (const auto& ep : entrypoints) {
    auto port = p.proc->wait_for_log(
        "msg=\"entrypoint listening\" entrypoint=" + ep + " address=127\\.0\\.0\\.1:([0-9]+)",
        std::chrono::seconds(10));
    if (!port) throw std::runtime_error("portier did not start: " + p.proc->log());
    p.ports[ep] = std::stoi(*port);
  }
  if (!p.proc->wait_for_log("configuration applied", std::chrono::seconds(10))) {
    throw std::runtime_error("portier did not apply its configuration: " + p.proc->log());
  }
  if (p.ports.count("web")) p.port = p.ports["web"];
  return p;
}

std::string route_to(const std::string& url, const std::string& host) {
  std::string rule = host.empty() ? "PathPrefix(`/`)" : "Host(`" + host + "`)";
  return "http:\n  routers:\n    r:\n      rule: \"" + rule +
         "\"\n      service: s\n  services:\n    s:\n      loadBalancer:\n        servers:\n"
         "          - url: \"" +
         url + "\"\n";
}


int listen_loopback(int backlog, int& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(fd, backlog) != 0) {
    throw std::runtime_error("listen_loopback failed");
  }
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return fd;
}

std::vector<std::string> read_checks(std::istream& in) {
  std::vector<std::string> checks;
  for (std::string w; in >> w;) {
    if (w.rfind("body~", 0) == 0) {
      std::string rest;
      std::getline(in, rest);
      checks.push_back(w + rest);
      break;
    }
    checks.push_back(w);
  }
  return checks;
}

void expect_checks(const Response& r, const std::vector<std::string>& checks) {
  for (const auto& c : checks) {
    const std::size_t op = c.find_first_of("=~");
    ASSERT_NE(op, std::string::npos) << "not a check: " << c;
    const std::string name = c.substr(0, op), want = c.substr(op + 1);
    const std::string got = name == "body" ? r.body : r.header(name);
    if (c[op] == '~') {
      EXPECT_NE(got.find(want), std::string::npos) << name << ": " << got;
    } else {
      EXPECT_EQ(got, want) << name;
    }
  }
}

}  // namespace portier::test
