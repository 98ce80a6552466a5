// Raw HTTP/1.1 over loopback TCP for tests: send exact bytes, read responses with a small reader
// written independently of portier's parser (so the two cannot agree on the same mistake).
#pragma once

#include <chrono>
#include <istream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/process.h"

namespace portier::test {

struct Response {
  int status = 0;
  std::string status_line;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // First header with that name (case-insensitive), or "".
  std::string header(std::string_view name) const;
  bool has_header(std::string_view name) const;
};

// Client-side TLS settings for Conn::start_tls.
struct TlsClientOptions {
  std::string sni;      // server name sent; empty: none
  std::string ca_file;  // verify the chain and the name against this; empty: no verification
  int max_version = 0;  // e.g. TLS1_2_VERSION; 0: any
  int min_version = 0;  // 0: OpenSSL's default
  int security_level = -1;  // -1: OpenSSL's default (TLS 1.0 and 1.1 need 0)
  std::string ciphersuites;  // TLS 1.3 suites offered, in order; empty: OpenSSL's default
  std::string cipher_list;   // TLS 1.2 ciphers offered, in order; empty: OpenSSL's default
  std::vector<std::string> alpn = {"http/1.1"};
  void* session = nullptr;  // SSL_SESSION* to resume (from Conn::tls_session())
  // A client certificate for mutual TLS: a PEM chain (leaf first) and its key; empty: none.
  std::string cert_file;
  std::string key_file;
};

// What the handshake showed.
struct TlsInfo {
  bool ok = false;
  std::string error;
  std::string subject_cn;
  std::string issuer_cn;
  std::string serial;  // hex
  std::string alpn;
  std::string version;  // "TLSv1.3"
  std::string cipher;   // OpenSSL's name: "TLS_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"
  bool resumed = false;
  bool verified = false;  // chain and name verified against ca_file
};

class Conn {
 public:
  // `source_ip`: a loopback address to connect from (127.0.0.x), to look like many clients.
  explicit Conn(int port, std::chrono::milliseconds timeout = std::chrono::seconds(10),
                const std::string& source_ip = "");
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  bool send(std::string_view bytes);
  void shutdown_write();
  // One response; `no_body` for answers to HEAD. nullopt on timeout, close or garbage.
  std::optional<Response> read_response(bool no_body = false);
  // Everything until the peer closes (or the timeout).
  std::string read_all();
  // Exactly n bytes (through TLS when started); nullopt on close or timeout first.
  std::optional<std::string> read_bytes(std::size_t n);
  // Whatever is buffered, else what one read brings (waiting up to the timeout); nullopt on
  // close or timeout.
  std::optional<std::string> read_some();
  // True when the peer closes the connection within `timeout` (reading and dropping bytes).
  bool wait_closed(std::chrono::milliseconds timeout);
  int fd() const { return fd_; }
  // TLS from here on (blocking OpenSSL, same timeouts). Send and read go through it.
  TlsInfo start_tls(const TlsClientOptions& o);
  // The session to resume on a later connection (owned by the caller: SSL_SESSION_free).
  void* tls_session() const;
  // Sends close_notify and waits for the peer's: true when it arrives (a clean TLS close).
  bool tls_close();
  // Reads (and drops) until the peer ends the TLS session: true when it sent close_notify,
  // false when the connection just closed, failed or the timeout passed first.
  bool wait_close_notify();

 private:
  bool fill();  // reads more into buf_; false on EOF, error or timeout
  int fd_ = -1;
  void* ssl_ = nullptr;  // SSL*
  void* ctx_ = nullptr;  // SSL_CTX*
  std::string buf_;
};

// One HTTP/1.1 request on a fresh connection: "GET <path>" with Host and extra header lines.
std::optional<Response> http_get(int port, const std::string& host, const std::string& path,
                                 const std::string& extra_headers = "");

// A whoami backend on an ephemeral port.
struct Whoami {
  std::unique_ptr<Process> proc;
  int port = 0;
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
  // The backend's counters from /stats, read directly (not through the proxy).
  long connections() const;
  long requests() const;
};
// Polls (5 s at most) until `w` has received `n` requests beyond `before` (its count of
// requests before they were sent), not counting the /stats calls the polling makes itself.
bool backend_got(const Whoami& w, long n, long before = 0);

// `extra_args`: more whoami flags, e.g. {"--delay", "100"} for a slow backend.
Whoami start_whoami(const TempDir& dir, const std::string& name,
                    const std::vector<std::string>& extra_args = {});

// A portier process with entrypoint `web` on an ephemeral port and the given dynamic config.
struct Portier {
  std::unique_ptr<Process> proc;
  int port = 0;                      // entrypoint `web`
  std::map<std::string, int> ports;  // every entrypoint waited for, by name
};
// `entrypoint_extra`: YAML lines indented for the web entrypoint (e.g. "    forwardedHeaders:
// ...\n"); `static_extra`: top-level YAML appended to the static file.
Portier start_portier(const TempDir& dir, const std::string& dynamic_yaml,
                      const std::string& entrypoint_extra = "",
                      const std::string& static_extra = "", int workers = 2);

// A portier process from a whole static file (which should read dynamic.yml with the file
// provider); waits for each of `entrypoints` to listen (give them address 127.0.0.1:0).
// Logs at `log_level` (debug unless a test measures what production runs).
Portier start_portier_static(const TempDir& dir, const std::string& static_yaml,
                             const std::string& dynamic_yaml,
                             const std::vector<std::string>& entrypoints, int workers = 2,
                             const std::string& log_level = "debug");

// A whoami and a portier in front of it, for suites that share one set of processes
// (SetUpTestSuite creates it, TearDownTestSuite destroys it).
struct ProxyEnv {
  TempDir dir;
  Whoami whoami;
  Portier portier;
  // `make_dynamic` receives the whoami URL and returns the dynamic configuration.
  template <typename MakeDynamic>
  static std::unique_ptr<ProxyEnv> start(const std::string& name, MakeDynamic make_dynamic,
                                         int workers = 1) {
    auto env = std::make_unique<ProxyEnv>();
    env->whoami = start_whoami(env->dir, name);
    env->portier = start_portier(env->dir, make_dynamic(env->whoami.url()), "", "", workers);
    return env;
  }
};

// The answer checks of the configuration corpora (tests/corpus*/README.md): the rest of a
// request line after its status, as `name=value` (a response field equals), `name~text` (it
// contains) and a last `body~text` that takes the rest of the line.
std::vector<std::string> read_checks(std::istream& line);
// Records a gtest failure for each check `r` does not pass.
void expect_checks(const Response& r, const std::vector<std::string>& checks);

// A listening TCP socket on 127.0.0.1 and an ephemeral port (written to `port`); the caller
// accepts on it and closes it. For backends written inside a test.
int listen_loopback(int backlog, int& port);

// Dynamic config routing Host(`host`) (or everything, when host is empty) to `url`.
std::string route_to(const std::string& url, const std::string& host = "");

}  // namespace portier::test
