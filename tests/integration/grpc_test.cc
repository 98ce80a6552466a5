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
    front_ = make_leaf(*dir_, ca_, "front", {"grpc.test", "tls-backend.test", "grpc-web.test"});
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
        "    web-to-h2c:\n      rule: \"Host(`grpc-web.test`)\"\n      service: h2c\n"
        "      middlewares: [web]\n"
        "  middlewares:\n"
        "    web:\n      grpcWeb:\n        allowOrigins: [\"https://app.test\"]\n"
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

// --- grpcWeb: a gRPC-Web client (curl sending what grpc-web's JavaScript sends) -> portier ->
// the same h2c gRPC server.

std::string frame(std::string_view message, char flags = 0) {
  const auto n = static_cast<std::uint32_t>(message.size());
  std::string f{flags, static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                static_cast<char>(n >> 8), static_cast<char>(n)};
  return f.append(message);
}

struct WebFrames {
  std::vector<std::string> messages;
  std::string trailers;  // the 0x80 frame's text
  int trailer_frames = 0;
  bool well_formed = true;
};

WebFrames split_frames(std::string_view body) {
  WebFrames w;
  while (!body.empty()) {
    if (body.size() < 5) {
      w.well_formed = false;
      break;
    }
    const auto* u = reinterpret_cast<const unsigned char*>(body.data());
    const std::size_t n = (std::size_t{u[1]} << 24) | (std::size_t{u[2]} << 16) |
                          (std::size_t{u[3]} << 8) | u[4];
    if (body.size() < 5 + n) {
      w.well_formed = false;
      break;
    }
    const std::string_view payload = body.substr(5, n);
    if (u[0] & 0x80) {
      w.trailers.append(payload);
      ++w.trailer_frames;
    } else {
      if (w.trailer_frames > 0) w.well_formed = false;  // nothing may follow the trailers
      w.messages.emplace_back(payload);
    }
    body.remove_prefix(5 + n);
  }
  return w;
}

// base64 that may be several padded pieces in a row (-text responses are padded at each flush).
std::string unbase64_pieces(std::string_view text) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i + 4 <= text.size(); i += 4) {
    std::uint32_t v = 0;
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = text[i + k];
      v <<= 6;
      if (c == '=') {
        ++pad;
      } else {
        const auto at = kAlphabet.find(c);
        if (at == std::string::npos) return "<not base64>";
        v |= static_cast<std::uint32_t>(at);
      }
    }
    out.push_back(static_cast<char>(v >> 16));
    if (pad < 2) out.push_back(static_cast<char>(v >> 8));
    if (pad < 1) out.push_back(static_cast<char>(v));
  }
  if (text.size() % 4 != 0) return "<not base64>";
  return out;
}

std::string base64(std::string_view in) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    std::uint32_t v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) v |= static_cast<unsigned char>(in[i + 2]);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back(i + 2 < in.size() ? kAlphabet[v & 63] : '=');
  }
  return out;
}

struct CurlAnswer {
  int status = 0;
  std::string head;  // the response head as curl printed it (lower-case check with has())
  std::string body;
  std::string log;
  bool has(std::string_view field_line) const {
    std::string h = head, f(field_line);
    for (auto* s : {&h, &f}) {
      for (char& c : *s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return h.find(f) != std::string::npos;
  }
};

class GrpcWebTest : public GrpcTest {
 protected:
  // A request through portier by curl; `extra`: more curl arguments (-H ..., --http2).
  CurlAnswer curl(const std::string& method, const std::string& path, const std::string& body,
                  std::vector<std::string> extra, bool tls = false) {
    static int n = 0;
    const std::string id = std::to_string(n++);
    const auto head_file = dir_->path() / ("web-head-" + id);
    const auto body_file = dir_->path() / ("web-body-" + id);
    std::vector<std::string> argv = {"/usr/bin/curl", "-sS", "-X", method, "-D",
                                     head_file.string(), "-o", body_file.string()};
    if (!body.empty()) {
      argv.push_back("--data-binary");
      argv.push_back("@" + dir_->write("web-req-" + id, body).string());
    }
    for (auto& e : extra) argv.push_back(std::move(e));
    if (tls) {
      argv.insert(argv.end(), {"--cacert", ca_.cert.string(), "--resolve",
                               "grpc-web.test:" + std::to_string(portier_->ports.at("websecure")) +
                                   ":127.0.0.1",
                               "https://grpc-web.test:" +
                                   std::to_string(portier_->ports.at("websecure")) + path});
    } else {
      argv.insert(argv.end(), {"-H", "Host: grpc-web.test", "http://" + plain_target() + path});
    }
    auto p = Process::start(argv, dir_->path() / ("web-curl-" + id + ".log"));
    CurlAnswer a;
    const auto code = p->wait_exit(30s);
    a.log = p->log();
    EXPECT_TRUE(code && *code == 0) << a.log;
    std::ifstream h(head_file, std::ios::binary), b(body_file, std::ios::binary);
    a.head.assign(std::istreambuf_iterator<char>(h), {});
    a.body.assign(std::istreambuf_iterator<char>(b), {});
    if (a.head.size() > 12) a.status = std::atoi(a.head.c_str() + a.head.find(' ') + 1);
    return a;
  }
};

TEST_F(GrpcWebTest, BinaryUnaryCallGetsItsTrailersAsTheLastFrame) {
  const CurlAnswer a = curl("POST", "/echo.Echo/Unary", frame("hello"),
                            {"--http1.1", "-H", "Content-Type: application/grpc-web+proto", "-H",
                             "X-Grpc-Web: 1", "-H", "Origin: https://app.test"});
  ASSERT_EQ(a.status, 200) << a.head << a.log;
  EXPECT_TRUE(a.has("content-type: application/grpc-web")) << a.head;
  EXPECT_FALSE(a.has("content-type: application/grpc\r")) << a.head;
  EXPECT_TRUE(a.has("access-control-allow-origin: https://app.test\r\n")) << a.head;
  EXPECT_TRUE(a.has("access-control-allow-credentials: true")) << a.head;
  EXPECT_TRUE(a.has("vary: origin")) << a.head;
  EXPECT_TRUE(a.has("grpc-status, grpc-message")) << a.head;  // Access-Control-Expose-Headers
  EXPECT_FALSE(a.has("\r\ntrailer:")) << a.head;
  const WebFrames w = split_frames(a.body);
  EXPECT_TRUE(w.well_formed);
  EXPECT_EQ(w.messages, std::vector<std::string>{"echo:hello"});
  EXPECT_EQ(w.trailer_frames, 1);
  EXPECT_NE(w.trailers.find("grpc-status: 0\r\n"), std::string::npos) << w.trailers;
  EXPECT_NE(w.trailers.find("x-trailer: unary-done\r\n"), std::string::npos) << w.trailers;
}

TEST_F(GrpcWebTest, TextServerStreamIsBase64BothWays) {
  const CurlAnswer a = curl("POST", "/echo.Echo/ServerStream", base64(frame("s")),
                            {"--http1.1", "-H", "Content-Type: application/grpc-web-text",
                             "-H", "Accept: application/grpc-web-text"});
  ASSERT_EQ(a.status, 200) << a.head << a.log;
  EXPECT_TRUE(a.has("content-type: application/grpc-web-text")) << a.head;
  EXPECT_FALSE(a.has("access-control-allow-origin")) << a.head;  // no Origin sent
  EXPECT_EQ(a.body.find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="),
            std::string::npos)
      << a.body;
  const WebFrames w = split_frames(unbase64_pieces(a.body));
  EXPECT_TRUE(w.well_formed) << a.body;
  EXPECT_EQ(w.messages, (std::vector<std::string>{"s-0", "s-1", "s-2", "s-3", "s-4"}));
  EXPECT_NE(w.trailers.find("grpc-status: 0\r\n"), std::string::npos) << w.trailers;
  EXPECT_NE(w.trailers.find("x-trailer: stream-done\r\n"), std::string::npos) << w.trailers;
}

TEST_F(GrpcWebTest, AnErrorStatusReachesTheClient) {
  const CurlAnswer a = curl("POST", "/echo.Echo/Fail", frame("x"),
                            {"--http1.1", "-H", "Content-Type: application/grpc-web+proto"});
  ASSERT_EQ(a.status, 200) << a.head << a.log;
  // A trailers-only answer carries the status in the head; else it is in the trailer frame.
  const WebFrames w = split_frames(a.body);
  EXPECT_TRUE(w.well_formed);
  EXPECT_TRUE(w.messages.empty());
  const std::string where = a.head + w.trailers;
  std::string lower = where;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_NE(lower.find("grpc-status: 5\r\n"), std::string::npos) << where;
  EXPECT_NE(where.find("no such thing: x"), std::string::npos) << where;
}

TEST_F(GrpcWebTest, OverHttp2FromTheClientToo) {
  const CurlAnswer a =
      curl("POST", "/echo.Echo/Unary", frame("h2"),
           {"--http2", "-H", "Content-Type: application/grpc-web+proto", "-H",
            "Origin: https://app.test"},
           true);
  ASSERT_EQ(a.status, 200) << a.head << a.log;
  EXPECT_EQ(a.head.rfind("HTTP/2 200", 0), 0u) << a.head;
  EXPECT_TRUE(a.has("access-control-allow-origin: https://app.test")) << a.head;
  const WebFrames w = split_frames(a.body);
  EXPECT_TRUE(w.well_formed);
  EXPECT_EQ(w.messages, std::vector<std::string>{"echo:h2"});
  EXPECT_NE(w.trailers.find("grpc-status: 0\r\n"), std::string::npos) << w.trailers;
}

TEST_F(GrpcWebTest, PreflightsAreAnsweredForAllowedOriginsOnly) {
  const CurlAnswer ok = curl("OPTIONS", "/echo.Echo/Unary", "",
                             {"--http1.1", "-H", "Origin: https://app.test", "-H",
                              "Access-Control-Request-Method: POST", "-H",
                              "Access-Control-Request-Headers: x-grpc-web,content-type,x-user-agent"});
  EXPECT_EQ(ok.status, 200) << ok.head;
  EXPECT_TRUE(ok.has("access-control-allow-origin: https://app.test\r\n")) << ok.head;
  EXPECT_TRUE(ok.has("access-control-allow-methods: POST\r\n")) << ok.head;
  EXPECT_TRUE(ok.has("access-control-allow-headers: X-Grpc-Web, Content-Type, X-User-Agent\r\n"))
      << ok.head;
  EXPECT_TRUE(ok.has("access-control-allow-credentials: true")) << ok.head;
  EXPECT_TRUE(ok.has("access-control-max-age: 600")) << ok.head;
  EXPECT_TRUE(ok.body.empty()) << ok.body;

  const CurlAnswer other = curl("OPTIONS", "/echo.Echo/Unary", "",
                                {"--http1.1", "-H", "Origin: https://evil.test", "-H",
                                 "Access-Control-Request-Method: POST", "-H",
                                 "Access-Control-Request-Headers: x-grpc-web"});
  EXPECT_EQ(other.status, 200) << other.head;
  EXPECT_FALSE(other.has("access-control-allow-origin")) << other.head;
  EXPECT_TRUE(other.has("vary: origin")) << other.head;

  // A call from an origin not allowed still goes through (browsers enforce CORS), without the
  // fields that would let a browser read it.
  const CurlAnswer call = curl("POST", "/echo.Echo/Unary", frame("x"),
                               {"--http1.1", "-H", "Content-Type: application/grpc-web",
                                "-H", "Origin: https://evil.test"});
  EXPECT_EQ(call.status, 200) << call.head;
  EXPECT_FALSE(call.has("access-control-allow-origin")) << call.head;
  EXPECT_EQ(split_frames(call.body).messages, std::vector<std::string>{"echo:x"});
}

TEST_F(GrpcWebTest, BadBase64IsRefusedAndPlainGrpcStillWorksOnTheSameRouter) {
  const CurlAnswer bad = curl("POST", "/echo.Echo/Unary", "not base64!",
                              {"--http1.1", "-H", "Content-Type: application/grpc-web-text"});
  EXPECT_EQ(bad.status, 400) << bad.head;
  // gRPC (not -Web) clients pass untouched through the middleware.
  std::string why;
  const json r = grpc_call(*dir_, tls_target(), "grpc-web.test", &ca_, why);
  ASSERT_FALSE(r.is_null()) << why;
  expect_all_calls_work(r);
}

}  // namespace
}  // namespace portier::test
