// Framing and Host rules: the checks that keep ambiguous requests (smuggling vectors) out.
#include "proxy/http/message.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace portier::http {
namespace {

struct Case {
  std::string name;
  std::string fields;  // field lines, each ending in \r\n
  Error error = Error::None;
  BodyKind kind = BodyKind::None;
  std::uint64_t length = 0;
  std::string version = "HTTP/1.1";
  std::string method = "POST";
};

TEST(AnalyzeRequest, Table) {
  const std::vector<Case> cases = {
      {"no body", "Host: a\r\n"},
      {"length", "Host: a\r\nContent-Length: 12\r\n", Error::None, BodyKind::Length, 12},
      {"zero length", "Host: a\r\nContent-Length: 0\r\n"},
      {"chunked", "Host: a\r\nTransfer-Encoding: chunked\r\n", Error::None, BodyKind::Chunked},
      {"chunked any case", "Host: a\r\nTransfer-Encoding: ChUnKeD\r\n", Error::None,
       BodyKind::Chunked},
      {"missing host", "X: y\r\n", Error::MissingHost},
      {"http/1.0 without host", "X: y\r\n", Error::None, BodyKind::None, 0, "HTTP/1.0"},
      {"two hosts", "Host: a\r\nHost: b\r\n", Error::DuplicateHost},
      {"host with slash", "Host: a/b\r\n", Error::BadHost},
      {"host with at", "Host: user@a\r\n", Error::BadHost},
      {"length and chunked", "Host: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n",
       Error::LengthWithChunked},
      {"chunked and length", "Host: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n",
       Error::LengthWithChunked},
      {"two lengths equal", "Host: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n",
       Error::DuplicateContentLength},
      {"two lengths differ", "Host: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n",
       Error::DuplicateContentLength},
      {"length list", "Host: a\r\nContent-Length: 5, 5\r\n", Error::BadContentLength},
      {"negative length", "Host: a\r\nContent-Length: -1\r\n", Error::BadContentLength},
      {"plus length", "Host: a\r\nContent-Length: +5\r\n", Error::BadContentLength},
      {"hex length", "Host: a\r\nContent-Length: 0x10\r\n", Error::BadContentLength},
      {"empty length", "Host: a\r\nContent-Length:\r\n", Error::BadContentLength},
      {"huge length", "Host: a\r\nContent-Length: 99999999999999999999\r\n",
       Error::BadContentLength},
      {"space inside length", "Host: a\r\nContent-Length: 1 2\r\n", Error::BadContentLength},
      {"te identity", "Host: a\r\nTransfer-Encoding: identity\r\n", Error::BadTransferEncoding},
      {"te gzip chunked", "Host: a\r\nTransfer-Encoding: gzip, chunked\r\n",
       Error::UnsupportedTransferEncoding},
      {"te chunked gzip", "Host: a\r\nTransfer-Encoding: chunked, gzip\r\n",
       Error::BadTransferEncoding},
      {"te chunked twice", "Host: a\r\nTransfer-Encoding: chunked, chunked\r\n",
       Error::BadTransferEncoding},
      {"te in two fields", "Host: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n",
       Error::BadTransferEncoding},
      {"te empty", "Host: a\r\nTransfer-Encoding:\r\n", Error::BadTransferEncoding},
      {"te chunked with junk", "Host: a\r\nTransfer-Encoding: xchunked\r\n",
       Error::BadTransferEncoding},
      {"te in http/1.0", "Transfer-Encoding: chunked\r\n", Error::BadTransferEncoding,
       BodyKind::None, 0, "HTTP/1.0"},
      {"connect", "Host: a:443\r\n", Error::BadConnectMethod, BodyKind::None, 0, "HTTP/1.1",
       "CONNECT"},
      // Host is one RFC 3986 host with an all-digit port (RFC 9110 §7.2).
      {"host with port", "Host: a.example:8080\r\n"},
      {"host ipv4", "Host: 10.0.0.1:80\r\n"},
      {"host ipv6", "Host: [::1]:8080\r\n"},
      {"host ipv6 no port", "Host: [2001:db8::1]\r\n"},
      {"host empty port", "Host: a:\r\n"},
      {"host empty", "Host:\r\n"},
      {"host underscore", "Host: my_host.local\r\n"},
      {"host list", "Host: a, b\r\n", Error::BadHost},
      {"host list no space", "Host: a,b\r\n", Error::BadHost},
      {"host port letters", "Host: a:8o\r\n", Error::BadHost},
      {"host port signed", "Host: a:+80\r\n", Error::BadHost},
      {"host port too big", "Host: a:65536\r\n", Error::BadHost},
      {"host port too long", "Host: a:000080\r\n", Error::BadHost},
      {"host two ports", "Host: a:80:81\r\n", Error::BadHost},
      {"host only port", "Host: :80\r\n", Error::BadHost},
      {"host percent", "Host: a%2Eb\r\n", Error::BadHost},
      {"host space", "Host: a b\r\n", Error::BadHost},
      {"host backslash", "Host: a\\b\r\n", Error::BadHost},
      {"host bad ipv6", "Host: [::g]\r\n", Error::BadHost},
      {"host ipv6 unclosed", "Host: [::1\r\n", Error::BadHost},
      {"host ipv6 junk after", "Host: [::1]x\r\n", Error::BadHost},
      {"host ipv6 bad port", "Host: [::1]:x\r\n", Error::BadHost},
      // h2c must not reach a server that would switch protocols behind the proxy.
      {"h2c upgrade",
       "Host: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
       "HTTP2-Settings: AAMAAABkAAQAAP__\r\n",
       Error::H2cUpgrade},
      {"h2c without connection option", "Host: a\r\nUpgrade: h2c\r\n", Error::H2cUpgrade},
      {"h2c in a list", "Host: a\r\nUpgrade: websocket, H2C\r\n", Error::H2cUpgrade},
      {"websocket upgrade", "Host: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::string raw = c.method + " / " + c.version + "\r\n" + c.fields + "\r\n";
    if (c.method == "CONNECT") raw = "CONNECT a:443 " + c.version + "\r\n" + c.fields + "\r\n";
    RequestHead head;
    ASSERT_EQ(parse_request_head(raw, Limits{}, head).status, ParseStatus::Complete);
    RequestInfo info;
    EXPECT_EQ(analyze_request(head, info), c.error) << describe(analyze_request(head, info));
    if (c.error == Error::None) {
      EXPECT_EQ(info.framing.kind, c.kind);
      EXPECT_EQ(info.framing.length, c.length);
    }
  }
}

TEST(AnalyzeRequest, Persistence) {
  struct P {
    std::string raw;
    bool persistent;
    bool upgrade;
  };
  const std::vector<P> cases = {
      {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", true, false},
      {"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false, false},
      {"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Close\r\n\r\n", false, false},
      {"GET / HTTP/1.0\r\n\r\n", false, false},
      {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true, false},
      {"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", true,
       true},
      // Upgrade without the Connection option is not an upgrade (and is dropped as hop-by-hop).
      {"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n", true, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.raw);
    RequestHead head;
    ASSERT_EQ(parse_request_head(c.raw, Limits{}, head).status, ParseStatus::Complete);
    RequestInfo info;
    ASSERT_EQ(analyze_request(head, info), Error::None);
    EXPECT_EQ(info.persistent, c.persistent);
    EXPECT_EQ(info.connection.upgrade, c.upgrade);
  }
}

TEST(AnalyzeRequest, TargetForms) {
  struct T {
    std::string name;
    std::string line;  // request line without CRLF
    std::string fields = "Host: a\r\n";
    Error error = Error::None;
    std::string host;    // info.host
    std::string target;  // info.target
    bool asterisk = false;
    bool absolute = false;
  };
  const std::vector<T> cases = {
      {"origin", "GET /p?q HTTP/1.1", "Host: a\r\n", Error::None, "a", "/p?q"},
      // RFC 9112 §3.2.2: the authority wins over Host.
      {"absolute", "GET http://b.example:81/p?q HTTP/1.1", "Host: a\r\n", Error::None,
       "b.example:81", "/p?q", false, true},
      {"absolute https upper case", "GET HTTPS://b/ HTTP/1.1", "Host: b\r\n", Error::None, "b", "/",
       false, true},
      {"absolute no path", "GET http://b HTTP/1.1", "Host: b\r\n", Error::None, "b", "", false,
       true},
      {"absolute query only", "GET http://b?x=1 HTTP/1.1", "Host: b\r\n", Error::None, "b", "?x=1",
       false, true},
      {"absolute http/1.0 without host", "GET http://b/p HTTP/1.0", "", Error::None, "b", "/p",
       false, true},
      {"absolute still needs host", "GET http://b/p HTTP/1.1", "X: y\r\n", Error::MissingHost},
      {"absolute bad host field", "GET http://b/p HTTP/1.1", "Host: a, b\r\n", Error::BadHost},
      {"userinfo", "GET http://user:pw@b/p HTTP/1.1", "Host: b\r\n", Error::UserinfoInTarget},
      {"userinfo empty", "GET http://@b/p HTTP/1.1", "Host: b\r\n", Error::UserinfoInTarget},
      {"empty authority", "GET http:///p HTTP/1.1", "Host: b\r\n", Error::BadTarget},
      {"bad authority port", "GET http://b:x/p HTTP/1.1", "Host: b\r\n", Error::BadTarget},
      {"other scheme", "GET ftp://b/p HTTP/1.1", "Host: b\r\n", Error::BadTarget},
      {"no scheme", "GET x://b/p HTTP/1.1", "Host: b\r\n", Error::BadTarget},
      {"asterisk", "OPTIONS * HTTP/1.1", "Host: a\r\n", Error::None, "a", "", true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::string raw = c.line + "\r\n" + c.fields + "\r\n";
    RequestHead head;
    ASSERT_EQ(parse_request_head(raw, Limits{}, head).status, ParseStatus::Complete);
    RequestInfo info;
    EXPECT_EQ(analyze_request(head, info), c.error) << describe(analyze_request(head, info));
    if (c.error != Error::None) continue;
    EXPECT_EQ(info.host, c.host);
    EXPECT_EQ(info.target, c.target);
    EXPECT_EQ(info.asterisk, c.asterisk);
    EXPECT_EQ(info.absolute_form, c.absolute);
  }
}

// Every byte, first, in the middle and last in a Host's name (before a port, and without one):
// allowed exactly when RFC 3986's reg-name allows it, less ',' and '%'.
TEST(ValidHost, EveryByteOfTheName) {
  const std::string_view allowed = "-._~!$&'()*+;=";
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    const bool want = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      (b != 0 && allowed.find(c) != std::string_view::npos);
    if (c == ':' || c == '[') continue;  // the port's separator; an IPv6 literal's start
    for (const std::string& name :
         {std::string(1, c) + "ab", "a" + std::string(1, c) + "b", "ab" + std::string(1, c)}) {
      EXPECT_EQ(valid_host(name), want) << "byte " << b << " in " << name;
      EXPECT_EQ(valid_host(name + ":8080"), want) << "byte " << b << " before a port";
    }
  }
  EXPECT_TRUE(valid_host("app.example.com:443"));
  EXPECT_FALSE(valid_host("app.example.com:65536"));
}

TEST(UnderscoreFields, RemovedInOrder) {
  RequestHead head;
  ASSERT_EQ(parse_request_head("GET / HTTP/1.1\r\nHost: a\r\nX_Forwarded_For: 6.6.6.6\r\n"
                               "X-A: 1\r\n_: x\r\nX-B: 2\r\nX_Auth_User: root\r\n\r\n",
                               Limits{}, head)
                .status,
            ParseStatus::Complete);
  EXPECT_TRUE(has_underscore_field(head.fields));
  EXPECT_EQ(remove_underscore_fields(head.fields), 3u);
  ASSERT_EQ(head.fields.count, 3u);
  EXPECT_EQ(head.fields[0].name, "Host");
  EXPECT_EQ(head.fields[1].name, "X-A");
  EXPECT_EQ(head.fields[2].name, "X-B");
  EXPECT_FALSE(has_underscore_field(head.fields));
  EXPECT_EQ(remove_underscore_fields(head.fields), 0u);
}

TEST(AnalyzeResponse, Framing) {
  struct R {
    std::string raw;
    std::string method;
    Error error;
    BodyKind kind;
    bool persistent;
  };
  const std::vector<R> cases = {
      {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "GET", Error::None, BodyKind::Length, true},
      {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "HEAD", Error::None, BodyKind::None, true},
      {"HTTP/1.1 204 No Content\r\n\r\n", "GET", Error::None, BodyKind::None, true},
      {"HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", "GET", Error::None, BodyKind::None,
       true},
      {"HTTP/1.1 200 OK\r\n\r\n", "GET", Error::None, BodyKind::UntilClose, false},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "GET", Error::None,
       BodyKind::Chunked, true},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", "GET",
       Error::LengthWithChunked, BodyKind::None, true},
      {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", "GET",
       Error::DuplicateContentLength, BodyKind::None, true},
      {"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\n", "GET", Error::None, BodyKind::Length, false},
      {"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\n", "GET", Error::None,
       BodyKind::Length, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.raw);
    ResponseHead head;
    ASSERT_EQ(parse_response_head(c.raw, Limits{}, head).status, ParseStatus::Complete);
    ResponseInfo info;
    EXPECT_EQ(analyze_response(head, c.method, info), c.error);
    if (c.error == Error::None) {
      EXPECT_EQ(info.framing.kind, c.kind);
      EXPECT_EQ(info.persistent, c.persistent);
    }
  }
}

// is_hop_by_hop and the HopByHop object (Connection fields found once) must agree on every name.
void expect_hop(const Fields& fields, std::string_view name, bool want) {
  EXPECT_EQ(is_hop_by_hop(name, fields), want) << name;
  EXPECT_EQ(HopByHop(fields)(name), want) << name << " (HopByHop)";
}

TEST(HopByHop, FixedAndNamed) {
  RequestHead head;
  ASSERT_EQ(parse_request_head("GET / HTTP/1.1\r\nHost: a\r\nConnection: X-Secret, close\r\n\r\n",
                               Limits{}, head)
                .status,
            ParseStatus::Complete);
  for (const char* h : {"Connection", "keep-alive", "Proxy-Connection", "TE", "Trailer",
                        "Transfer-Encoding", "Upgrade", "x-secret"}) {
    expect_hop(head.fields, h, true);
  }
  // Names of the fixed ones' lengths that are not them, and prefixes of them.
  for (const char* h : {"Content-Length", "X-Secret2", "TX", "Trailed", "Upgrades", "Connectio",
                        "keep-alivf", "Transfer-Encodinh", "Host"}) {
    expect_hop(head.fields, h, false);
  }
  // No Connection field: only the fixed names.
  RequestHead plain;
  ASSERT_EQ(parse_request_head("GET / HTTP/1.1\r\nHost: a\r\nX-Secret: 1\r\n\r\n", Limits{}, plain)
                .status,
            ParseStatus::Complete);
  expect_hop(plain.fields, "x-secret", false);
  expect_hop(plain.fields, "te", true);
  // Every Connection field counts, however many there are (HopByHop keeps eight listed names
  // inline, then scans): each of 1, 4, 5 and 12 fields of two names, every name they list.
  for (int count : {1, 4, 5, 12}) {
    std::string many = "GET / HTTP/1.1\r\nHost: a\r\n";
    for (int i = 0; i < count; ++i) {
      many += "Connection: X-Opt-" + std::to_string(i) + " , x-other-" + std::to_string(i) + "\r\n";
    }
    RequestHead h2;
    ASSERT_EQ(parse_request_head(many + "\r\n", Limits{}, h2).status, ParseStatus::Complete);
    for (int i = 0; i < count; ++i) {
      expect_hop(h2.fields, "x-opt-" + std::to_string(i), true);
      expect_hop(h2.fields, "X-OTHER-" + std::to_string(i), true);
    }
    expect_hop(h2.fields, "x-opt-" + std::to_string(count), false);
  }
  // Nine names in one field, and empty elements between them.
  RequestHead nine;
  ASSERT_EQ(parse_request_head(
                "GET / HTTP/1.1\r\nHost: a\r\nConnection: a1,a2,,a3, a4 ,a5,a6,a7,a8,a9\r\n\r\n",
                Limits{}, nine)
                .status,
            ParseStatus::Complete);
  for (const char* h : {"a1", "A4", "a8", "a9"}) expect_hop(nine.fields, h, true);
  for (const char* h : {"a10", "", "a"}) expect_hop(nine.fields, h, false);
}

}  // namespace
}  // namespace portier::http
