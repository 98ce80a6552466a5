// Digest authentication: RFC 2617's worked example, the header parser, and full round trips
// through challenge() and check() with injected time.
#include "proxy/middlewares/digest.h"

#include <gtest/gtest.h>

namespace portier::proxy::mw {
namespace {

using namespace std::chrono_literals;
using Clock = DigestAuth::Clock;
using Outcome = DigestAuth::Outcome;

TEST(Digest, Rfc2617Example) {
  std::string ha1 = md5_hex("Mufasa:testrealm@host.com:Circle Of Life");
  EXPECT_EQ(ha1, "939e7578ed9e3c518a452acee763bce9");
  EXPECT_EQ(digest_response(ha1, "dcd98b7102dd2f0e8b11d0f600bfb0c093", "00000001", "0a4f113b",
                            "auth", "GET", "/dir/index.html"),
            "6629fae49393a05397450978507c4ef1");
  // Traefik's documentation: test:traefik:a2688e031edb4be6a3797f3882655c05 (password "test").
  EXPECT_EQ(md5_hex("test:traefik:test"), "a2688e031edb4be6a3797f3882655c05");
}

TEST(Digest, ParseAuthorization) {
  struct Case {
    std::string name, value;
    bool ok;
    std::string username, uri, nc, realm;
  };
  std::vector<Case> cases = {
      {"rfc example",
       R"(Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41")",
       true, "Mufasa", "/dir/index.html", "00000001", "testrealm@host.com"},
      {"scheme case-insensitive, no spaces", R"(digest username="a",uri="/x?a=1,2",nc=1)", true,
       "a", "/x?a=1,2", "1", ""},
      {"escapes in quoted strings", R"(Digest username="a\"b\\c", realm="r, with comma")", true,
       "a\"b\\c", "", "", "r, with comma"},
      {"unknown params ignored, last wins", R"(Digest foo=bar, username="x", username="y")", true,
       "y", "", "", ""},
      {"trailing comma", R"(Digest username="x",)", true, "x", "", "", ""},
      {"spaces around =", R"(Digest username = "x" , nc = 2)", true, "x", "", "2", ""},
      {"basic scheme", "Basic dGVzdDp0ZXN0", false},
      {"no params", "Digest", false},
      {"unterminated quote", R"(Digest username="x)", false},
      {"missing =", R"(Digest username "x")", false},
      {"junk after value", R"(Digest username="x" y)", false},
      {"dangling escape", "Digest username=\"x\\", false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = parse_digest_authorization(c.value);
    ASSERT_EQ(r.has_value(), c.ok);
    if (!r) continue;
    EXPECT_EQ(r->username, c.username);
    EXPECT_EQ(r->uri, c.uri);
    EXPECT_EQ(r->nc, c.nc);
    EXPECT_EQ(r->realm, c.realm);
  }
}

std::string param(const std::string& challenge, const std::string& name) {
  auto at = challenge.find(name + "=\"");
  if (at == std::string::npos) return "";
  at += name.size() + 2;
  return challenge.substr(at, challenge.find('"', at) - at);
}

// What a client sends for `password`.
std::string client_header(const std::string& user, const std::string& realm,
                          const std::string& password, const std::string& nonce,
                          const std::string& opaque, const std::string& uri,
                          const std::string& method = "GET", const std::string& extra = "") {
  std::string ha1 = md5_hex(user + ":" + realm + ":" + password);
  std::string resp = digest_response(ha1, nonce, "00000001", "c0ffee", "auth", method, uri);
  return "Digest username=\"" + user + "\", realm=\"" + realm + "\", nonce=\"" + nonce +
         "\", uri=\"" + uri + "\", qop=auth, nc=00000001, cnonce=\"c0ffee\", response=\"" + resp +
         "\", opaque=\"" + opaque + "\"" + extra;
}

TEST(Digest, ChallengeAndCheck) {
  const std::vector<unsigned char> key(32, 7);
  DigestAuth auth("traefik", key);
  Clock::time_point t0{100h};
  std::string challenge = auth.challenge(t0);
  EXPECT_EQ(challenge.rfind("Digest realm=\"traefik\", nonce=\"", 0), 0u) << challenge;
  EXPECT_NE(challenge.find("\", opaque=\"" + auth.opaque() + "\", algorithm=MD5, qop=\"auth\""),
            std::string::npos)
      << challenge;
  EXPECT_EQ(challenge.find("stale"), std::string::npos);
  EXPECT_NE(auth.challenge(t0, true).find(", stale=true, algorithm=MD5"), std::string::npos);

  std::string nonce = param(challenge, "nonce");
  std::string opaque = auth.opaque();
  UserMap users = {{"test:traefik", "a2688e031edb4be6a3797f3882655c05"},
                   {"test:otherrealm", md5_hex("test:otherrealm:other")}};
  std::string forged = nonce;
  forged[5] = forged[5] == 'A' ? 'B' : 'A';
  const std::vector<unsigned char> other_key(32, 8);
  DigestAuth other_process("traefik", other_key);
  DigestAuth other_realm("otherrealm", key);
  std::array<unsigned char, 8> rnd{};
  std::string future = auth.make_nonce(t0 + 1h, rnd);

  struct Case {
    std::string name;
    const DigestAuth* verifier;
    std::string header, method, target;
    Clock::time_point now;
    Outcome want;
  };
  std::vector<Case> cases = {
      {"ok", &auth, client_header("test", "traefik", "test", nonce, opaque, "/a?b=c"), "GET",
       "/a?b=c", t0 + 1s, Outcome::Ok},
      {"ok without algorithm, POST", &auth,
       client_header("test", "traefik", "test", nonce, opaque, "/", "POST"), "POST", "/", t0 + 1s,
       Outcome::Ok},
      {"algorithm MD5 given", &auth,
       client_header("test", "traefik", "test", nonce, opaque, "/", "GET", ", algorithm=MD5"),
       "GET", "/", t0, Outcome::Ok},
      {"algorithm SHA-256", &auth,
       client_header("test", "traefik", "test", nonce, opaque, "/", "GET", ", algorithm=SHA-256"),
       "GET", "/", t0, Outcome::Invalid},
      {"wrong password", &auth, client_header("test", "traefik", "nope", nonce, opaque, "/"), "GET",
       "/", t0, Outcome::Invalid},
      {"unknown user", &auth, client_header("who", "traefik", "test", nonce, opaque, "/"), "GET",
       "/", t0, Outcome::Invalid},
      {"method differs from the signed one", &auth,
       client_header("test", "traefik", "test", nonce, opaque, "/"), "DELETE", "/", t0,
       Outcome::Invalid},
      {"uri is not the request target", &auth,
       client_header("test", "traefik", "test", nonce, opaque, "/public"), "GET", "/admin", t0,
       Outcome::Invalid},
      {"uri a prefix of the target (go-http-auth accepts)", &auth,
       client_header("test", "traefik", "test", nonce, opaque, "/a"), "GET", "/a/b", t0,
       Outcome::Invalid},
      {"wrong opaque", &auth, client_header("test", "traefik", "test", nonce, "x", "/"), "GET", "/",
       t0, Outcome::Invalid},
      {"forged nonce", &auth, client_header("test", "traefik", "test", forged, opaque, "/"), "GET",
       "/", t0, Outcome::Invalid},
      {"nonce from the future", &auth,
       client_header("test", "traefik", "test", future, opaque, "/"), "GET", "/", t0,
       Outcome::Invalid},
      {"nonce of another process key", &other_process,
       client_header("test", "traefik", "test", nonce, other_process.opaque(), "/"), "GET", "/", t0,
       Outcome::Invalid},
      {"nonce of another realm", &other_realm,
       client_header("test", "otherrealm", "other", nonce, opaque, "/"), "GET", "/", t0,
       Outcome::Invalid},
      {"expired nonce, right password: stale", &auth,
       client_header("test", "traefik", "test", nonce, opaque, "/"), "GET", "/", t0 + 5min,
       Outcome::Stale},
      {"expired nonce, wrong password: invalid", &auth,
       client_header("test", "traefik", "bad", nonce, opaque, "/"), "GET", "/", t0 + 5min,
       Outcome::Invalid},
      {"just before expiry", &auth, client_header("test", "traefik", "test", nonce, opaque, "/"),
       "GET", "/", t0 + 5min - 1ms, Outcome::Ok},
      {"no header", &auth, "", "GET", "/", t0, Outcome::Missing},
      {"basic header", &auth, "Basic dGVzdDp0ZXN0", "GET", "/", t0, Outcome::Missing},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = c.verifier->check(c.header, c.method, c.target, users, c.now);
    EXPECT_EQ(r.outcome, c.want);
    if (c.want == Outcome::Ok) {
      EXPECT_EQ(r.username, "test");
      std::string rspauth = digest_response("a2688e031edb4be6a3797f3882655c05", nonce, "00000001",
                                            "c0ffee", "auth", "", c.target);
      EXPECT_EQ(r.authentication_info,
                "qop=auth, rspauth=\"" + rspauth + "\", cnonce=\"c0ffee\", nc=00000001");
    }
  }
}

TEST(Digest, WorkersShareNoncesThroughTheKey) {
  const std::vector<unsigned char> key(16, 42);
  DigestAuth worker1("traefik", key);
  DigestAuth worker2("traefik", key);
  EXPECT_EQ(worker1.opaque(), worker2.opaque());
  Clock::time_point t{1h};
  std::string nonce = param(worker1.challenge(t), "nonce");
  UserMap users = {{"test:traefik", "a2688e031edb4be6a3797f3882655c05"}};
  auto r = worker2.check(client_header("test", "traefik", "test", nonce, worker2.opaque(), "/"),
                         "GET", "/", users, t + 1s);
  EXPECT_EQ(r.outcome, Outcome::Ok);
  EXPECT_THROW(DigestAuth("r", std::vector<unsigned char>(15, 1)), std::invalid_argument);
}

}  // namespace
}  // namespace portier::proxy::mw
