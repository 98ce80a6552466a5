// The HTTP/1.1 head an HTTP/2 stream's fields become: what the request code and the server see,
// and what is refused before it can become something else on the way.
#include "entrypoints/h2_stream.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "proxy/http/message.h"
#include "proxy/http/parser.h"

namespace portier::entrypoints {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

struct Made {
  int status = 0;
  std::string head;
};

Made make(const Fields& fields, bool end_stream = true, std::size_t limit = 16384) {
  boost::asio::io_context io;
  H2Stream s(
      nullptr, 1, limit, io.get_executor(), [](void*) {}, nullptr);
  for (const auto& [n, v] : fields) s.add_field(n, v);
  Made m;
  m.status = s.headers_done(end_stream);
  m.head = std::string(s.pending_request());
  return m;
}

const Fields kGet = {
    {":method", "GET"}, {":scheme", "https"}, {":authority", "a.test"}, {":path", "/p?q=1"}};

TEST(H2Stream, FieldsBecomeAnHttp11HeadOurParserReadsBack) {
  Fields f = kGet;
  f.push_back({"x-foo", "bar"});
  f.push_back({"cookie", "a=1"});
  f.push_back({"accept-encoding", "gzip"});
  f.push_back({"cookie", "b=2"});
  Made m = make(f);
  ASSERT_EQ(m.status, 0);
  EXPECT_EQ(m.head,
            "GET /p?q=1 HTTP/1.1\r\nhost: a.test\r\nX-Foo: bar\r\nAccept-Encoding: gzip\r\n"
            "Cookie: a=1; b=2\r\n\r\n");
  http::RequestHead head;
  auto pr = http::parse_request_head(m.head, http::Limits{}, head);
  ASSERT_EQ(pr.status, http::ParseStatus::Complete);
  EXPECT_EQ(pr.head_size, m.head.size());
  http::RequestInfo info;
  ASSERT_EQ(http::analyze_request(head, info), http::Error::None);
  EXPECT_EQ(info.host, "a.test");
  EXPECT_EQ(info.framing.kind, http::BodyKind::None);
}

TEST(H2Stream, BodyFramingFollowsContentLengthOrIsChunked) {
  Made without = make(kGet, false);
  EXPECT_NE(without.head.find("transfer-encoding: chunked\r\n"), std::string::npos);
  Fields with = kGet;
  with.push_back({"content-length", "5"});
  Made m = make(with, false);
  EXPECT_EQ(m.head.find("transfer-encoding"), std::string::npos);
  EXPECT_NE(m.head.find("Content-Length: 5\r\n"), std::string::npos);
}

TEST(H2Stream, AuthorityWinsOverHostAndHostAloneWorks) {
  Fields both = kGet;
  both.push_back({"host", "other.test"});
  EXPECT_NE(make(both).head.find("host: a.test\r\n"), std::string::npos);
  EXPECT_EQ(make(both).head.find("other.test"), std::string::npos);
  Fields host_only = {{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {"host", "h.test"}};
  EXPECT_NE(make(host_only).head.find("host: h.test\r\n"), std::string::npos);
}

TEST(H2Stream, WhatCouldSmuggleIsRefused) {
  // nghttp2 refuses these first; the stream refuses them again, as its head is HTTP/1.1.
  const std::vector<std::pair<Fields, int>> cases = {
      {{{"x-a", "1\r\nx-injected: yes"}}, 400},
      {{{"x-a", std::string("a\0b", 3)}}, 400},
      {{{"x-a", "line\nbreak"}}, 400},
      {{{"bad:name", "v"}}, 400},
      {{{"bad name", "v"}}, 400},
      {{{"x-big", std::string(20000, 'x')}}, 431},
  };
  for (const auto& [extra, status] : cases) {
    Fields f = kGet;
    f.insert(f.end(), extra.begin(), extra.end());
    Made m = make(f);
    EXPECT_EQ(m.status, status) << extra[0].first;
    EXPECT_TRUE(m.head.empty());
  }
  EXPECT_EQ(make({{":scheme", "https"}, {":path", "/"}}).status, 400);  // no :method
}

// Every byte, at the start, in the middle and at the end of a name and of a value: refused
// exactly when it would end or split the HTTP/1.1 field line.
TEST(H2Stream, EveryByteThatBreaksAFieldLineIsRefusedWhereverItIs) {
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    const bool breaks_line = c == '\r' || c == '\n' || c == '\0';
    const bool breaks_name = breaks_line || c == ':' || c == ' ';
    for (const std::string& value :
         {std::string(1, c) + "abcdefghij", "abcde" + std::string(1, c) + "fghij",
          "abcdefghij" + std::string(1, c)}) {
      Fields f = kGet;
      f.emplace_back("x-v", value);
      EXPECT_EQ(make(f).status == 400, breaks_line) << "value byte " << b;
    }
    for (const std::string& name :
         {"x-" + std::string(1, c) + "-name-long", "x-name-long" + std::string(1, c)}) {
      Fields f = kGet;
      f.emplace_back(name, "v");
      EXPECT_EQ(make(f).status == 400, breaks_name) << "name byte " << b;
    }
  }
}

}  // namespace
}  // namespace portier::entrypoints
