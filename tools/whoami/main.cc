// whoami: the HTTP/1.1 test backend of portier's integration tests, examples and benchmarks.
//
// Each of --threads worker threads runs its own io_context and its own acceptor on the same port
// (SO_REUSEPORT when there is more than one), so connections stay on the thread that accepted
// them. Addresses are IP literals only (no resolver): the binary is linked statically and
// getaddrinfo would need glibc's shared NSS modules at run time.
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "server.h"

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

constexpr std::string_view kUsage =
    "usage: whoami [--addr HOST:PORT] [--name NAME] [--threads N] [--delay MS] [--drain MS]\n"
    "              [--tls-cert PEM --tls-key PEM [--client-ca PEM]]\n"
    "\n"
    "  --addr HOST:PORT  address to listen on (default 127.0.0.1:8080; port 0 picks a free\n"
    "                    port; HOST is an IPv4 or [IPv6] literal, or localhost)\n"
    "  --name NAME       name shown in responses (default $WHOAMI_NAME, else the hostname)\n"
    "  --threads N       worker threads, each with its own acceptor (default 1)\n"
    "  --delay MS        wait MS milliseconds before answering / (default 0: a slow backend)\n"
    "  --drain MS        on SIGTERM, stop accepting, then answer for MS milliseconds more, each\n"
    "                    answer with Connection: close, and exit (default 0: exit at once)\n"
    "  --tls-cert PEM    serve HTTPS with this certificate (chain) file ...\n"
    "  --tls-key PEM     ... and this key file; answers then carry X-Whoami-Tls-Sni,\n"
    "                    X-Whoami-Tls-Resumed and X-Whoami-Client-Cert (subject or none)\n"
    "  --client-ca PEM   require a client certificate signed by this CA\n"
    "  --help            show this help\n"
    "\n"
    "Prints \"whoami listening on HOST:PORT\" once bound. Endpoints: / (request dump), /health,\n"
    "/data?size=N[&chunked=1|&close=1], /slow?ms=N, /echo, /ws, /reset, /stats,\n"
    "/auth (a stand-in auth server), /last-auth, /status?code=N[&cookie=NAME].\n";

struct Options {
  std::string addr = "127.0.0.1:8080";
  std::string name;
  int threads = 1;
  std::uint64_t delay_ms = 0;
  std::uint64_t drain_ms = 0;
  std::string tls_cert, tls_key, client_ca;
};

std::optional<tcp::endpoint> parse_endpoint(std::string_view addr) {
  std::size_t colon = addr.rfind(':');
  if (colon == std::string_view::npos) {
    return std::nullopt;
  }
  std::string host(addr.substr(0, colon));
  std::string_view port_text = addr.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) {
    host = "0.0.0.0";
  } else if (host == "localhost") {
    host = "127.0.0.1";
  }
  if (port_text.empty() || port_text.size() > 5 ||
      port_text.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  unsigned long port = std::stoul(std::string(port_text));
  boost::system::error_code ec;
  asio::ip::address ip = asio::ip::make_address(host, ec);
  if (ec || port > 65535) {
    return std::nullopt;
  }
  return tcp::endpoint(ip, static_cast<unsigned short>(port));
}

// Returns an exit code when the program should stop (0 for --help), nullopt to go on.
std::optional<int> parse_args(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    }
    std::string_view value;
    std::size_t eq = arg.find('=');
    if (arg.starts_with("--") && eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else if (arg == "--addr" || arg == "--name" || arg == "--threads" || arg == "--delay" ||
               arg == "--drain" || arg == "--tls-cert" || arg == "--tls-key" ||
               arg == "--client-ca") {
      if (i + 1 >= argc) {
        std::cerr << "whoami: " << arg << " needs a value\n" << kUsage;
        return 2;
      }
      value = argv[++i];
    }
    if (arg == "--addr") {
      options.addr = value;
    } else if (arg == "--name") {
      options.name = value;
    } else if (arg == "--tls-cert") {
      options.tls_cert = value;
    } else if (arg == "--tls-key") {
      options.tls_key = value;
    } else if (arg == "--client-ca") {
      options.client_ca = value;
    } else if (arg == "--threads") {
      if (value.empty() || value.size() > 3 ||
          value.find_first_not_of("0123456789") != std::string_view::npos ||
          std::stoi(std::string(value)) < 1 || std::stoi(std::string(value)) > 256) {
        std::cerr << "whoami: --threads must be a number from 1 to 256\n";
        return 2;
      }
      options.threads = std::stoi(std::string(value));
    } else if (arg == "--delay" || arg == "--drain") {
      if (value.empty() || value.size() > 6 ||
          value.find_first_not_of("0123456789") != std::string_view::npos) {
        std::cerr << "whoami: " << arg << " must be a number of milliseconds up to 999999\n";
        return 2;
      }
      (arg == "--delay" ? options.delay_ms : options.drain_ms) = std::stoull(std::string(value));
    } else {
      std::cerr << "whoami: unknown argument '" << arg << "'\n" << kUsage;
      return 2;
    }
  }
  return std::nullopt;
}

// The HTTPS context: certificate and key, and with --client-ca a required client certificate.
// A session id context lets clients resume sessions even when their certificate is verified.
std::unique_ptr<asio::ssl::context> make_tls(const Options& o) {
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  if (SSL_CTX_use_certificate_chain_file(native, o.tls_cert.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(native, o.tls_key.c_str(), SSL_FILETYPE_PEM) != 1) {
    std::cerr << "whoami: cannot load --tls-cert/--tls-key\n";
    return nullptr;
  }
  static const unsigned char kContext[] = "whoami";
  SSL_CTX_set_session_id_context(native, kContext, sizeof kContext - 1);
  if (!o.client_ca.empty()) {
    if (SSL_CTX_load_verify_locations(native, o.client_ca.c_str(), nullptr) != 1) {
      std::cerr << "whoami: cannot load --client-ca\n";
      return nullptr;
    }
    SSL_CTX_set_client_CA_list(native, SSL_load_client_CA_file(o.client_ca.c_str()));
    SSL_CTX_set_verify(native, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return ctx;
}

tcp::acceptor make_acceptor(asio::io_context& context, const tcp::endpoint& endpoint,
                            bool reuse_port) {
  tcp::acceptor acceptor(context, endpoint.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  if (reuse_port) {
    acceptor.set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true));
  }
  acceptor.bind(endpoint);
  acceptor.listen(asio::socket_base::max_listen_connections);
  return acceptor;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (const char* env = std::getenv("WHOAMI_NAME"); env != nullptr && *env != '\0') {
    options.name = env;
  }
  if (std::optional<int> code = parse_args(argc, argv, options)) {
    return *code;
  }
  std::optional<tcp::endpoint> endpoint = parse_endpoint(options.addr);
  if (!endpoint) {
    std::cerr << "whoami: --addr '" << options.addr << "' is not HOST:PORT with an IP literal\n";
    return 2;
  }

  whoami::Shared shared;
  char hostname[256] = {};
  if (gethostname(hostname, sizeof hostname - 1) != 0) {
    hostname[0] = '\0';
  }
  shared.hostname = hostname;
  shared.name = options.name.empty() ? shared.hostname : options.name;
  shared.delay_ms = options.delay_ms;
  if (options.tls_cert.empty() != options.tls_key.empty() ||
      (!options.client_ca.empty() && options.tls_cert.empty())) {
    std::cerr << "whoami: --tls-cert and --tls-key go together (and --client-ca needs them)\n";
    return 2;
  }
  if (!options.tls_cert.empty()) {
    shared.tls = make_tls(options);
    if (!shared.tls) return 2;
  }
  for (char c : shared.name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      std::cerr << "whoami: --name must not hold control characters\n";
      return 2;
    }
  }
  std::signal(SIGPIPE, SIG_IGN);

  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;  // acceptors[i] runs on contexts[i]
  try {
    bool reuse_port = options.threads > 1;
    for (int i = 0; i < options.threads; ++i) {
      contexts.push_back(std::make_unique<asio::io_context>(1));
      acceptors.push_back(
          std::make_unique<tcp::acceptor>(make_acceptor(*contexts.back(), *endpoint, reuse_port)));
      if (i == 0) {
        // With port 0 the kernel picked one; the other acceptors join that port.
        endpoint = acceptors.back()->local_endpoint();
      }
      asio::co_spawn(*contexts.back(), whoami::accept_loop(*acceptors.back(), shared),
                     asio::detached);
    }
  } catch (const boost::system::system_error& e) {
    std::cerr << "whoami: cannot listen on " << options.addr << ": " << e.code().message() << "\n";
    return 1;
  }

  auto stop_all = [&contexts] {
    for (auto& context : contexts) {
      context->stop();
    }
  };
  asio::signal_set signals(*contexts.front(), SIGINT, SIGTERM);
  asio::steady_timer drain(*contexts.front());
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int) {
        if (ec) {
          return;
        }
        if (options.drain_ms == 0 || shared.draining.exchange(true)) {
          stop_all();  // no drain asked, or a second signal
          return;
        }
        // --drain: no new connection (with SO_REUSEPORT the kernel sends them to the other
        // processes on the port), Connection: close on every answer, then exit.
        for (std::size_t i = 0; i < contexts.size(); ++i) {
          asio::post(*contexts[i], [&acceptor = *acceptors[i]] {
            boost::system::error_code ignored;
            acceptor.close(ignored);
          });
        }
        drain.expires_after(std::chrono::milliseconds(options.drain_ms));
        drain.async_wait([&](const boost::system::error_code&) { stop_all(); });
        signals.async_wait(on_signal);
      };
  signals.async_wait(on_signal);

  std::cout << "whoami listening on " << whoami::endpoint_string(*endpoint) << std::endl;

  std::vector<std::thread> workers;
  for (std::size_t i = 1; i < contexts.size(); ++i) {
    workers.emplace_back([&context = *contexts[i]] { context.run(); });
  }
  contexts.front()->run();
  for (std::thread& worker : workers) {
    worker.join();
  }
  // Skip tearing down the connections still open: the process is ending anyway.
  std::fflush(stdout);
  std::_Exit(0);
}
