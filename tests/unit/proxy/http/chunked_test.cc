// The chunked decoder, fed whole and one byte at a time, valid and malformed.
#include "proxy/http/chunked.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace portier::http {
namespace {

struct Decoded {
  std::string data;
  bool done = false;
  Error error = Error::None;
  std::size_t rest = 0;  // bytes after the body
};

Decoded decode(const std::string& in, std::size_t piece) {
  ChunkedDecoder d(64);
  Decoded out;
  std::size_t pos = 0;
  while (pos < in.size() && !out.done && out.error == Error::None) {
    std::string_view window = std::string_view(in).substr(pos, piece);
    std::size_t used = 0;
    while (used < window.size()) {
      auto s = d.feed(window.substr(used));
      out.data.append(s.data);
      used += s.consumed;
      if (s.error != Error::None) {
        out.error = s.error;
        break;
      }
      if (s.done) {
        out.done = true;
        break;
      }
      if (s.consumed == 0) break;
    }
    pos += used;
  }
  out.rest = in.size() - pos;
  return out;
}

struct Case {
  std::string name;
  std::string input;
  std::string data;
  Error error = Error::None;
  bool done = true;
  std::size_t rest = 0;
};

TEST(ChunkedDecoder, Table) {
  const std::vector<Case> cases = {
      {"one chunk", "5\r\nhello\r\n0\r\n\r\n", "hello"},
      {"two chunks", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world"},
      {"hex upper", "A\r\n0123456789\r\n0\r\n\r\n", "0123456789"},
      {"hex lower", "a\r\n0123456789\r\n0\r\n\r\n", "0123456789"},
      {"leading zeros", "005\r\nhello\r\n000\r\n\r\n", "hello"},
      {"extension", "5;name=value\r\nhello\r\n0;x\r\n\r\n", "hello"},
      {"quoted extension", "5;n=\"a;b\"\r\nhello\r\n0\r\n\r\n", "hello"},
      {"trailers", "5\r\nhello\r\n0\r\nX-Sum: 1\r\nY: 2\r\n\r\n", "hello"},
      {"bytes after the body stay", "1\r\na\r\n0\r\n\r\nGET /", "a", Error::None, true, 5},
      {"incomplete", "5\r\nhel", "hel", Error::None, false},
      {"no size", "\r\nhello\r\n0\r\n\r\n", "", Error::BadChunk, false},
      {"bad hex", "g\r\n", "", Error::BadChunk, false},
      {"negative", "-5\r\n", "", Error::BadChunk, false},
      {"space after size", "5 \r\nhello\r\n0\r\n\r\n", "", Error::BadChunk, false},
      {"size too large", "10000000000000000\r\n", "", Error::ChunkTooLarge, false},
      {"bare lf after size", "5\nhello\r\n0\r\n\r\n", "", Error::BadChunk, false},
      {"missing crlf after data", "5\r\nhelloX\r\n0\r\n\r\n", "hello", Error::BadChunk, false},
      {"lf only after data", "5\r\nhello\n0\r\n\r\n", "hello", Error::BadChunk, false},
      {"data longer than size", "3\r\nhello\r\n0\r\n\r\n", "hel", Error::BadChunk, false},
      {"ctl in extension", "5;\x01\r\nhello\r\n0\r\n\r\n", "", Error::BadChunk, false},
      {"bad trailer", "0\r\nno colon\r\n\r\n", "", Error::BadChunk, false},
      {"trailer bare lf", "0\r\nX: y\n\r\n", "", Error::BadChunk, false},
      {"trailers too large", "0\r\nX: " + std::string(100, 'a') + "\r\n\r\n", "",
       Error::TrailersTooLarge, false},
      {"final bare lf", "0\r\n\n", "", Error::BadChunk, false},
  };
  for (const auto& c : cases) {
    for (std::size_t piece : {std::size_t{1}, std::size_t{3}, c.input.size()}) {
      SCOPED_TRACE(c.name + " piece=" + std::to_string(piece));
      Decoded d = decode(c.input, piece);
      EXPECT_EQ(d.error, c.error) << describe(d.error);
      EXPECT_EQ(d.data, c.data);
      EXPECT_EQ(d.done, c.done);
      if (c.done) {
        EXPECT_EQ(d.rest, c.rest);
      }
    }
  }
}

TEST(ChunkedDecoder, LargeChunkSpansManyFeeds) {
  std::string body(100000, 'z');
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", body.size());
  std::string in = size + body + "\r\n0\r\n\r\n";
  Decoded d = decode(in, 4096);
  EXPECT_TRUE(d.done);
  EXPECT_EQ(d.data.size(), body.size());
}

}  // namespace
}  // namespace portier::http

namespace portier::http {
namespace {

// keep_trailers: the trailer section's field lines, exactly, however the input is split.
TEST(ChunkedDecoder, KeepsTrailerFieldsWhenAsked) {
  struct Case {
    std::string name, input, trailers;
  };
  const std::vector<Case> cases = {
      {"none", "3\r\nabc\r\n0\r\n\r\n", ""},
      {"one", "3\r\nabc\r\n0\r\ngrpc-status: 0\r\n\r\n", "grpc-status: 0\r\n"},
      {"two", "0\r\ngrpc-status: 2\r\ngrpc-message: no\tway\r\n\r\nNEXT",
       "grpc-status: 2\r\ngrpc-message: no\tway\r\n"},
  };
  for (const auto& c : cases) {
    for (std::size_t piece : {std::size_t{1}, std::size_t{4}, c.input.size()}) {
      SCOPED_TRACE(c.name + " piece=" + std::to_string(piece));
      ChunkedDecoder decoder;
      std::string kept;
      decoder.keep_trailers(&kept);
      std::size_t at = 0;
      bool done = false;
      while (at < c.input.size() && !done) {
        std::string_view in = std::string_view(c.input).substr(at, piece);
        while (!in.empty()) {
          auto step = decoder.feed(in);
          ASSERT_EQ(step.error, Error::None);
          at += step.consumed;
          in.remove_prefix(step.consumed);
          if (step.done) {
            done = true;
            break;
          }
          if (step.consumed == 0) break;
        }
      }
      EXPECT_TRUE(done);
      EXPECT_EQ(kept, c.trailers);
    }
  }
  // Not asked: nothing is kept anywhere (the default drops them, as before).
  ChunkedDecoder plain;
  EXPECT_TRUE(plain.feed("0\r\nx: y\r\n\r\n").done);
}

}  // namespace
}  // namespace portier::http
