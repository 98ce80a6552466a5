// gRPC end to end through a real portier: a real gRPC server and client (Debian's python3-grpcio,
// tests/support/grpc_echo.py), every call kind (unary, streaming either way and both ways at
// once, errors carried in trailers, messages larger than the flow-control windows).
//   - client over TLS (ALPN h2) -> portier -> server by h2c:// (HTTP/2 with prior knowledge)
//   - client by h2c -> portier -> server over TLS that picks h2 by ALPN (https://)
//   - an HTTP/1.1 client gets the server's trailers in its chunked body
//   - a server that goes away and comes back: the dead connection is replaced
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "support/certs.h"
#include "support/net.h"
#include "support/process.h"

namespace portier::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

const std::string kScript = std::string(PORTIER_SOURCE_DIR) + "/tests/support/grpc_echo.py";

std::unique_ptr<Process> start_grpc_server(const TempDir& dir, const std::string& name, int port,
                                           const CertFiles* tls = nullptr) {
  std::vector<std::string> argv = {"/usr/bin/python3", "-u", kScript, "serve",
                                   std::to_string(port)};
  if (tls != nullptr) {
    argv.push_back(tls->cert.string());
    argv.push_back(tls->key.string());
  }
  auto p = Process::start(argv, dir.path() / (name + ".log"));
  if (!p->wait_for_log("(listening on) ", 15s)) {
    ADD_FAILURE() << "gRPC server did not start: " << p->log();
  }
  return p;
}

// Runs the client against `target`; the JSON it printed, or null with the reason in `why`.
json grpc_call(const TempDir& dir, const std::string& target, const std::string& authority,
               const CertFiles* ca, std::string& why) {
  static int n = 0;
  std::vector<std::string> argv = {"/usr/bin/python3", "-u", kScript, "call", target, authority};
  if (ca != nullptr) argv.push_back(ca->cert.string());
  auto p = Process::start(argv, dir.path() / ("client-" + std::to_string(n++) + ".log"));
  const auto code = p->wait_exit(60s);
  const std::string out = p->log();
  why = out;
  if (!code || *code != 0) return nullptr;
  const std::size_t at = out.rfind("\n{");
  try {
    return json::parse(out.substr(at == std::string::npos ? 0 : at + 1));
  } catch (const std::exception& e) {
    why = std::string(e.what()) + ": " + out;
    return nullptr;
  }
}

void expect_all_calls_work(const json& r) {
  EXPECT_EQ(r["unary"], "echo:hello");
  EXPECT_EQ(r["unary_code"], "OK");
  EXPECT_EQ(r["unary_trailer"], "unary-done");  // trailing metadata: HEADERS after the DATA
  EXPECT_EQ(r["server_stream"], json({"s-0", "s-1", "s-2", "s-3", "s-4"}));
  EXPECT_EQ(r["server_stream_trailer"], "stream-done");
  EXPECT_EQ(r["client_stream"], "a+b+c");
  EXPECT_EQ(r["bidi"], json({"bidi:0", "bidi:1", "bidi:2", "bidi:3"}));
  EXPECT_EQ(r["fail"], "NOT_FOUND: no such thing: x");  // grpc-status and grpc-message
  EXPECT_EQ(r["big"], 3 * 1024 * 1024 + 5);
}

class GrpcTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ::signal(SIGPIPE, SIG_IGN);
    dir_ = new TempDir();
    ca_ = make_ca(*dir_, "ca", "grpc test CA");
    front_ = make_leaf(*dir_, ca_, "front", {"grpc.test", "tls-backend.test"});
    back_ = make_leaf(*dir_, ca_, "back", {"127.0.0.1"});
    h2c_port_ = free_port();
    tls_port_ = free_port();
    h2c_server_ = start_grpc_server(*dir_, "h2c-server", h2c_port_).release();
    tls_server_ = start_grpc_server(*dir_, "tls-server", tls_port_, &back_).release();
    const std::string dyn =
        "http:\n  routers:\n"
        "    to-h2c:\n      rule: \"Host(`grpc.test`)\"\n      service: h2c\n"
        "    to-tls:\n      rule: \"Host(`tls-backend.test`)\"\n      service: tls\n"
        "    to-h1-only:\n      rule: \"Host(`h1-only.test`)\"\n      service: h1only\n"
        "  services:\n"
        "    h2c:\n      loadBalancer:\n        servers:\n"
        "          - url: \"h2c://127.0.0.1:" + std::to_string(h2c_port_) + "\"\n"
        "    tls:\n      loadBalancer:\n        serversTransport: backend-ca\n        servers:\n"
        "          - url: \"https://127.0.0.1:" + std::to_string(tls_port_) + "\"\n"
        "    h1only:\n      loadBalancer:\n        serversTransport: no-h2\n        servers:\n"
        "          - url: \"https://127.0.0.1:" + std::to_string(tls_port_) + "\"\n"
        "  serversTransports:\n"
        "    backend-ca:\n      rootCAs: [\"" + ca_.cert.string() + "\"]\n"
        "    no-h2:\n      rootCAs: [\"" + ca_.cert.string() + "\"]\n      disableHTTP2: true\n"
        "tls:\n  certificates:\n    - certFile: " + front_.cert.string() +
        "\n      keyFile: " + front_.key.string() + "\n";
    const std::string static_yaml =
        "entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\n"
        "  websecure:\n    address: \"127.0.0.1:0\"\n    http:\n      tls: {}\n"
        "providers:\n  file:\n    filename: dynamic.yml\n";
    portier_ = new Portier(start_portier_static(*dir_, static_yaml, dyn, {"web", "websecure"}));
  }
  static void TearDownTestSuite() {
    delete portier_;
    delete h2c_server_;
    delete tls_server_;
    delete dir_;
  }
  static std::string tls_target() {
    return "127.0.0.1:" + std::to_string(portier_->ports.at("websecure"));
  }
  static std::string plain_target() { return "127.0.0.1:" + std::to_string(portier_->port); }

  static inline TempDir* dir_ = nullptr;
  static inline CertFiles ca_, front_, back_;
  static inline int h2c_port_ = 0, tls_port_ = 0;
  static inline Process* h2c_server_ = nullptr;
  static inline Process* tls_server_ = nullptr;
  static inline Portier* portier_ = nullptr;
};

TEST_F(GrpcTest, EveryCallKindOverTlsToAnH2cServer) {
  std::string why;
  const json r = grpc_call(*dir_, tls_target(), "grpc.test", &ca_, why);
  ASSERT_FALSE(r.is_null()) << why << "\nportier: " << portier_->proc->log();
  expect_all_calls_work(r);
  // The server saw the forwarded fields portier adds, and TE: trailers.
  EXPECT_EQ(r["meta"].value("x-forwarded-proto", ""), "https") << r["meta"];
  EXPECT_EQ(r["meta"].value("x-real-ip", ""), "127.0.0.1") << r["meta"];
  EXPECT_EQ(r["meta"].value("x-forwarded-host", ""), "grpc.test") << r["meta"];
}

TEST_F(GrpcTest, EveryCallKindByH2cToATlsServerThatChoseH2ByAlpn) {
  std::string why;
  const json r = grpc_call(*dir_, plain_target(), "tls-backend.test", nullptr, why);
  ASSERT_FALSE(r.is_null()) << why << "\nportier: " << portier_->proc->log();
  expect_all_calls_work(r);
  EXPECT_EQ(r["meta"].value("x-forwarded-proto", ""), "http") << r["meta"];
}

TEST_F(GrpcTest, DisableHttp2OffersOnlyHttp11AndAGrpcServerRefusesThat) {
  // With disableHTTP2 portier offers no ALPN and speaks HTTP/1.1, which a gRPC server does not
  // answer: the client gets UNAVAILABLE (portier's 502), where the same server works above.
  std::string why;
  const json r = grpc_call(*dir_, plain_target(), "h1-only.test", nullptr, why);
  EXPECT_TRUE(r.is_null()) << r;
  EXPECT_NE(why.find("StatusCode.UNAVAILABLE"), std::string::npos) << why;
  EXPECT_NE(portier_->proc->log().find("server failed; out of this worker's rotation\""
                                       " service=h1only@file"),
            std::string::npos)
      << portier_->proc->log();
}

TEST_F(GrpcTest, AnHttp11ClientGetsTheTrailersInItsChunkedBody) {
  // A gRPC message by hand: not compressed, 5 bytes long, "hello".
  const std::string body = std::string("\0\0\0\0\5", 5) + "hello";
  const auto file = dir_->write("grpc-body", body);
  const auto log = dir_->path() / "curl-h1.log";
  auto p = Process::start(
      {"/usr/bin/curl", "-sS", "-i", "--raw", "--http1.1", "-H", "Host: grpc.test", "-H",
       "Content-Type: application/grpc", "-H", "TE: trailers", "--data-binary",
       "@" + file.string(), "http://" + plain_target() + "/echo.Echo/Unary"},
      log);
  ASSERT_TRUE(p->wait_exit(30s));
  const std::string out = p->log();
  EXPECT_EQ(out.rfind("HTTP/1.1 200", 0), 0u) << out;
  EXPECT_NE(out.find("Transfer-Encoding: chunked"), std::string::npos) << out;
  EXPECT_NE(out.find("echo:hello"), std::string::npos) << out;
  // The last chunk, then the trailer section with the gRPC status.
  const std::size_t last = out.find("\r\n0\r\n");
  ASSERT_NE(last, std::string::npos) << out;
  EXPECT_NE(out.find("grpc-status: 0\r\n", last), std::string::npos) << out;
  EXPECT_NE(out.find("x-trailer: unary-done\r\n", last), std::string::npos) << out;
}

TEST_F(GrpcTest, AServerThatRestartsGetsANewConnection) {
  std::string why;
  ASSERT_FALSE(grpc_call(*dir_, tls_target(), "grpc.test", &ca_, why).is_null()) << why;
  // The server goes away: its connection in portier's pool dies; calls fail meanwhile.
  delete h2c_server_;
  h2c_server_ = nullptr;
  EXPECT_TRUE(grpc_call(*dir_, tls_target(), "grpc.test", &ca_, why).is_null());
  EXPECT_NE(why.find("StatusCode.UNAVAILABLE"), std::string::npos) << why;
  // Back on the same port: the next calls open a new connection and work.
  h2c_server_ = start_grpc_server(*dir_, "h2c-server-2", h2c_port_).release();
  bool ok = false;
  for (int i = 0; i < 3 && !ok; ++i) {
    ok = !grpc_call(*dir_, tls_target(), "grpc.test", &ca_, why).is_null();
  }
  EXPECT_TRUE(ok) << why;
}

}  // namespace
}  // namespace portier::test
