// The pure parts of forwardAuth and errors, against Traefik's behaviour.
#include "proxy/middlewares/subrequest_parts.h"

#include <gtest/gtest.h>

#include "proxy/subrequest.h"

namespace portier::proxy::mw {
namespace {

TEST(SubrequestParts, StatusRanges) {
  struct Case {
    std::vector<std::string> specs;
    bool ok;
    StatusRanges want;
  };
  const std::vector<Case> cases = {
      {{"500-599"}, true, {{500, 599}}},
      {{"404"}, true, {{404, 404}}},
      {{"400-404", "500"}, true, {{400, 404}, {500, 500}}},
      {{"500-599-600"}, true, {{500, 599}}},  // Traefik reads the first two parts
      {{"abc"}, false, {}},
      {{"500-"}, false, {}},
      {{""}, false, {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.specs.front());
    auto r = parse_status_ranges(c.specs);
    ASSERT_EQ(r.has_value(), c.ok);
    if (c.ok) {
      EXPECT_EQ(*r, c.want);
    }
  }
  const StatusRanges ranges = {{500, 599}, {404, 404}};
  EXPECT_TRUE(in_ranges(ranges, 500));
  EXPECT_TRUE(in_ranges(ranges, 599));
  EXPECT_TRUE(in_ranges(ranges, 404));
  EXPECT_FALSE(in_ranges(ranges, 403));
  EXPECT_FALSE(in_ranges(ranges, 600));
}

TEST(SubrequestParts, ErrorPageTarget) {
  struct Case {
    std::string query;
    std::string want;
  };
  const std::string url = query_escape("http://a.example/p?q=1 2");
  EXPECT_EQ(url, "http%3A%2F%2Fa.example%2Fp%3Fq%3D1+2");
  const std::vector<Case> cases = {
      {"", "/"},
      {"/", "/"},
      {"/{status}.html", "/503.html"},
      {"errors/{status}", "/errors/503"},
      {"//double", "//double"},
      {"/e?s={status}&o={originalStatus}&u={url}",
       "/e?s=503&o=500&u=http%3A%2F%2Fa.example%2Fp%3Fq%3D1+2"},
      {"/{status}{status}", "/503503"},
      {"/{unknown}", "/{unknown}"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.query);
    EXPECT_EQ(error_page_target(c.query, 503, 500, url), c.want);
  }
}

TEST(SubrequestParts, ParseUrl) {
  auto u = parse_http_url("http://auth.example:9091/api/verify?rd=x#frag");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->host, "auth.example");
  EXPECT_EQ(u->port, "9091");
  EXPECT_EQ(u->authority, "auth.example:9091");
  EXPECT_EQ(u->path, "/api/verify");
  EXPECT_EQ(u->query, "?rd=x");
  auto v6 = parse_http_url("HTTPS://[::1]");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->scheme, "https");
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, "443");
  EXPECT_EQ(v6->path, "/");
  for (const char* bad : {"auth:80", "ftp://x/", "http://", "http://u:p@h/", "http://h:0/",
                          "http://h:99999/", "http://[::1/"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(parse_http_url(bad));
  }
}

TEST(SubrequestParts, ResolveLocation) {
  auto base = parse_http_url("http://auth:9091/api/verify?x=1");
  ASSERT_TRUE(base);
  struct Case {
    std::string ref;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"https://login.example/?rd=1", "https://login.example/?rd=1"},
      {"//other/x", "http://other/x"},
      {"/login?rd=back", "http://auth:9091/login?rd=back"},
      {"login", "http://auth:9091/api/login"},
      {"../login", "http://auth:9091/login"},
      {"./a/../b", "http://auth:9091/api/b"},
      {"?y=2", "http://auth:9091/api/verify?y=2"},
      {"#f", "http://auth:9091/api/verify?x=1#f"},
      {"/a/./b/../../c", "http://auth:9091/c"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.ref);
    EXPECT_EQ(resolve_reference(*base, c.ref), c.want);
  }
}

TEST(SubrequestParts, NamesAndCookies) {
  EXPECT_EQ(canonical_key("remote-user"), "Remote-User");
  EXPECT_EQ(canonical_key("X-FORWARDED-FOR"), "X-Forwarded-For");
  EXPECT_EQ(canonical_key("bad name"), "bad name");
  EXPECT_TRUE(is_managed_x_header("x-forwarded-proto"));
  EXPECT_TRUE(is_managed_x_header("X_Forwarded_For"));
  EXPECT_TRUE(is_managed_x_header("X-Real-Ip"));
  EXPECT_FALSE(is_managed_x_header("X-Forwarded-Something"));
  EXPECT_FALSE(is_managed_x_header("Remote-User"));
  EXPECT_EQ(cookie_name("auth_session=fresh; Path=/"), "auth_session");
  EXPECT_EQ(cookie_name(" a = b"), "a");
  EXPECT_EQ(cookie_name("novalue"), "");
}


TEST(SubrequestParts, AuthRequestFieldsPerTrustMode) {
  const FieldList in = {{"Accept", "*/*"},
                        {"X-Forwarded-For", "10.0.0.1"},
                        {"X-Forwarded-Proto", "https"},
                        {"X-Forwarded-Prefix", "/api"},
                        {"X-Real-Ip", "10.0.0.1"}};
  const AuthRequestInfo info{"POST", "app.example:8443", "/p?q", "127.0.0.9", false};
  auto get = [](const FieldList& f, const std::string& n) -> std::string {
    for (const auto& [k, v] : f) {
      if (k == n) return v;
    }
    return "<absent>";
  };
  // trustForwardHeader: true keeps the client's and appends the peer to X-Forwarded-For.
  auto trust = auth_request_fields(in, TrustForward::Trust, {}, info);
  EXPECT_EQ(get(trust, "X-Forwarded-For"), "10.0.0.1, 127.0.0.9");
  EXPECT_EQ(get(trust, "X-Forwarded-Proto"), "https");
  EXPECT_EQ(get(trust, "X-Forwarded-Prefix"), "/api");
  EXPECT_EQ(get(trust, "X-Forwarded-Method"), "POST");
  EXPECT_EQ(get(trust, "X-Forwarded-Port"), "8443");
  EXPECT_EQ(get(trust, "X-Forwarded-Uri"), "/p?q");
  // false removes every managed field and sets ours.
  auto distrust = auth_request_fields(in, TrustForward::Distrust, {}, info);
  EXPECT_EQ(get(distrust, "X-Forwarded-For"), "127.0.0.9");
  EXPECT_EQ(get(distrust, "X-Forwarded-Proto"), "http");
  EXPECT_EQ(get(distrust, "X-Forwarded-Prefix"), "<absent>");
  EXPECT_EQ(get(distrust, "X-Real-Ip"), "<absent>");
  EXPECT_EQ(get(distrust, "X-Forwarded-Host"), "app.example:8443");
  EXPECT_EQ(get(distrust, "Accept"), "*/*");
  // Unset (deprecated): overrides some, leaves others.
  auto unset = auth_request_fields(in, TrustForward::Unset, {}, info);
  EXPECT_EQ(get(unset, "X-Forwarded-For"), "127.0.0.9");
  EXPECT_EQ(get(unset, "X-Forwarded-Proto"), "http");
  EXPECT_EQ(get(unset, "X-Forwarded-Prefix"), "/api");
  EXPECT_EQ(get(unset, "X-Forwarded-Port"), "<absent>");
  // authRequestHeaders filters before the X-Forwarded-* are added.
  auto filtered = auth_request_fields(in, TrustForward::Distrust, {"accept"}, info);
  EXPECT_EQ(get(filtered, "Accept"), "*/*");
  EXPECT_EQ(get(filtered, "X-Forwarded-Method"), "POST");
  EXPECT_EQ(filtered.size(), 7u);  // Accept + For, Method, Proto, Port, Host, Uri
}

TEST(SubrequestTls, ClientContext) {
  EXPECT_TRUE(make_client_tls({}));
  EXPECT_TRUE(make_client_tls({"", "", "", true}));
  struct Case {
    ClientTlsConfig config;
    std::string error;
  };
  const std::vector<Case> cases = {
      {{"/nonexistent/ca.pem", "", "", false}, "tls.ca: cannot read `/nonexistent/ca.pem`"},
      {{"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "", "", false},
       "tls.ca: no certificate found"},
      {{"", "/some/cert.pem", "", false}, "tls.cert and tls.key go together"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.error);
    auto r = make_client_tls(c.config);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message, c.error);
  }
}

}  // namespace
}  // namespace portier::proxy::mw
