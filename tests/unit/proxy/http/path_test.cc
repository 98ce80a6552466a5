// Request paths as routed and forwarded: escapes of unreserved characters decoded, refused escapes
// a 400, dot segments and empty segments removed (Traefik v3's normalizePath, encodedCharacters
// and sanitizePath).
#include "proxy/http/path.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace portier::http {
namespace {

struct Case {
  std::string raw;
  std::string want;  // the normalized path when error is None
  Error error = Error::None;
  PathPolicy policy = {};
};

constexpr PathPolicy kAllowAll{0, true};
constexpr PathPolicy kNoSanitize{encoded::kAll, false};

TEST(NormalizePath, Table) {
  const std::vector<Case> cases = {
      // The bypasses of PathPrefix(`/public`).
      {"/public/../admin", "/admin"},
      {"/public/./../admin", "/admin"},
      {"/public/%2e%2e/admin", "/admin"},
      {"/public/%2E%2E/admin", "/admin"},
      {"/public/.%2e/admin", "/admin"},
      {"/public/..%2Fadmin", "", Error::EncodedCharacter},
      {"/public%2F..%2Fadmin", "", Error::EncodedCharacter},
      // Allowed, an encoded slash is not a separator: no climb, and it stays encoded.
      {"/public%2F..%2Fadmin", "/public%2F..%2Fadmin", Error::None, kAllowAll},
      {"/public/..%2fadmin", "/public/..%2Fadmin", Error::None, kAllowAll},
      // Go's path.Clean, with the trailing slash kept (Traefik's sanitizePath examples).
      {"/./foo/bar", "/foo/bar"},
      {"/foo/../bar", "/bar"},
      {"/foo/bar//", "/foo/bar/"},
      {"/./foo/../bar//", "/bar/"},
      {"//a///b", "/a/b"},
      {"/a/.", "/a"},
      {"/a/..", "/"},
      {"/a/b/../", "/a/"},
      {"/..", "/"},
      {"/../../etc/passwd", "/etc/passwd"},
      {"/a/../../b", "/b"},
      {"/.", "/"},
      {"//", "/"},
      {"", "/"},
      // Not dot segments.
      {"/.well-known/x", "/.well-known/x"},
      {"/a/..b/c.", "/a/..b/c."},
      {"/a/...", "/a/..."},
      // Escapes: unreserved decoded, others kept in upper case, refused ones per policy.
      {"/%41%7e%2D%5f", "/A~-_"},
      {"/caf%c3%a9", "/caf%C3%A9"},
      {"/a%20b", "/a%20b"},
      {"/a%2", "", Error::BadPercentEncoding},
      {"/a%", "", Error::BadPercentEncoding},
      {"/a%zz", "", Error::BadPercentEncoding},
      {"/a%5Cb", "", Error::EncodedCharacter},
      {"/a%5cb", "", Error::EncodedCharacter},
      {"/a%00b", "", Error::EncodedCharacter},
      {"/a%3Bb", "", Error::EncodedCharacter},
      {"/a%25b", "", Error::EncodedCharacter},
      {"/a%3fb", "", Error::EncodedCharacter},
      {"/a%23b", "", Error::EncodedCharacter},
      {"/a%5C%00%3B%25%3F%23", "/a%5C%00%3B%25%3F%23", Error::None, kAllowAll},
      {"/a%252e%252e/b", "/a%252e%252e/b", Error::None, kAllowAll},  // decoded once, no more
      {"/a#frag", "", Error::FragmentInTarget},
      // Only the refused character's own bit counts.
      {"/a%2Fb", "/a%2Fb", Error::None, PathPolicy{encoded::kAll & ~encoded::kSlash, true}},
      {"/a%2Fb%3B", "", Error::EncodedCharacter,
       PathPolicy{encoded::kAll & ~encoded::kSlash, true}},
      // sanitizePath: false keeps segments but still normalizes and checks escapes.
      {"/public/../admin", "/public/../admin", Error::None, kNoSanitize},
      {"/public/%2e%2e//admin", "/public/..//admin", Error::None, kNoSanitize},
      {"/a%2Fb", "", Error::EncodedCharacter, kNoSanitize},
  };
  std::string scratch;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.raw);
    PathResult r = normalize_path(c.raw, c.policy, scratch);
    EXPECT_EQ(r.error, c.error) << describe(r.error);
    if (c.error == Error::None) {
      EXPECT_EQ(r.path, c.want);
    }
  }
}

TEST(NormalizePath, CommonPathsAreReturnedAsIs) {
  // No copy: the view is the input itself.
  for (std::string raw : {"/", "/api/v1/users", "/a.b/c-d_e~f/", "/.well-known/acme-challenge/t",
                          "/a..", "/static/app.min.js"}) {
    SCOPED_TRACE(raw);
    std::string scratch;
    PathResult r = normalize_path(raw, PathPolicy{}, scratch);
    EXPECT_EQ(r.error, Error::None);
    EXPECT_EQ(r.path.data(), raw.data());
    EXPECT_EQ(r.path.size(), raw.size());
  }
}

}  // namespace
}  // namespace portier::http
