// The access log from real requests: Traefik's JSON keys and CLF line, what the record says of
// routed, unrouted, authenticated, streamed and retried requests, filters, header modes, and
// SIGUSR1 reopening the file after logrotate moved it.
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "common/base64.h"
#include "support/net.h"
#include "support/process.h"

namespace portier::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;


std::vector<std::string> read_lines(const std::filesystem::path& p) {
  std::vector<std::string> out;
  std::ifstream in(p);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

// Waits (the writer thread is asynchronous) until the file has `n` lines.
std::vector<std::string> wait_lines(const std::filesystem::path& p, std::size_t n) {
  std::vector<std::string> lines;
  poll_until(
      [&] {
        lines = read_lines(p);
        return lines.size() >= n;
      },
      5s);
  return lines;
}

std::string dynamic_for(const Whoami& w) {
  return "http:\n  routers:\n"
         "    app:\n      rule: \"Host(`app.localhost`)\"\n      service: s\n"
         "    private:\n      rule: \"Host(`private.localhost`)\"\n      service: s\n"
         "      middlewares: [auth]\n"
         "  middlewares:\n    auth:\n      basicAuth:\n        users:\n"
         "          - \"alice:$apr1$Xy7pQ2aB$WvPTp4t97m31FCKFaB5bp.\"\n"
         "  services:\n    s:\n      loadBalancer:\n        servers:\n          - url: \"" +
         w.url() + "\"\n";
}

Portier start_with_log(const TempDir& dir, const Whoami& w, const std::string& access_log_yaml) {
  const std::string static_yaml =
      "entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\n"
      "providers:\n  file:\n    filename: dynamic.yml\n" +
      access_log_yaml;
  return start_portier_static(dir, static_yaml, dynamic_for(w), {"web"});
}

TEST(AccessLog, JsonLinesInTraefiksKeys) {
  TempDir dir;
  Whoami w = start_whoami(dir, "alog");
  const auto file = dir.path() / "logs" / "access.log";
  Portier p = start_with_log(dir, w,
                             "accessLog:\n  filePath: " + file.string() +
                                 "\n  format: json\n  fields:\n    headers:\n"
                                 "      defaultMode: keep\n      names:\n"
                                 "        Authorization: redact\n        X-Secret: drop\n");
  auto ok = http_get(p.port, "app.localhost", "/hello?x=1", "User-Agent: alog-test\r\n");
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->status, 200);
  auto missing = http_get(p.port, "nobody.localhost:8000", "/nope");
  ASSERT_TRUE(missing);
  ASSERT_EQ(missing->status, 404);
  auto authed = http_get(p.port, "private.localhost", "/",
                         "Authorization: Basic " + base64_encode("alice:secret1") +
                             "\r\nX-Secret: s3cr3t\r\n");
  ASSERT_TRUE(authed);
  ASSERT_EQ(authed->status, 200);
  // A body large enough to stream through several reads: the head's bytes are reused by then,
  // and the line must still name the request as sent.
  const std::string body(300000, 'b');
  Conn post(p.port);
  ASSERT_TRUE(post.send("POST /echo?big=1 HTTP/1.1\r\nHost: app.localhost\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\n\r\n" + body));
  auto echoed = post.read_response();
  ASSERT_TRUE(echoed);
  ASSERT_EQ(echoed->status, 200);

  const auto lines = wait_lines(file, 4);
  ASSERT_EQ(lines.size(), 4u);
  std::vector<json> j;
  for (const auto& l : lines) {
    j.push_back(json::parse(l, nullptr, false));
    ASSERT_FALSE(j.back().is_discarded()) << l;
  }
  // Workers have a ring each: lines of different workers may be written out of order. The
  // requests were sequential, so RequestCount orders them.
  std::sort(j.begin(), j.end(), [](const json& a, const json& b) {
    return a["RequestCount"].get<long>() < b["RequestCount"].get<long>();
  });
  EXPECT_EQ(j[0]["RequestMethod"], "GET");
  EXPECT_EQ(j[0]["RequestPath"], "/hello?x=1");
  EXPECT_EQ(j[0]["RequestHost"], "app.localhost");
  EXPECT_EQ(j[0]["RequestProtocol"], "HTTP/1.1");
  EXPECT_EQ(j[0]["RequestScheme"], "http");
  EXPECT_EQ(j[0]["RouterName"], "app@file");
  EXPECT_EQ(j[0]["ServiceName"], "s@file");
  EXPECT_EQ(j[0]["ServiceURL"], w.url());
  EXPECT_EQ(j[0]["ServiceAddr"], "127.0.0.1:" + std::to_string(w.port));
  EXPECT_EQ(j[0]["OriginStatus"], 200);
  EXPECT_EQ(j[0]["DownstreamStatus"], 200);
  EXPECT_EQ(j[0]["DownstreamContentSize"].get<long>(), static_cast<long>(ok->body.size()));
  EXPECT_EQ(j[0]["ClientHost"], "127.0.0.1");
  EXPECT_EQ(j[0]["entryPointName"], "web");
  EXPECT_EQ(j[0]["request_User-Agent"], "alog-test");
  // The server's fields as sent, and the client's (hop-by-hop left out).
  EXPECT_EQ(j[0]["origin_Content-Type"], "text/plain; charset=utf-8") << lines[0];
  EXPECT_EQ(j[0]["downstream_Content-Length"], std::to_string(ok->body.size()));
  EXPECT_EQ(j[1]["downstream_Content-Type"], "text/plain; charset=utf-8");  // portier's 404
  EXPECT_FALSE(j[1].contains("origin_Content-Type"));
  EXPECT_GT(j[0]["Duration"].get<long>(), 0);
  EXPECT_GT(j[0]["OriginDuration"].get<long>(), 0);
  EXPECT_LE(j[0]["OriginDuration"].get<long>(), j[0]["Duration"].get<long>());
  EXPECT_EQ(j[0]["RequestCount"], 1);
  EXPECT_TRUE(j[0]["StartUTC"].is_string());

  EXPECT_EQ(j[1]["DownstreamStatus"], 404);
  EXPECT_EQ(j[1]["OriginStatus"], 0);  // no server was asked
  EXPECT_EQ(j[1]["RequestHost"], "nobody.localhost");
  EXPECT_EQ(j[1]["RequestPort"], "8000");
  EXPECT_FALSE(j[1].contains("RouterName"));
  EXPECT_EQ(j[1]["DownstreamContentSize"], 19);

  EXPECT_EQ(j[2]["ClientUsername"], "alice");
  EXPECT_EQ(j[2]["RouterName"], "private@file");
  EXPECT_EQ(j[2]["request_Authorization"], "REDACTED");
  EXPECT_FALSE(j[2].contains("request_X-Secret"));

  EXPECT_EQ(j[3]["RequestMethod"], "POST");
  EXPECT_EQ(j[3]["RequestPath"], "/echo?big=1");
  EXPECT_EQ(j[3]["RequestAddr"], "app.localhost");
  EXPECT_EQ(j[3]["RequestContentSize"], body.size());
  EXPECT_EQ(j[3]["OriginContentSize"], body.size());
}

TEST(AccessLog, CommonFormatFiltersAndReopen) {
  TempDir dir;
  Whoami w = start_whoami(dir, "alog-clf");
  const auto file = dir.path() / "access.log";
  Portier p = start_with_log(
      dir, w,
      "accessLog:\n  filePath: " + file.string() +
          "\n  filters:\n    statusCodes: [\"200\", \"400-404\"]\n");
  ASSERT_TRUE(http_get(p.port, "app.localhost", "/a"));
  ASSERT_TRUE(http_get(p.port, "app.localhost", "/status?code=503"));  // filtered out
  ASSERT_TRUE(http_get(p.port, "nobody.localhost", "/b"));
  auto lines = wait_lines(file, 2);
  ASSERT_EQ(lines.size(), 2u);
  if (lines[0].find("/a ") == std::string::npos) std::swap(lines[0], lines[1]);  // two workers
  // Traefik's CLF: host - user [time] "request" status size "referer" "agent" count "router"
  // "url" duration
  static const std::regex kClf(
      R"re(^127\.0\.0\.1 - - \[\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "GET /a HTTP/1\.1" 200 \d+ "-" "-" \d+ "app@file" "http://127\.0\.0\.1:\d+" \d+ms$)re");
  EXPECT_TRUE(std::regex_match(lines[0], kClf)) << lines[0];
  EXPECT_NE(lines[1].find("\"GET /b HTTP/1.1\" 404 19 "), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find(" \"-\" \"-\" "), std::string::npos) << lines[1];  // no router, no URL

  // logrotate: the file is moved, SIGUSR1 reopens the path, new lines go to the new file.
  std::filesystem::rename(file, dir.path() / "access.log.1");
  ASSERT_TRUE(p.proc->signal(SIGUSR1));
  ASSERT_TRUE(poll_until(
      [&] {
        http_get(p.port, "app.localhost", "/after");
        return std::filesystem::exists(file) && !read_lines(file).empty();
      },
      5s));
  for (const auto& l : read_lines(file)) {
    EXPECT_NE(l.find("\"GET /after HTTP/1.1\" 200"), std::string::npos) << l;
  }
  EXPECT_EQ(read_lines(dir.path() / "access.log.1").size(), 2u);
}

TEST(AccessLog, InternalsOnlyWithAddInternals) {
  TempDir dir;
  Whoami w = start_whoami(dir, "alog-internal");
  const auto file = dir.path() / "access.log";
  const std::string static_yaml =
      "entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\n"
      "  traefik:\n    address: \"127.0.0.1:0\"\n"
      "ping: {}\nproviders:\n  file:\n    filename: dynamic.yml\n"
      "accessLog:\n  format: json\n  filePath: " +
      file.string() + "\n";
  // One worker: one ring, written in order, so a ping line would come before the routed one.
  Portier p = start_portier_static(dir, static_yaml, dynamic_for(w), {"web", "traefik"}, 1);
  ASSERT_TRUE(http_get(p.ports.at("traefik"), "x", "/ping"));
  ASSERT_TRUE(http_get(p.port, "app.localhost", "/routed"));
  const auto lines = wait_lines(file, 1);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("/routed"), std::string::npos);
}

}  // namespace
}  // namespace portier::test
