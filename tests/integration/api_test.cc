// The admin API over HTTP: Traefik's endpoints, objects with provider, status and errors, and
// never reachable through a proxying entrypoint.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

#include "support/certs.h"
#include "support/net.h"
#include "support/process.h"

namespace portier::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

json get_json(int port, const std::string& path, int want_status = 200) {
  auto r = http_get(port, "127.0.0.1", path);
  EXPECT_TRUE(r) << path;
  if (!r) return {};
  EXPECT_EQ(r->status, want_status) << path << "\n" << r->body;
  return json::parse(r->body, nullptr, false);
}

// portier with api.insecure, its listener on the `traefik` entrypoint at 127.0.0.1:0.
Portier start_with_insecure_api(const TempDir& dir, const std::string& dyn, int workers = 2) {
  return start_portier(dir, dyn, "  traefik:\n    address: \"127.0.0.1:0\"\n",
                       "api:\n  insecure: true\n", workers);
}

// The port that listener bound, or nullopt when it did not log one.
std::optional<int> insecure_api_port(Portier& p) {
  auto port = p.proc->wait_for_log(
      "api listening\" entrypoint=traefik address=127\\.0\\.0\\.1:([0-9]+)", 5s);
  if (!port) return std::nullopt;
  return std::stoi(*port);
}

TEST(Api, ShowsObjectsWithStatusAndErrors) {
  TempDir dir;
  Whoami w = start_whoami(dir, "api");
  std::string dyn =
      "http:\n  routers:\n    good:\n      rule: \"Host(`good.localhost`)\"\n      service: s\n"
      "    broken:\n      rule: \"Host(`bad`\"\n      service: s\n"
      "    orphan:\n      rule: \"Host(`o`)\"\n      service: nowhere\n"
      "  services:\n    s:\n      loadBalancer:\n        servers:\n          - url: \"" +
      w.url() + "\"\n";
  Portier p = start_with_insecure_api(dir, dyn);
  auto api_port = insecure_api_port(p);
  ASSERT_TRUE(api_port) << p.proc->log();
  int port = *api_port;

  auto ping = http_get(port, "x", "/ping");
  ASSERT_TRUE(ping);
  EXPECT_EQ(ping->body, "OK");
  EXPECT_EQ(get_json(port, "/api/version")["Version"], "0.1.0");

  json routers = get_json(port, "/api/http/routers");
  ASSERT_TRUE(routers.is_array());
  ASSERT_EQ(routers.size(), 3u);
  std::map<std::string, json> by_name;
  for (const auto& r : routers) by_name[r["name"]] = r;
  EXPECT_EQ(by_name["good@file"]["status"], "enabled");
  EXPECT_EQ(by_name["good@file"]["provider"], "file");
  EXPECT_EQ(by_name["good@file"]["service"], "s@file");
  EXPECT_EQ(by_name["broken@file"]["status"], "disabled");
  EXPECT_NE(by_name["broken@file"]["error"][0].get<std::string>().find("column"),
            std::string::npos);
  EXPECT_NE(by_name["orphan@file"]["error"][0].get<std::string>().find("nowhere@file"),
            std::string::npos);

  json one = get_json(port, "/api/http/routers/good@file");
  EXPECT_EQ(one["rule"], "Host(`good.localhost`)");
  get_json(port, "/api/http/routers/missing@file", 404);

  json services = get_json(port, "/api/http/services");
  ASSERT_EQ(services.size(), 2u);  // s@file and api@internal, as Traefik lists its own
  std::map<std::string, json> svc;
  for (const auto& s : services) svc[s["name"]] = s;
  EXPECT_EQ(svc["s@file"]["loadBalancer"]["servers"][0]["url"], w.url());
  EXPECT_EQ(svc["api@internal"]["provider"], "internal");
  EXPECT_EQ(get_json(port, "/api/http/services/s@file")["status"], "enabled");

  json overview = get_json(port, "/api/overview");
  EXPECT_EQ(overview["http"]["routers"]["total"], 3);
  EXPECT_EQ(overview["http"]["routers"]["errors"], 2);
  EXPECT_TRUE(get_json(port, "/api/rawdata")["routers"].contains("good@file"));
  json eps = get_json(port, "/api/entrypoints");
  ASSERT_EQ(eps.size(), 1u);
  EXPECT_EQ(eps[0]["name"], "web");
  EXPECT_TRUE(get_json(port, "/api/http/middlewares").is_array());

  // The proxying entrypoint does not serve the API; the good router still works.
  auto through_web = http_get(p.port, "good.localhost", "/api/version");
  ASSERT_TRUE(through_web);
  EXPECT_NE(through_web->body.find("Name: api"), std::string::npos);
  auto not_routed = http_get(p.port, "127.0.0.1", "/api/version");
  ASSERT_TRUE(not_routed);
  EXPECT_EQ(not_routed->status, 404);
}

TEST(Api, ThroughARouterToApiInternal) {
  TempDir dir;
  std::string dyn =
      "http:\n  routers:\n    dashboard:\n      rule: \"Host(`api.localhost`)\"\n"
      "      service: api@internal\n      middlewares: [hdr]\n"
      "  middlewares:\n    hdr:\n      headers:\n        customResponseHeaders: {X-Via: router}\n";
  Portier p = start_portier(dir, dyn, "", "api: {}\n");
  EXPECT_EQ(p.proc->log().find("api listening"), std::string::npos) << "not insecure: no own port";
  auto r = http_get(p.port, "api.localhost", "/api/http/routers/dashboard%40file");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->header("x-via"), "router");
  EXPECT_EQ(r->header("content-type"), "application/json");
  json j = json::parse(r->body, nullptr, false);
  EXPECT_EQ(j["service"], "api@internal");
  EXPECT_EQ(j["status"], "enabled");

  json raw = json::parse(http_get(p.port, "api.localhost", "/api/rawdata")->body, nullptr, false);
  EXPECT_TRUE(raw["routers"].contains("dashboard@file")) << raw.dump();
  EXPECT_EQ(raw["services"]["api@internal"]["status"], "enabled");
  EXPECT_EQ(raw["services"]["api@internal"]["usedBy"][0], "dashboard@file");

  // HEAD: the same head (the middleware's field, the body's length), no body; the connection
  // stays usable for the next request.
  Conn c(p.port);
  ASSERT_TRUE(c.send("HEAD /api/rawdata HTTP/1.1\r\nHost: api.localhost\r\n\r\n"));
  auto head = c.read_response(true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("x-via"), "router");
  EXPECT_FALSE(head->header("content-length").empty());
  EXPECT_NE(head->header("content-length"), "0");
  EXPECT_TRUE(head->body.empty());
  ASSERT_TRUE(c.send("GET /ping HTTP/1.1\r\nHost: api.localhost\r\n\r\n"));
  auto ping = c.read_response();
  ASSERT_TRUE(ping);
  EXPECT_EQ(ping->body, "OK");
  EXPECT_EQ(ping->header("x-via"), "router");

  // A body is not read: answered, then the connection closes. Writes are refused.
  Conn post(p.port);
  ASSERT_TRUE(post.send(
      "POST /api/rawdata HTTP/1.1\r\nHost: api.localhost\r\nContent-Length: 5\r\n\r\nhello"));
  auto refused = post.read_response();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 405);
  EXPECT_EQ(refused->header("allow"), "GET, HEAD");
  EXPECT_EQ(refused->header("connection"), "close");
  EXPECT_TRUE(post.wait_closed(5s));

  auto unknown = http_get(p.port, "api.localhost", "/api/nothing");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  EXPECT_EQ(unknown->header("x-via"), "router");
  auto other = http_get(p.port, "elsewhere.localhost", "/api/version");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404);
}

// Every TCP port the process listens on: the inodes of its sockets (/proc/<pid>/fd) matched
// against the LISTEN entries (state 0A) of /proc/<pid>/net/tcp and tcp6. Each entry is
// "address:port" as the kernel prints it (hex).
std::map<int, std::string> listening_ports(pid_t pid) {
  namespace fs = std::filesystem;
  std::set<std::string> inodes;
  const fs::path proc = "/proc/" + std::to_string(pid);
  for (const auto& fd : fs::directory_iterator(proc / "fd")) {
    std::error_code ec;
    std::string target = fs::read_symlink(fd.path(), ec).string();
    if (!ec && target.rfind("socket:[", 0) == 0) {
      inodes.insert(target.substr(8, target.size() - 9));
    }
  }
  std::map<int, std::string> out;
  for (const char* table : {"net/tcp", "net/tcp6"}) {
    std::ifstream in(proc / table);
    std::string line;
    std::getline(in, line);  // the column names
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string sl, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
      fields >> sl >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
          timeout >> inode;
      if (state != "0A" || !inodes.count(inode)) continue;
      const int port = std::stoi(local.substr(local.find(':') + 1), nullptr, 16);
      out[port] = local;
    }
  }
  return out;
}

// The ports (of `listening`) that answer /api/rawdata with the API's JSON to a Host no router
// matches. Each port must accept a connection on 127.0.0.1, or the probe would prove nothing.
std::set<int> ports_serving_api(const std::map<int, std::string>& listening) {
  std::set<int> out;
  for (const auto& [port, local] : listening) {
    SCOPED_TRACE("port " + std::to_string(port) + " (" + local + ")");
    auto r = http_get(port, "no-router.invalid", "/api/rawdata");
    EXPECT_TRUE(r) << "no HTTP answer on 127.0.0.1";
    if (!r) continue;
    json j = json::parse(r->body, nullptr, false);
    if (r->status == 200 && j.is_object() && j.contains("routers")) out.insert(port);
  }
  return out;
}

TEST(Api, NoPortButTheEntrypointsServesIt) {
  TempDir dir;
  std::string dyn =
      "http:\n  routers:\n    dashboard:\n      rule: \"Host(`api.localhost`)\"\n"
      "      service: api@internal\n      middlewares: [hdr]\n"
      "  middlewares:\n    hdr:\n      headers:\n        customResponseHeaders: {X-Via: router}\n";
  Portier p = start_portier(dir, dyn, "", "api: {}\n", 2);
  auto listening = listening_ports(p.proc->pid());
  ASSERT_FALSE(listening.empty());
  std::set<int> ports;
  for (const auto& [port, local] : listening) ports.insert(port);
  EXPECT_EQ(ports, std::set<int>{p.port}) << "only the web entrypoint listens";
  EXPECT_TRUE(ports_serving_api(listening).empty());
  // It is there, through the router.
  auto r = http_get(p.port, "api.localhost", "/api/rawdata");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("x-via"), "router");
}

TEST(Api, InsecureServesItOnTheTraefikEntrypointOnly) {
  TempDir dir;
  std::string dyn =
      "http:\n  routers:\n    dashboard:\n      rule: \"Host(`api.localhost`)\"\n"
      "      service: api@internal\n";
  Portier p = start_with_insecure_api(dir, dyn);
  auto api_port = insecure_api_port(p);
  ASSERT_TRUE(api_port) << p.proc->log();
  const int port = *api_port;
  auto listening = listening_ports(p.proc->pid());
  std::set<int> ports;
  for (const auto& [lp, local] : listening) ports.insert(lp);
  EXPECT_EQ(ports, (std::set<int>{p.port, port}));
  EXPECT_EQ(ports_serving_api(listening), std::set<int>{port});
  // Both adapters give the same answer.
  auto direct = http_get(port, "x", "/api/http/routers/dashboard%40file");
  auto routed = http_get(p.port, "api.localhost", "/api/http/routers/dashboard%40file");
  ASSERT_TRUE(direct && routed);
  EXPECT_EQ(direct->status, 200);
  EXPECT_EQ(direct->body, routed->body);
  EXPECT_EQ(direct->header("content-type"), routed->header("content-type"));
  Conn post(port);
  ASSERT_TRUE(post.send("POST /api/rawdata HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"));
  auto refused = post.read_response();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 405);
  EXPECT_EQ(refused->header("allow"), "GET, HEAD");
}

// A name that is not UTF-8 (a file's bytes, a label's) is written with U+FFFD, as Traefik's Go
// writes it; both adapters answer. It used to make the JSON writer throw: api.insecure answered
// 500 and a router to api@internal closed the connection without an answer.
TEST(Api, NamesThatAreNotUtf8AreWrittenWithReplacementCharacters) {
  TempDir dir;
  const std::string dyn =
      "http:\n  routers:\n    \"bad\xff\xfename\":\n"
      "      rule: \"Host(`api.localhost`)\"\n      service: api@internal\n";
  Portier p = start_with_insecure_api(dir, dyn, 1);
  auto api_port = insecure_api_port(p);
  ASSERT_TRUE(api_port) << p.proc->log();
  ASSERT_TRUE(poll_until(
      [&] { return http_get(p.port, "api.localhost", "/api/version").has_value(); }, 5s));
  for (int port : {*api_port, p.port}) {
    auto r = http_get(port, "api.localhost", "/api/http/routers");
    ASSERT_TRUE(r) << port;
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_NE(r->body.find("bad\xef\xbf\xbd\xef\xbf\xbdname@file"), std::string::npos) << r->body;
  }
}

// api.insecure's listener reads requests with portier's own parser, as strictly as an
// entrypoint does: keep-alive, HEAD and small bodies (dropped) as HTTP/1.1 has them; a malformed
// head, a chunked or a large body refused, the connection closed; 5 s of quiet closes it too.
TEST(Api, InsecureListenerReadsRequestsStrictly) {
  TempDir dir;
  Portier p = start_with_insecure_api(dir, "", 1);
  auto api_port = insecure_api_port(p);
  ASSERT_TRUE(api_port) << p.proc->log();
  const int port = *api_port;

  Conn c(port);
  ASSERT_TRUE(c.send("GET /api/version HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto version = c.read_response();
  ASSERT_TRUE(version);
  EXPECT_EQ(version->status, 200);
  EXPECT_NE(version->body.find("\"Version\""), std::string::npos) << version->body;
  ASSERT_TRUE(c.send("HEAD /api/version HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto head = c.read_response(/*no_body=*/true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("content-length"), std::to_string(version->body.size()));
  // A small body is read and dropped; the next request on the connection is answered.
  ASSERT_TRUE(
      c.send("DELETE /api/version HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
             "GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto refused = c.read_response();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 405);
  auto ping = c.read_response();
  ASSERT_TRUE(ping);
  EXPECT_EQ(ping->status, 200);
  EXPECT_EQ(ping->body, "OK");
  // Quiet for 5 s: closed.
  EXPECT_TRUE(c.wait_closed(8s));

  const auto refused_and_closed = [&](const std::string& request, int status) {
    Conn bad(port);
    ASSERT_TRUE(bad.send(request));
    auto r = bad.read_response();
    ASSERT_TRUE(r) << request;
    EXPECT_EQ(r->status, status) << request;
    EXPECT_EQ(r->header("connection"), "close") << request;
    EXPECT_TRUE(bad.wait_closed(2s)) << request;
  };
  refused_and_closed("GET /ping HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400);
  refused_and_closed("GET /ping HTTP/1.1\nHost: x\n\n", 400);
  refused_and_closed("GET /ping HTTP/1.1\r\nHost : x\r\n\r\n", 400);
  refused_and_closed(
      "GET /ping HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      400);
  refused_and_closed("GET /ping HTTP/2.0\r\nHost: x\r\n\r\n", 505);
  refused_and_closed(
      "POST /ping HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n0\r\n\r\n",
      411);
  refused_and_closed("POST /ping HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n", 413);
  refused_and_closed("GET /" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n", 414);
  refused_and_closed(
      "GET /ping HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n", 431);
  // A head sent a line at a time has 5 s in all, not 5 s per read.
  Conn slow(port);
  ASSERT_TRUE(slow.send("GET /ping HTTP/1.1\r\nHost: x\r\n"));
  const auto began = std::chrono::steady_clock::now();
  bool closed = false;
  for (int i = 0; i < 15 && !closed; ++i) {
    closed = slow.wait_closed(700ms) || !slow.send("X-Slow: 1\r\n");
  }
  EXPECT_TRUE(closed);
  EXPECT_LT(std::chrono::steady_clock::now() - began, 7s);
  // HTTP/1.0 without keep-alive: answered, then closed.
  Conn old(port);
  ASSERT_TRUE(old.send("GET /ping HTTP/1.0\r\n\r\n"));
  auto r10 = old.read_response();
  ASSERT_TRUE(r10);
  EXPECT_EQ(r10->status, 200);
  EXPECT_TRUE(old.wait_closed(2s));
}

// The dashboard wherever the API is: behind a router's middlewares (basicAuth, stripPrefix), with
// its security fields; api.dashboard: false takes it away and leaves the API.
TEST(Api, DashboardBehindARoutersMiddlewares) {
  TempDir dir;
  std::string dyn = R"yaml(http:
  routers:
    dashboard:
      rule: "Host(`admin.localhost`)"
      service: api@internal
      middlewares: [auth, strip]
  middlewares:
    auth:
      basicAuth:
        users: ["alice:$apr1$Xy7pQ2aB$WvPTp4t97m31FCKFaB5bp."]
    strip:
      stripPrefix:
        prefixes: ["/portier"]
)yaml";
  Portier p = start_portier(dir, dyn, "", "api: {}\n");
  const std::string auth = "Authorization: Basic YWxpY2U6c2VjcmV0MQ==\r\n";  // alice:secret1
  auto denied = http_get(p.port, "admin.localhost", "/portier/dashboard/");
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->status, 401);

  auto redirect = http_get(p.port, "admin.localhost", "/portier/dashboard", auth);
  ASSERT_TRUE(redirect);
  EXPECT_EQ(redirect->status, 302);
  EXPECT_EQ(redirect->header("location"), "dashboard/");  // relative: /portier/dashboard/

  auto page = http_get(p.port, "admin.localhost", "/portier/dashboard/", auth);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(page->header("cache-control"), "no-cache");
  EXPECT_NE(page->header("content-security-policy").find("default-src 'self'"), std::string::npos);
  EXPECT_NE(page->body.find("<title>portier dashboard</title>"), std::string::npos);
  auto script = http_get(p.port, "admin.localhost", "/portier/dashboard/app.js", auth);
  ASSERT_TRUE(script);
  EXPECT_EQ(script->status, 200);
  EXPECT_EQ(script->header("content-type"), "text/javascript; charset=utf-8");
  auto certs = http_get(p.port, "admin.localhost", "/portier/api/portier/certificates", auth);
  ASSERT_TRUE(certs);
  json j = json::parse(certs->body, nullptr, false);
  ASSERT_TRUE(j.is_array()) << certs->body;
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["source"], "generated");
  EXPECT_EQ(j[0]["default"], true);
  EXPECT_EQ(j[0]["issuer"], "CN=PORTIER DEFAULT CERT");
  auto traffic = http_get(p.port, "admin.localhost", "/portier/api/portier/traffic", auth);
  ASSERT_TRUE(traffic);
  EXPECT_EQ(traffic->status, 200);
  json t = json::parse(traffic->body, nullptr, false);
  ASSERT_TRUE(t.is_object()) << traffic->body;
  // The requests to the API above are internal: not counted (metrics.addInternals is off).
  EXPECT_EQ(t["entryPoints"]["web"]["requests"], 0) << traffic->body;
  EXPECT_GE(t["entryPoints"]["web"]["openConnections"], 0);
  EXPECT_TRUE(t["uptimeSeconds"].is_number());

  TempDir off_dir;
  Portier off = start_portier(off_dir, dyn, "", "api:\n  dashboard: false\n");
  auto gone = http_get(off.port, "admin.localhost", "/portier/dashboard/", auth);
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->status, 404);
  auto api = http_get(off.port, "admin.localhost", "/portier/api/version", auth);
  ASSERT_TRUE(api);
  EXPECT_EQ(api->status, 200);
}

// /api/portier/certificates over the certificates the store really serves: a file certificate
// with its names, issuer and expiry, the generated default; never key material.
TEST(Api, CertificatesAsServed) {
  TempDir dir;
  CertFiles ca = make_ca(dir, "ca", "Dashboard Test CA");
  CertFiles leaf = make_leaf(dir, ca, "leaf", {"a.example.test", "b.example.test"}, 30);
  std::string dyn = "tls:\n  certificates:\n    - certFile: " + leaf.cert.string() +
                    "\n      keyFile: " + leaf.key.string() + "\n";
  Portier p = start_with_insecure_api(dir, dyn);
  auto api_port = insecure_api_port(p);
  ASSERT_TRUE(api_port) << p.proc->log();
  auto r = http_get(*api_port, "x", "/api/portier/certificates");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  json j = json::parse(r->body, nullptr, false);
  ASSERT_TRUE(j.is_array() && j.size() == 2u) << r->body;
  EXPECT_EQ(j[0]["source"], "file");
  EXPECT_EQ(j[0]["default"], false);
  EXPECT_EQ(j[0]["main"], "a.example.test");
  EXPECT_EQ(j[0]["sans"], json::parse(R"(["b.example.test"])"));
  EXPECT_EQ(j[0]["issuer"], "CN=Dashboard Test CA");
  EXPECT_EQ(j[0]["subject"], "CN=a.example.test");
  EXPECT_EQ(j[0]["notAfter"].get<std::string>().size(), 24u);  // 2026-01-01T00:00:00.000Z
  EXPECT_FALSE(j[0].contains("acme"));
  EXPECT_EQ(j[1]["source"], "generated");
  EXPECT_EQ(j[1]["default"], true);
  EXPECT_EQ(r->body.find("PRIVATE"), std::string::npos);
  EXPECT_EQ(r->body.find("BEGIN"), std::string::npos);
}

}  // namespace
}  // namespace portier::test
