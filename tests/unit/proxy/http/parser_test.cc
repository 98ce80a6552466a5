// Table-driven tests of the request and response head parser: valid messages and hostile ones.
#include "proxy/http/parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace portier::http {
namespace {

struct Case {
  std::string name;
  std::string input;
  ParseStatus status;
  Error error = Error::None;
};

TEST(RequestParser, Table) {
  const std::vector<Case> cases = {
      {"simple get", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", ParseStatus::Complete},
      {"http/1.0 without host", "GET / HTTP/1.0\r\n\r\n", ParseStatus::Complete},
      {"leading empty line", "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", ParseStatus::Complete},
      {"absolute form", "GET http://a/b?c HTTP/1.1\r\nHost: a\r\n\r\n", ParseStatus::Complete},
      {"asterisk options", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", ParseStatus::Complete},
      {"asterisk get", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", ParseStatus::Failed, Error::BadTarget},
      {"value with tabs and obs-text", "GET / HTTP/1.1\r\nHost: a\r\nX: \t\xe9t\xe9 \t\r\n\r\n",
       ParseStatus::Complete},
      {"empty value", "GET / HTTP/1.1\r\nHost: a\r\nX:\r\n\r\n", ParseStatus::Complete},
      {"partial request line", "GET / HT", ParseStatus::Partial},
      {"partial method", "GE", ParseStatus::Partial},
      {"partial fields", "GET / HTTP/1.1\r\nHost: a\r\n", ParseStatus::Partial},
      {"partial final cr", "GET / HTTP/1.1\r\nHost: a\r\n\r", ParseStatus::Partial},
      {"bare lf after request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", ParseStatus::Failed,
       Error::BareLineEnd},
      {"bare lf after field", "GET / HTTP/1.1\r\nHost: a\n\r\n", ParseStatus::Failed,
       Error::BareLineEnd},
      {"bare lf as end of head", "GET / HTTP/1.1\r\nHost: a\r\n\n", ParseStatus::Failed,
       Error::BareLineEnd},
      {"bare cr inside value", "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", ParseStatus::Failed,
       Error::BareLineEnd},
      {"bare cr in request line", "GET /\r HTTP/1.1\r\n\r\n", ParseStatus::Failed,
       Error::BadTarget},
      {"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", ParseStatus::Failed,
       Error::ObsFold},
      {"obs-fold tab", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n", ParseStatus::Failed,
       Error::ObsFold},
      {"space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", ParseStatus::Failed,
       Error::SpaceBeforeColon},
      {"tab before colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", ParseStatus::Failed,
       Error::SpaceBeforeColon},
      {"space in field name", "GET / HTTP/1.1\r\nX Y: a\r\n\r\n", ParseStatus::Failed,
       Error::SpaceBeforeColon},
      {"empty field name", "GET / HTTP/1.1\r\n: a\r\n\r\n", ParseStatus::Failed,
       Error::BadFieldName},
      {"field without colon", "GET / HTTP/1.1\r\nHost\r\n\r\n", ParseStatus::Failed,
       Error::BadFieldName},
      {"non-token in name", "GET / HTTP/1.1\r\nX@Y: a\r\n\r\n", ParseStatus::Failed,
       Error::BadFieldName},
      {"nul in value", std::string("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", 26), ParseStatus::Failed,
       Error::BadFieldValue},
      {"del in value", "GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n", ParseStatus::Failed,
       Error::BadFieldValue},
      {"first field line starts with space", "GET / HTTP/1.1\r\n Host: a\r\n\r\n",
       ParseStatus::Failed, Error::BadFieldName},
      {"lowercase version", "GET / http/1.1\r\n\r\n", ParseStatus::Failed, Error::BadVersion},
      {"http/2.0", "GET / HTTP/2.0\r\n\r\n", ParseStatus::Failed, Error::UnsupportedVersion},
      {"http/1.2", "GET / HTTP/1.2\r\n\r\n", ParseStatus::Failed, Error::UnsupportedVersion},
      {"http/0.9 style", "GET /\r\n\r\n", ParseStatus::Failed, Error::BadTarget},
      {"two spaces after method", "GET  / HTTP/1.1\r\n\r\n", ParseStatus::Failed, Error::BadTarget},
      {"space in target", "GET /a b HTTP/1.1\r\n\r\n", ParseStatus::Failed, Error::BadVersion},
      {"tab after method", "GET\t/ HTTP/1.1\r\n\r\n", ParseStatus::Failed, Error::BadMethod},
      {"non-token method", "G(T / HTTP/1.1\r\n\r\n", ParseStatus::Failed, Error::BadMethod},
      {"relative target", "GET a HTTP/1.1\r\n\r\n", ParseStatus::Failed, Error::BadTarget},
      {"control char in target", "GET /\x01 HTTP/1.1\r\n\r\n", ParseStatus::Failed,
       Error::BadTarget},
      {"trailing space after version", "GET / HTTP/1.1 \r\n\r\n", ParseStatus::Failed,
       Error::BadVersion},
      {"lf only request line", "GET / HTTP/1.1\n\n", ParseStatus::Failed, Error::BareLineEnd},
      {"leading space", " GET / HTTP/1.1\r\n\r\n", ParseStatus::Failed, Error::BadRequestLine},
      {"leading lf", "\nGET / HTTP/1.1\r\n\r\n", ParseStatus::Failed, Error::BareLineEnd},
      // Field lines at the edges of the parser's one-pass path (a whole line in the buffer) and
      // the general one it falls back to.
      {"field cut after its cr", "GET / HTTP/1.1\r\nHost: a\r", ParseStatus::Partial},
      {"field cut in its value", "GET / HTTP/1.1\r\nHost: a\r\nX: b", ParseStatus::Partial},
      {"field cut after its colon", "GET / HTTP/1.1\r\nHost:", ParseStatus::Partial},
      {"field cut in its name", "GET / HTTP/1.1\r\nHos", ParseStatus::Partial},
      {"bare cr before the line's crlf", "GET / HTTP/1.1\r\nHost: a\r\r\n\r\n", ParseStatus::Failed,
       Error::BareLineEnd},
      {"cr then a letter at the buffer's end", "GET / HTTP/1.1\r\nHost: a\rb", ParseStatus::Failed,
       Error::BareLineEnd},
      {"del in a cut value", "GET / HTTP/1.1\r\nX: a\x7f", ParseStatus::Partial},
      {"value of every obs-text byte", "GET / HTTP/1.1\r\nHost: a\r\nX: \x80\xff\xa0\r\n\r\n",
       ParseStatus::Complete},
  };
  Limits limits;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    RequestHead head;
    ParseResult r = parse_request_head(c.input, limits, head);
    EXPECT_EQ(r.status, c.status);
    EXPECT_EQ(r.error, c.error) << describe(r.error);
    if (c.status == ParseStatus::Complete) {
      EXPECT_EQ(r.head_size, c.input.size());
    }
  }
}

TEST(RequestParser, FieldsAreViewsIntoTheBuffer) {
  const std::string in =
      "POST /up?x=1 HTTP/1.1\r\nHost: example.com\r\nX-Thing:   spaced value  \r\n\r\nBODY";
  RequestHead head;
  ParseResult r = parse_request_head(in, Limits{}, head);
  ASSERT_EQ(r.status, ParseStatus::Complete);
  EXPECT_EQ(r.head_size, in.size() - 4);
  EXPECT_EQ(head.method, "POST");
  EXPECT_EQ(head.target, "/up?x=1");
  EXPECT_EQ(head.version_minor, 1);
  ASSERT_EQ(head.fields.count, 2u);
  EXPECT_EQ(head.fields[1].name, "X-Thing");
  EXPECT_EQ(head.fields[1].value, "spaced value");
  EXPECT_GE(head.method.data(), in.data());
  EXPECT_LT(head.fields[1].value.data(), in.data() + in.size());
  ASSERT_NE(head.fields.find("x-thing"), nullptr);
  EXPECT_EQ(head.fields.find("missing"), nullptr);
}

TEST(RequestParser, Limits) {
  Limits limits;
  limits.max_head_bytes = 1024;
  limits.max_target = 100;
  RequestHead head;
  std::string long_target = "GET /" + std::string(200, 'a') + " HTTP/1.1\r\n\r\n";
  EXPECT_EQ(parse_request_head(long_target, limits, head).error, Error::TargetTooLong);
  // The target limit applies before the line is complete, so a slow sender cannot grow it.
  EXPECT_EQ(parse_request_head("GET /" + std::string(150, 'a'), limits, head).error,
            Error::TargetTooLong);
  std::string big = "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(2000, 'b') + "\r\n\r\n";
  EXPECT_EQ(parse_request_head(big, limits, head).error, Error::HeadTooLarge);
  // Partial heads over the limit fail too (no unbounded waiting for the end).
  EXPECT_EQ(parse_request_head(big.substr(0, 1500), limits, head).error, Error::HeadTooLarge);
  std::string many = "GET / HTTP/1.1\r\n";
  for (std::size_t i = 0; i <= kMaxFields; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
  many += "\r\n";
  Limits roomy;
  roomy.max_head_bytes = 64 * 1024;
  EXPECT_EQ(parse_request_head(many, roomy, head).error, Error::TooManyFields);
  EXPECT_EQ(status_for(Error::TooManyFields), 431);
  EXPECT_EQ(status_for(Error::TargetTooLong), 414);
  EXPECT_EQ(status_for(Error::HeadTooLarge), 431);
}

// Fields past the 32 held inline move to an array made for them; a head parsed into the same
// object later (fewer fields) reads right, and so does a copy.
TEST(RequestParser, HeadsWithManyFieldsKeepEveryFieldInOrder) {
  Limits roomy;
  roomy.max_head_bytes = 64 * 1024;
  RequestHead head;
  for (std::size_t n : {std::size_t{3}, Fields::kInline, Fields::kInline + 1, kMaxFields,
                        std::size_t{5}, Fields::kInline + 7}) {
    SCOPED_TRACE(n);
    std::string in = "GET / HTTP/1.1\r\nHost: h\r\n";
    for (std::size_t i = 1; i < n; ++i)
      in += "X-" + std::to_string(i) + ": v" + std::to_string(i) + "\r\n";
    in += "\r\n";
    ASSERT_EQ(parse_request_head(in, roomy, head).status, ParseStatus::Complete);
    ASSERT_EQ(head.fields.count, n);
    EXPECT_EQ(head.fields[0].name, "Host");
    for (std::size_t i = 1; i < n; ++i) {
      ASSERT_EQ(head.fields[i].name, "X-" + std::to_string(i));
      ASSERT_EQ(head.fields[i].value, "v" + std::to_string(i));
    }
    std::size_t seen = 0;
    for (const Field& f : head.fields) seen += f.name.empty() ? 0 : 1;
    EXPECT_EQ(seen, n);
    ASSERT_NE(head.fields.find("x-" + std::to_string(n - 1)), nullptr);
    const Fields copy = head.fields;
    ASSERT_EQ(copy.count, n);
    EXPECT_EQ(copy[n - 1].value, head.fields[n - 1].value);
    EXPECT_NE(copy.begin(), head.fields.begin());
  }
}

TEST(RequestParser, EveryPrefixOfAValidRequestIsPartial) {
  const std::string in =
      "PUT /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: x\r\n\r\n";
  for (std::size_t n = 0; n < in.size(); ++n) {
    SCOPED_TRACE(n);
    RequestHead head;
    EXPECT_EQ(parse_request_head(in.substr(0, n), Limits{}, head).status, ParseStatus::Partial);
  }
}

// Each byte at each place of a 20-byte value (the word-at-a-time scan's groups and the tail):
// a field-value character is kept, anything else fails the head, in requests and responses.
TEST(RequestParser, EveryByteAtEveryPlaceOfAValue) {
  for (int b = 0; b < 256; ++b) {
    const char ch = static_cast<char>(b);
    const bool allowed = ch == '\t' || (b >= 0x20 && b != 0x7f);
    for (std::size_t at = 0; at < 20; ++at) {
      std::string value(20, 'v');
      value[at] = ch;
      std::string expect = value;
      if (ch == ' ' || ch == '\t') {  // optional whitespace around the value is not part of it
        if (at == 0) expect.erase(0, 1);
        if (at == 19) expect.pop_back();
      }
      RequestHead req;
      const std::string in = "GET / HTTP/1.1\r\nHost: h\r\nX-V: " + value + "\r\nX-W: w\r\n\r\n";
      const ParseResult r = parse_request_head(in, Limits{}, req);
      ASSERT_EQ(r.status, allowed ? ParseStatus::Complete : ParseStatus::Failed)
          << "byte " << b << " at " << at;
      if (allowed) {
        ASSERT_EQ(req.fields.count, 3u);
        EXPECT_EQ(req.fields[1].value, expect) << "byte " << b << " at " << at;
        EXPECT_EQ(req.fields[2].value, "w");
      }
      ResponseHead resp;
      const std::string out = "HTTP/1.1 200 OK\r\nX-V: " + value + "\r\n\r\n";
      ASSERT_EQ(parse_response_head(out, Limits{}, resp).status,
                allowed ? ParseStatus::Complete : ParseStatus::Failed)
          << "byte " << b << " at " << at;
    }
  }
}

TEST(ResponseParser, Table) {
  const std::vector<Case> cases = {
      {"ok", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", ParseStatus::Complete},
      {"empty reason", "HTTP/1.1 204 \r\n\r\n", ParseStatus::Complete},
      {"no reason no space", "HTTP/1.1 204\r\n\r\n", ParseStatus::Complete},
      {"http/1.0", "HTTP/1.0 200 OK\r\n\r\n", ParseStatus::Complete},
      {"partial", "HTTP/1.1 200 OK\r\nX: y", ParseStatus::Partial},
      {"two digit status", "HTTP/1.1 20 OK\r\n\r\n", ParseStatus::Failed, Error::BadStatusLine},
      {"status 099", "HTTP/1.1 099 X\r\n\r\n", ParseStatus::Failed, Error::BadStatusLine},
      {"letters in status", "HTTP/1.1 2x0 OK\r\n\r\n", ParseStatus::Failed, Error::BadStatusLine},
      {"bad version", "HTTP/2 200 OK\r\n\r\n", ParseStatus::Failed, Error::BadStatusLine},
      {"bare lf", "HTTP/1.1 200 OK\n\r\n", ParseStatus::Failed, Error::BadStatusLine},
      {"obs-fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", ParseStatus::Failed, Error::ObsFold},
      {"space before colon", "HTTP/1.1 200 OK\r\nX : a\r\n\r\n", ParseStatus::Failed,
       Error::SpaceBeforeColon},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    ResponseHead head;
    ParseResult r = parse_response_head(c.input, Limits{}, head);
    EXPECT_EQ(r.status, c.status);
    EXPECT_EQ(r.error, c.error) << describe(r.error);
  }
  ResponseHead head;
  ASSERT_EQ(parse_response_head("HTTP/1.1 404 Not Found\r\n\r\n", Limits{}, head).status,
            ParseStatus::Complete);
  EXPECT_EQ(head.status, 404);
  EXPECT_EQ(head.reason, "Not Found");
}

TEST(Iequals, Basics) {
  EXPECT_TRUE(iequals("Content-Length", "content-length"));
  EXPECT_FALSE(iequals("Content-Length", "content-lengt"));
  // '@' (0x40) and '`' (0x60) differ only in bit 0x20 but are not letters.
  EXPECT_FALSE(iequals("@", "`"));
  EXPECT_FALSE(iequals("[", "{"));
}

// Every pair of bytes, at the start, middle and end of names of lengths either side of the
// eight-byte words, against the byte-by-byte definition.
TEST(Iequals, EveryPairOfBytesAgreesWithTheDefinition) {
  auto reference = [](unsigned char x, unsigned char y) {
    auto fold = [](unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; };
    return fold(x) == fold(y);
  };
  std::size_t wrong = 0;
  for (std::size_t len : {1u, 7u, 8u, 9u, 13u, 16u, 20u}) {
    for (std::size_t at : {std::size_t{0}, len / 2, len - 1}) {
      std::string a(len, 'k'), b(len, 'K');
      for (int x = 0; x < 256; ++x) {
        for (int y = 0; y < 256; ++y) {
          a[at] = static_cast<char>(x);
          b[at] = static_cast<char>(y);
          const bool want = reference(static_cast<unsigned char>(x), static_cast<unsigned char>(y));
          if (iequals(a, b) != want && ++wrong <= 5) {
            ADD_FAILURE() << "len " << len << " at " << at << ": " << x << " vs " << y;
          }
        }
      }
    }
  }
  EXPECT_EQ(wrong, 0u);
  EXPECT_FALSE(iequals("X-Forwarded-For", "X-Forwarded-Fos"));
  EXPECT_TRUE(iequals("x-forwarded-for", "X-FORWARDED-FOR"));
}

}  // namespace
}  // namespace portier::http
