// The access log: Traefik's line formats (expectations from its logger_formatters_test.go and
// logger_test.go), field and header modes, filters, and the rings and writer thread against real
// files in a temporary directory.
#include "observability/access_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

namespace portier::observability {
namespace {

namespace fs = std::filesystem;
using config::AccessLogFormat;
using config::AccessLogMode;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

// Sets TZ for one test (POSIX form, so no tzdata is needed) and puts the old one back.
class ScopedTz {
 public:
  explicit ScopedTz(const char* tz) {
    if (const char* old = std::getenv("TZ")) old_ = old;
    had_ = std::getenv("TZ") != nullptr;
    ::setenv("TZ", tz, 1);
    ::tzset();
  }
  ~ScopedTz() {
    if (had_) {
      ::setenv("TZ", old_.c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }

 private:
  std::string old_;
  bool had_ = false;
};

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "portier-alog-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

std::vector<std::string> read_lines(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// 2009-11-10 23:00:00 UTC, Traefik's formatter test time.
std::chrono::system_clock::time_point t2009(nanoseconds extra = nanoseconds{0}) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(seconds(1257894000) + extra));
}

// Traefik's "all data" formatter case.
AccessRecord clf_record() {
  AccessRecord r;
  r.start = t2009();
  r.duration = seconds(123);
  r.client_addr = "10.0.0.1:4242";
  r.client_host = "10.0.0.1";
  r.client_port = "4242";
  r.client_username = "Client";
  r.request_method = "GET";
  r.request_path = "/foo";
  r.request_protocol = "http";
  r.downstream_status = 123;
  r.downstream_content_size = 132;
  r.request_headers = {{"referer", "referer"}, {"User-Agent", "agent"}};
  r.request_count = 1;
  r.router_name = "foo";
  r.service_url = "http://10.0.0.2/toto";
  return r;
}

config::AccessLog keep_headers(AccessLogFormat f) {
  config::AccessLog c;
  c.format = f;
  c.fields.headers_default_mode = AccessLogMode::Keep;
  return c;
}

std::string line_of(const config::AccessLog& c, const AccessRecord& r,
                    std::chrono::system_clock::time_point now = t2009(seconds(1))) {
  AccessLogFormatter f(c);
  std::string out;
  f.append(r, now, out);
  return out;
}

TEST(AccessLogFormat, CommonAndGenericClf) {
  ScopedTz tz("UTC0");
  struct Case {
    std::string name;
    config::AccessLog cfg;
    std::function<void(AccessRecord&)> edit;
    std::string want;
  };
  const auto common = keep_headers(AccessLogFormat::Common);
  const auto generic = keep_headers(AccessLogFormat::GenericClf);
  auto with = [](config::AccessLog c, auto fn) {
    fn(c);
    return c;
  };
  const std::vector<Case> cases = {
      {"all data", common, [](AccessRecord&) {},
       "10.0.0.1 - Client [10/Nov/2009:23:00:00 +0000] \"GET /foo http\" 123 132 \"referer\" "
       "\"agent\" 1 \"foo\" \"http://10.0.0.2/toto\" 123000ms\n"},
      {"generic CLF stops after the user agent", generic, [](AccessRecord&) {},
       "10.0.0.1 - Client [10/Nov/2009:23:00:00 +0000] \"GET /foo http\" 123 132 \"referer\" "
       "\"agent\"\n"},
      {"empty values are dashes", common,
       [](AccessRecord& r) {
         r.client_username.clear();
         r.request_headers.clear();
         r.router_name.clear();
         r.service_url.clear();
         r.downstream_status = 0;
         r.downstream_content_size = 0;
         r.request_count = 0;
         r.request_method.clear();
       },
       "10.0.0.1 - - [10/Nov/2009:23:00:00 +0000] \"- /foo http\" 0 0 \"-\" \"-\" 0 \"-\" \"-\" "
       "123000ms\n"},
      {"user-agent with double quote is escaped", common,
       [](AccessRecord& r) {
         r.duration = milliseconds(1);
         r.client_username.clear();
         r.request_path = "/";
         r.request_protocol = "HTTP/1.1";
         r.downstream_status = 200;
         r.downstream_content_size = 0;
         r.request_headers = {{"Referer", "-"}, {"User-Agent", "foo \" bar"}};
         r.router_name = "test@file";
         r.service_url = "http://127.0.0.1:8080";
       },
       "10.0.0.1 - - [10/Nov/2009:23:00:00 +0000] \"GET / HTTP/1.1\" 200 0 \"-\" \"foo \\\" bar\" "
       "1 \"test@file\" \"http://127.0.0.1:8080\" 1ms\n"},
      // Traefik's default: headers dropped, so Referer and User-Agent are never in the line.
      {"default header mode drops referer and user agent", config::AccessLog{},
       [](AccessRecord&) {},
       "10.0.0.1 - Client [10/Nov/2009:23:00:00 +0000] \"GET /foo http\" 123 132 \"-\" \"-\" 1 "
       "\"foo\" \"http://10.0.0.2/toto\" 123000ms\n"},
      {"one header kept by name, the other redacted",
       with(config::AccessLog{},
            [](config::AccessLog& c) {
              c.fields.header_names = {{"User-Agent", AccessLogMode::Keep},
                                       {"Referer", AccessLogMode::Redact}};
            }),
       [](AccessRecord& r) {
         r.request_headers.push_back({"user-agent", "second"});
       },
       "10.0.0.1 - Client [10/Nov/2009:23:00:00 +0000] \"GET /foo http\" 123 132 \"REDACTED\" "
       "\"agent,second\" 1 \"foo\" \"http://10.0.0.2/toto\" 123000ms\n"},
      {"dropped and redacted fields",
       with(common,
            [](config::AccessLog& c) {
              c.fields.names = {{"clientusername", AccessLogMode::Drop},
                                {"routername", AccessLogMode::Drop},
                                {"duration", AccessLogMode::Drop},
                                {"downstreamstatus", AccessLogMode::Redact},
                                {"requestcount", AccessLogMode::Drop},
                                {"clienthost", AccessLogMode::Redact}};
            }),
       [](AccessRecord&) {},
       "REDACTED - - [10/Nov/2009:23:00:00 +0000] \"GET /foo http\" \"REDACTED\" 132 "
       "\"referer\" \"agent\" - \"-\" \"http://10.0.0.2/toto\" 0ms\n"},
      {"query parameters dropped",
       with(generic, [](config::AccessLog& c) { c.fields.keep_query_parameters = false; }),
       [](AccessRecord& r) { r.request_path = "testpath?param1=test1&param2=test2"; },
       "10.0.0.1 - Client [10/Nov/2009:23:00:00 +0000] \"GET testpath http\" 123 132 "
       "\"referer\" \"agent\"\n"},
      {"query parameters kept", generic,
       [](AccessRecord& r) { r.request_path = "testpath?param1=test1&param2=test2"; },
       "10.0.0.1 - Client [10/Nov/2009:23:00:00 +0000] \"GET testpath?param1=test1&param2=test2 "
       "http\" 123 132 \"referer\" \"agent\"\n"},
      {"no start time at all",
       with(generic,
            [](config::AccessLog& c) {
              c.fields.names = {{"startutc", AccessLogMode::Drop},
                                {"startlocal", AccessLogMode::Drop}};
            }),
       [](AccessRecord&) {},
       "10.0.0.1 - Client [-] \"GET /foo http\" 123 132 \"referer\" \"agent\"\n"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    AccessRecord r = clf_record();
    c.edit(r);
    EXPECT_EQ(line_of(c.cfg, r), c.want);
  }
}

// Traefik's "all data with local time": StartUTC dropped, so the local time is written.
TEST(AccessLogFormat, CommonWithLocalTime) {
  ScopedTz tz("<-09>9");  // Etc/GMT+9
  auto c = keep_headers(AccessLogFormat::Common);
  c.fields.names = {{"startutc", AccessLogMode::Drop}};
  EXPECT_EQ(line_of(c, clf_record()),
            "10.0.0.1 - Client [10/Nov/2009:14:00:00 -0900] \"GET /foo http\" 123 132 "
            "\"referer\" \"agent\" 1 \"foo\" \"http://10.0.0.2/toto\" 123000ms\n");
  c.fields.names.clear();  // both kept: UTC, as Traefik formats StartUTC
  EXPECT_NE(line_of(c, clf_record()).find("[10/Nov/2009:23:00:00 +0000]"), std::string::npos);
}

AccessRecord json_record() {
  AccessRecord r;
  r.start = t2009(nanoseconds(123456789));
  r.duration = milliseconds(2);
  r.origin_duration = nanoseconds(1500000);
  r.client_addr = "10.0.0.1:4242";
  r.client_host = "10.0.0.1";
  r.client_port = "4242";
  r.request_addr = "example.com";
  r.request_host = "example.com";
  r.request_method = "GET";
  r.request_path = "/foo?a=1";
  r.request_protocol = "HTTP/1.1";
  r.request_scheme = "http";
  r.entrypoint = "web";
  r.router_name = "r@file";
  r.service_name = "s@file";
  r.service_url = "http://10.0.0.2:80";
  r.service_addr = "10.0.0.2:80";
  r.origin_status = 200;
  r.origin_content_size = 12;
  r.downstream_status = 200;
  r.downstream_content_size = 12;
  r.request_count = 7;
  r.request_headers = {
      {"user-agent", "curl/8"}, {"Host", "example.com"}, {"Accept", "a"}, {"accept", "b"}};
  r.origin_headers = {{"Content-Type", "text/plain"}};
  r.downstream_headers = {{"content-type", "text/plain"}};
  return r;
}

TEST(AccessLogFormat, Json) {
  struct Case {
    std::string name;
    const char* tz;
    std::function<void(config::AccessLog&)> cfg;
    std::function<void(AccessRecord&)> edit;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"every field, headers kept", "UTC0", [](config::AccessLog&) {}, [](AccessRecord&) {},
       R"({"ClientAddr":"10.0.0.1:4242","ClientHost":"10.0.0.1","ClientPort":"4242",)"
       R"("ClientUsername":"-","DownstreamContentSize":12,"DownstreamStatus":200,)"
       R"("Duration":2000000,"OriginContentSize":12,"OriginDuration":1500000,"OriginStatus":200,)"
       R"("Overhead":500000,"RequestAddr":"example.com","RequestContentSize":0,"RequestCount":7,)"
       R"("RequestHost":"example.com","RequestMethod":"GET","RequestPath":"/foo?a=1",)"
       R"("RequestPort":"-","RequestProtocol":"HTTP/1.1","RequestScheme":"http",)"
       R"("RetryAttempts":0,"RouterName":"r@file","ServiceAddr":"10.0.0.2:80",)"
       R"("ServiceName":"s@file","ServiceURL":"http://10.0.0.2:80",)"
       R"("StartLocal":"2009-11-10T23:00:00.123456789Z",)"
       R"("StartUTC":"2009-11-10T23:00:00.123456789Z",)"
       R"("downstream_Content-Type":"text/plain","entryPointName":"web","level":"info","msg":"",)"
       R"("origin_Content-Type":"text/plain","request_Accept":"a,b","request_User-Agent":"curl/8",)"
       R"("time":"2009-11-10T23:00:01Z"})"
       "\n"},
      // Traefik's "default config drop all fields and redact headers".
      {"fields dropped, headers redacted", "UTC0",
       [](config::AccessLog& c) {
         c.fields.default_mode = AccessLogMode::Drop;
         c.fields.headers_default_mode = AccessLogMode::Redact;
       },
       [](AccessRecord& r) {
         r.request_headers = {{"Referer", "x"}, {"User-Agent", "y"}};
         r.origin_headers.clear();
       },
       R"({"downstream_Content-Type":"REDACTED","level":"info","msg":"",)"
       R"("request_Referer":"REDACTED","request_User-Agent":"REDACTED",)"
       R"("time":"2009-11-10T23:00:01Z"})"
       "\n"},
      // Traefik's "drop all fields and headers but kept someone" (names in any case).
      {"one field and one header kept", "UTC0",
       [](config::AccessLog& c) {
         c.fields.default_mode = AccessLogMode::Drop;
         c.fields.names = {{"requesthost", AccessLogMode::Keep}};
         c.fields.headers_default_mode = AccessLogMode::Drop;
         c.fields.header_names = {{"Referer", AccessLogMode::Keep}};
       },
       [](AccessRecord& r) {
         r.request_headers.push_back({"REFERER", "testReferer"});
       },
       R"({"RequestHost":"example.com","level":"info","msg":"","request_Referer":"testReferer",)"
       R"("time":"2009-11-10T23:00:01Z"})"
       "\n"},
      // portier's own field: the waf middleware's matched rules, only when there are some.
      {"waf rule ids", "UTC0",
       [](config::AccessLog& c) {
         c.fields.default_mode = AccessLogMode::Drop;
         c.fields.names = {{"wafruleids", AccessLogMode::Keep}};
         c.fields.headers_default_mode = AccessLogMode::Drop;
       },
       [](AccessRecord& r) { r.waf_rule_ids = "942100,949110"; },
       R"({"WafRuleIds":"942100,949110","level":"info","msg":"","time":"2009-11-10T23:00:01Z"})"
       "\n"},
      {"local zone, TLS, a username, a ratio, no router, no server, escaping", "<-09>9",
       [](config::AccessLog& c) {
         c.fields.headers_default_mode = AccessLogMode::Drop;
         c.fields.names = {
             {"clientaddr", AccessLogMode::Drop},  {"clientport", AccessLogMode::Drop},
             {"requestaddr", AccessLogMode::Drop}, {"requesthost", AccessLogMode::Drop},
             {"requestport", AccessLogMode::Drop}, {"clienthost", AccessLogMode::Redact}};
       },
       [](AccessRecord& r) {
         r.start = t2009(milliseconds(500));
         r.router_name.clear();
         r.service_name.clear();
         r.service_url.clear();
         r.service_addr.clear();
         r.origin_status = 0;
         r.origin_duration = nanoseconds{0};
         r.origin_content_size = 100;
         r.downstream_content_size = 40;
         r.downstream_status = 401;
         r.client_username = "bob";
         r.request_scheme = "https";
         r.tls_version = "1.3";
         r.tls_cipher = "TLS_AES_128_GCM_SHA256";
         r.tls_client_subject = "CN=foobar";
         r.request_path = "/a?b=<c>&d=\"e\"";
         r.retry_attempts = 2;
         r.entrypoint.clear();
       },
       R"({"ClientHost":"REDACTED","ClientUsername":"bob","DownstreamContentSize":40,)"
       R"("DownstreamStatus":401,"Duration":2000000,"GzipRatio":2.5,"OriginContentSize":100,)"
       R"("OriginDuration":0,"OriginStatus":0,"Overhead":2000000,"RequestContentSize":0,)"
       R"("RequestCount":7,"RequestMethod":"GET",)"
       R"("RequestPath":"/a?b=\u003cc\u003e\u0026d=\"e\"","RequestProtocol":"HTTP/1.1",)"
       R"("RequestScheme":"https","RetryAttempts":2,)"
       R"("StartLocal":"2009-11-10T14:00:00.5-09:00","StartUTC":"2009-11-10T23:00:00.5Z",)"
       R"("TLSCipher":"TLS_AES_128_GCM_SHA256","TLSClientSubject":"CN=foobar","TLSVersion":"1.3",)"
       R"("level":"info","msg":"","time":"2009-11-10T14:00:01-09:00"})"
       "\n"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    ScopedTz tz(c.tz);
    config::AccessLog cfg = keep_headers(AccessLogFormat::Json);
    c.cfg(cfg);
    AccessRecord r = json_record();
    c.edit(r);
    EXPECT_EQ(line_of(cfg, r), c.want);
  }
}

TEST(AccessLogFormat, JsonStringsAsGoWritesThem) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"plain", R"("plain")"},
      {"a\"b\\c", R"("a\"b\\c")"},
      {"<&>", R"("\u003c\u0026\u003e")"},
      {"\n\r\t\b\f", R"("\n\r\t\b\f")"},
      {std::string("\x01\x1f", 2), R"("\u0001\u001f")"},
      {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
       "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""},
      {"\xe2\x80\xa8\xe2\x80\xa9", R"("\u2028\u2029")"},
      {"a\xff"
       "b",
       R"("a\ufffdb")"},
      {"\xc0\xaf", R"("\ufffd\ufffd")"},            // overlong
      {"\xed\xa0\x80", R"("\ufffd\ufffd\ufffd")"},  // a surrogate
      {"\xe2\x82", R"("\ufffd\ufffd")"},            // truncated
  };
  for (const auto& [in, want] : cases) {
    SCOPED_TRACE(want);
    std::string out;
    append_json_string(in, out);
    EXPECT_EQ(out, want);
  }
}

TEST(AccessLogFormat, Rfc3339Nano) {
  ScopedTz tz("<+0530>-5:30");
  const std::vector<std::tuple<nanoseconds, bool, std::string>> cases = {
      {nanoseconds{0}, true, "2009-11-10T23:00:00Z"},
      {nanoseconds{1}, true, "2009-11-10T23:00:00.000000001Z"},
      {milliseconds(120), true, "2009-11-10T23:00:00.12Z"},
      {nanoseconds{0}, false, "2009-11-11T04:30:00+05:30"},
  };
  for (const auto& [extra, utc, want] : cases) {
    std::string out;
    append_rfc3339(t2009(extra), utc, true, out);
    EXPECT_EQ(out, want);
  }
}

TEST(AccessLogFilters, TraefikKeepAccessLog) {
  struct Case {
    std::string name;
    config::AccessLogFilters filters;
    int status, retries;
    nanoseconds took;
    bool keep;
  };
  const config::AccessLogFilters codes{{{200, 200}, {300, 302}}, false, milliseconds(0)};
  const config::AccessLogFilters retry{{}, true, milliseconds(0)};
  const config::AccessLogFilters slow{{}, false, milliseconds(10)};
  const config::AccessLogFilters all{{{500, 599}}, true, milliseconds(10)};
  const std::vector<Case> cases = {
      {"no filters", {}, 404, 0, nanoseconds{0}, true},
      {"status in a single code", codes, 200, 0, nanoseconds{0}, true},
      {"status in a range", codes, 302, 0, nanoseconds{0}, true},
      {"status outside", codes, 303, 0, nanoseconds{0}, false},
      {"retried", retry, 200, 1, nanoseconds{0}, true},
      {"not retried", retry, 200, 0, nanoseconds{0}, false},
      {"slower than minDuration", slow, 200, 0, milliseconds(11), true},
      {"exactly minDuration is not slower", slow, 200, 0, milliseconds(10), false},
      {"any filter keeps: status", all, 503, 0, nanoseconds{0}, true},
      {"any filter keeps: retry", all, 200, 3, nanoseconds{0}, true},
      {"any filter keeps: duration", all, 200, 0, seconds(1), true},
      {"none matches", all, 200, 0, milliseconds(1), false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    config::AccessLog cfg;
    cfg.filters = c.filters;
    auto log = AccessLog::open(cfg, 1, false);
    ASSERT_TRUE(log) << log.error().message;
    EXPECT_EQ((*log)->keeps(c.status, c.retries, c.took), c.keep);
  }
}

TEST(AccessLogRing, CapacityAndWantsHeaders) {
  struct Case {
    long long buffering;
    std::size_t slots;
  };
  for (const auto& c : std::vector<Case>{{0, 1024}, {1, 16}, {16, 16}, {100, 128}, {4096, 4096}}) {
    config::AccessLog cfg;
    cfg.buffering_size = c.buffering;
    auto log = AccessLog::open(cfg, 2, false);
    ASSERT_TRUE(log) << log.error().message;
    EXPECT_EQ((*log)->capacity(), c.slots) << c.buffering;
    EXPECT_FALSE((*log)->wants_headers());
  }
  config::AccessLog cfg;
  cfg.fields.header_names = {{"Authorization", AccessLogMode::Drop}};
  EXPECT_FALSE((*AccessLog::open(cfg, 1, false))->wants_headers());
  cfg.fields.header_names = {{"User-Agent", AccessLogMode::Redact}};
  EXPECT_TRUE((*AccessLog::open(cfg, 1, false))->wants_headers());
  cfg.fields.header_names.clear();
  cfg.fields.headers_default_mode = AccessLogMode::Keep;
  EXPECT_TRUE((*AccessLog::open(cfg, 1, false))->wants_headers());
}

void fill(AccessRecord& r, const std::string& path) {
  r.client_host = "10.0.0.1";
  r.request_method = "GET";
  r.request_path = path;
  r.request_protocol = "HTTP/1.1";
  r.downstream_status = 200;
}

// A stalled writer: the ring holds exactly its capacity, then refuses without blocking; the
// lines it held are all written once the writer runs.
TEST(AccessLogRing, FullRingDropsAndCounts) {
  TempDir dir;
  config::AccessLog cfg;
  cfg.format = AccessLogFormat::GenericClf;
  cfg.file_path = (dir / "a.log").string();
  cfg.buffering_size = 16;
  auto opened = AccessLog::open(cfg, 2, false);
  ASSERT_TRUE(opened) << opened.error().message;
  AccessLog& log = **opened;
  EXPECT_TRUE(fs::exists(cfg.file_path));
  EXPECT_EQ(fs::status(cfg.file_path).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                fs::perms::others_read);
  for (int i = 0; i < 16; ++i) {
    AccessRecord* r = log.begin(0);
    ASSERT_NE(r, nullptr) << i;
    fill(*r, "/p0/" + std::to_string(i));
    log.commit(0);
  }
  EXPECT_EQ(log.begin(0), nullptr);
  EXPECT_EQ(log.begin(0), nullptr);
  EXPECT_EQ(log.dropped(), 2u);
  AccessRecord* other = log.begin(1);  // another producer's ring is its own
  ASSERT_NE(other, nullptr);
  fill(*other, "/p1/0");
  log.commit(1);
  log.start();
  log.stop();
  EXPECT_EQ(log.written(), 17u);
  EXPECT_EQ(log.dropped(), 2u);
  auto lines = read_lines(cfg.file_path);
  ASSERT_EQ(lines.size(), 17u);
  EXPECT_EQ(lines[0],
            "10.0.0.1 - - [01/Jan/1970:00:00:00 +0000] \"GET /p0/0 HTTP/1.1\" 200 0 "
            "\"-\" \"-\"");
  EXPECT_EQ(log.begin(0), nullptr);  // stopped
  EXPECT_EQ(log.dropped(), 3u);
  log.stop();  // idempotent
}

TEST(AccessLogRing, SlotsComeBackEmpty) {
  TempDir dir;
  config::AccessLog cfg;
  cfg.file_path = (dir / "a.log").string();
  cfg.buffering_size = 16;
  auto log = std::move(*AccessLog::open(cfg, 1));
  for (int i = 0; i < 40; ++i) {
    AccessRecord* r = nullptr;
    auto deadline = std::chrono::steady_clock::now() + seconds(5);
    while ((r = log->begin(0)) == nullptr && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    ASSERT_NE(r, nullptr);
    EXPECT_TRUE(r->router_name.empty());
    EXPECT_TRUE(r->request_headers.empty());
    EXPECT_EQ(r->downstream_status, 0);
    EXPECT_TRUE(r->waf_rule_ids.empty());
    r->router_name = "r" + std::to_string(i);
    r->waf_rule_ids = "942100";
    r->request_headers.push_back({"a", "b"});
    r->downstream_status = 200;
    log->commit(0);
  }
  log->stop();
  EXPECT_EQ(log->written(), 40u);
}

// Producers on their own threads, rings smaller than their output: every committed line is in
// the file exactly once after stop().
TEST(AccessLogRing, ManyProducersEveryLineOnce) {
  TempDir dir;
  config::AccessLog cfg;
  cfg.format = AccessLogFormat::GenericClf;
  cfg.file_path = (dir / "a.log").string();
  cfg.buffering_size = 64;
  constexpr int kProducers = 4;
  constexpr int kLines = 5000;
  auto log = std::move(*AccessLog::open(cfg, kProducers));
  std::vector<std::thread> threads;
  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back([&, p] {
      for (int i = 0; i < kLines; ++i) {
        AccessRecord* r;
        while ((r = log->begin(p)) == nullptr) std::this_thread::yield();
        fill(*r, "/p" + std::to_string(p) + "/" + std::to_string(i));
        log->commit(p);
        if (i % 1000 == 0) std::this_thread::sleep_for(milliseconds(2));  // let the writer idle
      }
    });
  }
  for (auto& t : threads) t.join();
  log->stop();
  EXPECT_EQ(log->written(), std::uint64_t{kProducers} * kLines);
  auto lines = read_lines(cfg.file_path);
  ASSERT_EQ(lines.size(), std::size_t{kProducers} * kLines);
  std::set<std::string> paths;
  for (const auto& l : lines) {
    auto a = l.find("GET ");
    auto b = l.find(' ', a + 4);
    paths.insert(l.substr(a + 4, b - a - 4));
  }
  EXPECT_EQ(paths.size(), std::size_t{kProducers} * kLines);
}

// Producers wake the writer only when a ring is half full: a steady trickle of lines, which the
// writer's 50 ms batches keep up with, never wakes it (one wake per line cost ~40 % CPU); a burst
// past half a ring does.
TEST(AccessLogRing, ASteadyTrickleDoesNotWakeTheWriterPerLine) {
  TempDir dir;
  config::AccessLog cfg;
  cfg.format = AccessLogFormat::GenericClf;
  cfg.file_path = (dir / "a.log").string();
  cfg.buffering_size = 64;  // half a ring: 32 lines
  auto log = std::move(*AccessLog::open(cfg, 1));
  // ~25 lines per 50 ms batch: the ring never holds more than half. (With a stale view of the
  // writer's progress, every line past half a ring since the last full check woke it.)
  constexpr int kTrickle = 300;
  for (int i = 0; i < kTrickle; ++i) {
    AccessRecord* r;
    while ((r = log->begin(0)) == nullptr) std::this_thread::yield();
    fill(*r, "/t" + std::to_string(i));
    log->commit(0);
    std::this_thread::sleep_for(milliseconds(2));
  }
  EXPECT_LE(log->early_wakes(), 5u) << "the writer was woken per line";
  const auto trickle_wakes = log->early_wakes();
  for (int i = 0; i < 48; ++i) {  // a burst: past half the ring before the next batch
    AccessRecord* r;
    while ((r = log->begin(0)) == nullptr) std::this_thread::yield();
    fill(*r, "/b" + std::to_string(i));
    log->commit(0);
  }
  log->stop();
  EXPECT_EQ(log->written(), std::uint64_t{kTrickle + 48});
  EXPECT_GE(log->early_wakes(), trickle_wakes + 1) << "a burst past half a ring must wake it";
}

TEST(AccessLogRing, ReopenAfterRename) {
  TempDir dir;
  config::AccessLog cfg;
  cfg.format = AccessLogFormat::GenericClf;
  cfg.file_path = (dir / "logs" / "a.log").string();  // the directory is made
  auto log = std::move(*AccessLog::open(cfg, 1));
  auto write = [&](const std::string& path) {
    AccessRecord* r = log->begin(0);
    ASSERT_NE(r, nullptr);
    fill(*r, path);
    log->commit(0);
  };
  write("/old/1");
  write("/old/2");
  auto deadline = std::chrono::steady_clock::now() + seconds(5);
  while (log->written() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(1));
  }
  ASSERT_EQ(log->written(), 2u);
  fs::rename(cfg.file_path, cfg.file_path + ".1");
  std::string error;
  ASSERT_TRUE(log->reopen(error)) << error;
  write("/new/1");
  log->stop();
  auto old_lines = read_lines(cfg.file_path + ".1");
  auto new_lines = read_lines(cfg.file_path);
  ASSERT_EQ(old_lines.size(), 2u);
  ASSERT_EQ(new_lines.size(), 1u);
  EXPECT_NE(new_lines[0].find("/new/1"), std::string::npos);

  // No writer running: reopen is done in place.
  auto idle = std::move(*AccessLog::open(cfg, 1, false));
  fs::remove(cfg.file_path);
  ASSERT_TRUE(idle->reopen(error)) << error;
  EXPECT_TRUE(fs::exists(cfg.file_path));
  // A directory in the way: reopen fails, says why.
  fs::remove(cfg.file_path);
  fs::create_directory(cfg.file_path);
  EXPECT_FALSE(log->reopen(error));  // stopped: done in place too
  EXPECT_NE(error.find("cannot open"), std::string::npos) << error;
}

TEST(AccessLogRing, OpenErrors) {
  TempDir dir;
  std::ofstream(dir / "file") << "x";
  config::AccessLog cfg;
  cfg.file_path = (dir / "file" / "a.log").string();
  auto log = AccessLog::open(cfg, 1);
  ASSERT_FALSE(log);
  EXPECT_NE(log.error().message.find("accessLog.filePath: cannot create"), std::string::npos)
      << log.error().message;
  cfg.file_path.clear();  // stdout
  std::string error;
  auto out = AccessLog::open(cfg, 1);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_TRUE((*out)->reopen(error));
  EXPECT_FALSE(AccessLog::open(cfg, 0));
}

}  // namespace
}  // namespace portier::observability

namespace portier::observability {
namespace {

// Not a check (CI never asserts a timing): prints what one JSON and one CLF line cost to format,
// for docs/performance.md.
TEST(AccessLogFormat, FormattingCostPrinted) {
  AccessRecord r;
  r.start = std::chrono::system_clock::now();
  r.duration = std::chrono::microseconds(1200);
  r.origin_duration = std::chrono::microseconds(1000);
  r.client_addr = "127.0.0.1:40000";
  r.client_host = "127.0.0.1";
  r.client_port = "40000";
  r.request_addr = r.request_host = "app.example.com";
  r.request_method = "GET";
  r.request_path = "/index.html?x=1";
  r.request_protocol = "HTTP/1.1";
  r.request_scheme = "http";
  r.entrypoint = "web";
  r.router_name = "app@docker";
  r.service_name = "app@docker";
  r.service_url = "http://172.17.0.2:80";
  r.service_addr = "172.17.0.2:80";
  r.origin_status = r.downstream_status = 200;
  r.origin_content_size = r.downstream_content_size = 612;
  r.request_count = 1;
  for (const char* format : {"json", "common"}) {
    config::AccessLog cfg;
    cfg.format = std::string_view(format) == "json" ? config::AccessLogFormat::Json
                                                   : config::AccessLogFormat::Common;
    AccessLogFormatter f(cfg);
    std::string out;
    constexpr int kLines = 100000;
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kLines; ++i) {
      out.clear();
      f.append(r, r.start, out);
    }
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::steady_clock::now() - t0)
                        .count();
    std::printf("access log %s: %.2f us per line (%zu bytes)\n", format,
                static_cast<double>(ns) / kLines / 1000.0, out.size());
    EXPECT_FALSE(out.empty());
  }
}

}  // namespace
}  // namespace portier::observability
