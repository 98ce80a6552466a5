// The compress middleware's pieces: Accept-Encoding negotiation (Traefik's rules), media type
// matching, the encoders (checked with the libraries' own decoders), and the filter's decisions
// on response heads.
#include <gtest/gtest.h>

#include "proxy/middlewares/encoders.h"
#include "proxy/middlewares/filters.h"
#include "proxy/pipeline/chain_builder.h"
#include "support/decompress.h"

namespace portier::proxy::mw {
namespace {

using test::decompress;

TEST(Compress, ChoosesTheEncodingAsTraefik) {
  const std::vector<Encoding> all = {Encoding::Gzip, Encoding::Brotli, Encoding::Zstd};
  struct Case {
    std::vector<std::string_view> accept;
    std::vector<Encoding> encodings;
    std::optional<Encoding> default_encoding;
    std::optional<Encoding> want;
  };
  const std::vector<Case> cases = {
      {{}, all, std::nullopt, std::nullopt},                // no Accept-Encoding
      {{}, all, Encoding::Brotli, Encoding::Brotli},        // ... takes the default
      {{""}, all, Encoding::Brotli, std::nullopt},          // an empty one: identity
      {{"gzip"}, all, std::nullopt, Encoding::Gzip},
      {{"br"}, all, std::nullopt, Encoding::Brotli},
      {{"zstd"}, all, std::nullopt, Encoding::Zstd},
      {{"GZIP"}, all, std::nullopt, Encoding::Gzip},        // codings are case-insensitive
      {{"gzip, deflate, br, zstd"}, all, std::nullopt, Encoding::Gzip},  // ties: config order
      {{"gzip, br"}, {Encoding::Brotli, Encoding::Gzip}, std::nullopt, Encoding::Brotli},
      {{"gzip;q=0.5, br;q=0.8"}, all, std::nullopt, Encoding::Brotli},
      {{"gzip;q=0.5", "zstd;q=0.9"}, all, std::nullopt, Encoding::Zstd},  // two fields
      {{"gzip; q=1.0, br;q=0"}, all, std::nullopt, Encoding::Gzip},
      {{"br;q=0"}, all, std::nullopt, std::nullopt},        // refused
      {{"deflate, compress"}, all, std::nullopt, std::nullopt},
      {{"identity"}, all, std::nullopt, std::nullopt},
      {{"identity;q=0.5, gzip"}, all, std::nullopt, Encoding::Gzip},
      {{"gzip;q=0.5, identity"}, all, std::nullopt, std::nullopt},
      {{"*"}, all, std::nullopt, Encoding::Gzip},           // the first encoding
      {{"*"}, all, Encoding::Zstd, Encoding::Zstd},         // or the default
      {{"br, *"}, all, std::nullopt, Encoding::Gzip},       // `*` wins ties, as in Traefik
      {{"br;q=0.9, *;q=0.1"}, all, std::nullopt, Encoding::Brotli},
      {{"zstd"}, {Encoding::Gzip}, std::nullopt, std::nullopt},  // not offered
      {{"gzip;q=x"}, all, std::nullopt, std::nullopt},      // malformed q: as q=0
      {{"gzip;q=1.5"}, all, std::nullopt, std::nullopt},
  };
  for (const auto& c : cases) {
    std::string trace;
    for (auto a : c.accept) trace += "[" + std::string(a) + "]";
    SCOPED_TRACE(trace);
    EXPECT_EQ(choose_encoding(c.accept, c.encodings, c.default_encoding), c.want);
  }
}

TEST(Compress, MediaTypes) {
  struct Case {
    std::string config;
    std::string content_type;
    bool match;
  };
  const std::vector<Case> cases = {
      {"text/html", "text/html", true},
      {"text/html", "TEXT/HTML; charset=utf-8", true},
      {"text/html; charset=utf-8", "text/html; charset=UTF-8", true},
      {"text/html; charset=utf-8", "text/html", false},
      {"text/html; charset=utf-8", "text/html; charset=latin1", false},
      {"text/html", "text/plain", false},
      {"application/grpc", "application/grpc+proto", false},
      {"text/event-stream", "text/event-stream", true},
      {"text/html", "not a type", false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.config + " ~ " + c.content_type);
    auto m = parse_media_type(c.config);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->matches(c.content_type), c.match);
  }
  for (std::string bad : {"", "text", "/html", "text/", "text/html; charset", "te xt/html"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(parse_media_type(bad));
  }
}

// Compressible text with some variety, `n` bytes.
std::string text(std::size_t n) {
  std::string s;
  for (std::size_t i = 0; s.size() < n; ++i) {
    s += "line " + std::to_string(i) + ": the quick brown fox jumps over the lazy dog\n";
  }
  s.resize(n);
  return s;
}

TEST(Compress, EncodersRoundTripInPiecesWithFlushes) {
  using Mode = BodyTransform::Mode;
  const std::string body = text(300 * 1000);
  for (Encoding e : {Encoding::Gzip, Encoding::Brotli, Encoding::Zstd}) {
    for (std::uint64_t hint : {std::uint64_t{0}, std::uint64_t{body.size()}}) {
      SCOPED_TRACE(std::string(encoding_name(e)) + " hint " + std::to_string(hint));
      // Twice: the second run takes the first one's pooled context.
      for (int run = 0; run < 2; ++run) {
        auto enc = make_encoder(e, hint);
        ASSERT_TRUE(enc);
        std::string out;
        std::size_t flushed_in = 0;
        for (std::size_t off = 0; off < body.size(); off += 7000) {
          ASSERT_TRUE(enc->write(std::string_view(body).substr(off, 7000), Mode::Write, out));
          if (off % 70000 == 0) {
            // After a flush, everything so far decodes from what came out.
            ASSERT_TRUE(enc->write({}, Mode::Flush, out));
            flushed_in = std::min(body.size(), off + 7000);
            auto part = decompress(encoding_name(e), out, true);
            ASSERT_TRUE(part);
            ASSERT_EQ(part->size(), flushed_in);
            EXPECT_TRUE(*part == body.substr(0, flushed_in));
          }
        }
        ASSERT_TRUE(enc->write({}, Mode::Finish, out));
        EXPECT_LT(out.size(), body.size() / 5);
        auto whole = decompress(encoding_name(e), out);
        ASSERT_TRUE(whole);
        ASSERT_EQ(whole->size(), body.size());
        EXPECT_TRUE(*whole == body);
      }
    }
  }
}

TEST(Compress, EmptyBodyIsAValidStream) {
  for (Encoding e : {Encoding::Gzip, Encoding::Brotli, Encoding::Zstd}) {
    SCOPED_TRACE(std::string(encoding_name(e)));
    auto enc = make_encoder(e, 0);
    std::string out;
    ASSERT_TRUE(enc->write({}, BodyTransform::Mode::Finish, out));
    auto whole = decompress(encoding_name(e), out);
    ASSERT_TRUE(whole);
    EXPECT_EQ(*whole, "");
  }
}

TEST(Compress, OptionErrors) {
  struct Case {
    config::Compress c;
    std::string error;
  };
  auto with = [](auto f) {
    config::Compress c;
    f(c);
    return c;
  };
  const std::vector<Case> cases = {
      {config::Compress{}, ""},
      {with([](auto& c) { c.excluded_content_types = {"text/html"}; }), ""},
      {with([](auto& c) {
         c.excluded_content_types = {"text/html"};
         c.included_content_types = {"text/css"};
       }),
       "excludedContentTypes and includedContentTypes options are mutually exclusive"},
      {with([](auto& c) { c.encodings = {}; }), "at least one encoding must be specified"},
      {with([](auto& c) { c.encodings = {"gzip", "deflate"}; }), "unsupported encoding: deflate"},
      {with([](auto& c) { c.default_encoding = "br"; }), ""},
      {with([](auto& c) {
         c.encodings = {"gzip"};
         c.default_encoding = "br";
       }),
       "unsupported default encoding: br"},
      {with([](auto& c) { c.included_content_types = {"html"}; }),
       "includedContentTypes: `html` is not a media type"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.error);
    config::Middleware m;
    m.type = "compress";
    m.compress = c.c;
    const std::string err = middleware_error(m);
    if (c.error.empty()) {
      EXPECT_EQ(err, "");
    } else {
      EXPECT_NE(err.find(c.error), std::string::npos) << err;
    }
  }
}

// The filter's decisions, from a request's Accept-Encoding and a response head.
TEST(Compress, DecidesFromTheResponseHead) {
  config::Middleware m;
  m.type = "compress";
  m.compress.emplace();
  m.compress->excluded_content_types = {"image/png"};
  auto f = compress("gz@file", m, ChainContext{});
  ASSERT_TRUE(f && *f);
  struct Case {
    std::string name;
    std::string method = "GET";
    std::string accept = "gzip";
    int status = 200;
    std::vector<std::pair<std::string, std::string>> fields;
    bool compressed;
    bool vary;
  };
  const std::vector<Case> cases = {
      {"text, long enough", "GET", "gzip", 200, {{"Content-Type", "text/html"}, {"Content-Length", "5000"}}, true, true},
      {"no length: compressed", "GET", "gzip", 200, {{"Content-Type", "text/html"}}, true, true},
      {"short", "GET", "gzip", 200, {{"Content-Type", "text/html"}, {"Content-Length", "1023"}}, false, false},
      {"not asked: vary only", "GET", "identity", 200, {{"Content-Length", "5000"}}, false, true},
      {"encoded already", "GET", "gzip", 200, {{"Content-Encoding", "br"}}, false, false},
      {"range", "GET", "gzip", 206, {{"Content-Range", "bytes 0-9/100"}}, false, false},
      {"204", "GET", "gzip", 204, {}, false, false},
      {"304", "GET", "gzip", 304, {}, false, false},
      {"excluded type", "GET", "gzip", 200, {{"Content-Type", "image/png"}}, false, false},
      {"HEAD", "HEAD", "gzip", 200, {{"Content-Length", "5000"}}, false, false},
      {"vary already there", "GET", "gzip", 200, {{"Vary", "Origin, accept-encoding"}}, true, false},
      {"error status", "GET", "br", 500, {{"Content-Type", "text/html"}}, true, true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Stream s;
    http::Fields req;
    req.push({"Accept-Encoding", c.accept});
    s.fields = &req;
    s.method = c.method;
    ASSERT_EQ((*f)->on_request(s), Verdict::Continue);
    http::Fields resp;
    for (const auto& [n, v] : c.fields) resp.push({n, v});
    ResponseView view{c.status, &resp, nullptr};
    EXPECT_FALSE((*f)->on_response(s, view));
    EXPECT_EQ(!s.transforms.empty(), c.compressed);
    const HeaderEdit* ce = find_edit(s.response_edits, "Content-Encoding");
    EXPECT_EQ(ce != nullptr && !ce->value.empty(), c.compressed);
    if (c.compressed) {
      EXPECT_TRUE(replaces(s.response_edits, "Content-Length"));
    }
    bool vary = false;
    for (const auto& e : s.response_edits) vary |= e.name == "Vary" && e.value == "Accept-Encoding";
    EXPECT_EQ(vary, c.vary);
  }
  // A strong ETag becomes weak; a weak one stays.
  for (auto [etag, want] : {std::pair{"\"abc\"", "W/\"abc\""}, std::pair{"W/\"x\"", ""}}) {
    Stream s;
    http::Fields req;
    req.push({"Accept-Encoding", "gzip"});
    s.fields = &req;
    s.method = "GET";
    (*f)->on_request(s);
    http::Fields resp;
    resp.push({"ETag", etag});
    (*f)->on_response(s, ResponseView{200, &resp, nullptr});
    const HeaderEdit* e = find_edit(s.response_edits, "ETag");
    EXPECT_EQ(e ? e->value : "", want);
  }
}

}  // namespace
}  // namespace portier::proxy::mw
