// Middleware options decoded into the model with Traefik v3's names and defaults
// (pkg/config/dynamic/middlewares.go): one table per group of types, YAML in, the decoded
// Middleware and its provider_error out.
#include <gtest/gtest.h>

#include "config/decode.h"

namespace portier::config {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct Case {
  std::string name;
  std::string yaml;                // the middleware `m`, at column 0
  std::optional<Middleware> want;  // nullopt: only the error is checked
  std::string error;               // substring of provider_error; "" when there must be none
};

// Builds the expected middleware: `type` plus what `fill` sets.
template <typename Fill>
Middleware mw(std::string type, Fill fill) {
  Middleware m;
  m.type = std::move(type);
  fill(m);
  return m;
}

void run(const std::vector<Case>& cases) {
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name + "\n" + c.yaml);
    std::string yaml = "http:\n  middlewares:\n    m:\n      ";
    for (char ch : c.yaml) yaml += ch == '\n' ? std::string("\n      ") : std::string(1, ch);
    auto cfg = decode_dynamic_yaml(yaml + "\n", "m.yml");
    ASSERT_TRUE(cfg) << cfg.error().message;
    Middleware got = cfg->http.middlewares.at("m");
    if (c.error.empty()) {
      EXPECT_EQ(got.provider_error, "");
    } else {
      EXPECT_NE(got.provider_error.find(c.error), std::string::npos) << got.provider_error;
    }
    if (c.want) {
      got.provider_error.clear();
      EXPECT_TRUE(got == *c.want);
    }
  }
}

TEST(MiddlewareDecode, Auth) {
  run({
      {"basicAuth defaults", "basicAuth: {users: [\"u1:h1\", \"u2:h2\"]}",
       mw("basicAuth",
          [](Middleware& m) {
            m.basic_auth.emplace().users = {"u1:h1", "u2:h2"};
          }),
       ""},
      {"basicAuth all options",
       "basicAuth:\n  usersFile: /etc/users\n  realm: inside\n  headerField: X-User\n"
       "  removeHeader: true",
       mw("basicAuth",
          [](Middleware& m) {
            auto& a = m.basic_auth.emplace();
            a.users_file = "/etc/users";
            a.realm = "inside";
            a.header_field = "X-User";
            a.remove_header = true;
          }),
       ""},
      {"basicAuth users as one comma-separated value (labels, flags)",
       "basicAuth: {users: \"u1:h1,u2:h2\", realm: \"\"}",
       mw("basicAuth",
          [](Middleware& m) {
            m.basic_auth.emplace().users = {"u1:h1", "u2:h2"};
          }),
       ""},
      {"digestAuth", "digestAuth: {users: [\"u:traefik:h\"], realm: r, removeHeader: true}",
       mw("digestAuth",
          [](Middleware& m) {
            auto& a = m.digest_auth.emplace();
            a.users = {"u:traefik:h"};
            a.realm = "r";
            a.remove_header = true;
          }),
       ""},
      {"forwardAuth defaults", "forwardAuth: {address: \"http://auth:9000/verify\"}",
       mw("forwardAuth",
          [](Middleware& m) { m.forward_auth.emplace().address = "http://auth:9000/verify"; }),
       ""},
      {"forwardAuth all options",
       "forwardAuth:\n  address: https://auth\n"
       "  tls: {ca: ca.pem, cert: c.pem, key: k.pem, insecureSkipVerify: true, caOptional: true}\n"
       "  trustForwardHeader: false\n  authResponseHeaders: [X-User, X-Groups]\n"
       "  authResponseHeadersRegex: ^X-Auth-\n  authRequestHeaders: Accept,Cookie\n"
       "  addAuthCookiesToResponse: [session]\n  headerField: X-Who\n  forwardBody: true\n"
       "  maxBodySize: 4096\n  maxResponseBodySize: 1024\n  preserveLocationHeader: true\n"
       "  preserveRequestMethod: true\n  authSigninURL: https://login/",
       mw("forwardAuth",
          [](Middleware& m) {
            auto& f = m.forward_auth.emplace();
            f.address = "https://auth";
            f.tls = ForwardAuthTls{"ca.pem", "c.pem", "k.pem", true, true};
            f.trust_forward_header = false;
            f.auth_response_headers = {"X-User", "X-Groups"};
            f.auth_response_headers_regex = "^X-Auth-";
            f.auth_request_headers = {"Accept", "Cookie"};
            f.add_auth_cookies_to_response = {"session"};
            f.header_field = "X-Who";
            f.forward_body = true;
            f.max_body_size = 4096;
            f.max_response_body_size = 1024;
            f.preserve_location_header = true;
            f.preserve_request_method = true;
            f.auth_signin_url = "https://login/";
          }),
       ""},
      {"forwardAuth empty tls section", "forwardAuth: {address: x, tls: {}}",
       mw("forwardAuth",
          [](Middleware& m) {
            auto& f = m.forward_auth.emplace();
            f.address = "x";
            f.tls.emplace();
          }),
       ""},
      {"passTLSClientCert pem only", "passTLSClientCert: {pem: true}",
       mw("passTLSClientCert", [](Middleware& m) { m.pass_tls_client_cert.emplace().pem = true; }),
       ""},
      {"passTLSClientCert info",
       "passTLSClientCert:\n  info:\n    notAfter: true\n    sans: true\n"
       "    subject: {organizationalUnit: true, commonName: true}\n    issuer: {}",
       mw("passTLSClientCert",
          [](Middleware& m) {
            auto& info = m.pass_tls_client_cert.emplace().info.emplace();
            info.not_after = true;
            info.sans = true;
            info.subject.emplace().organizational_unit = true;
            info.subject->common_name = true;
            info.issuer.emplace();
          }),
       ""},
      // Traefik's issuer has no organizationalUnit.
      {"passTLSClientCert issuer.organizationalUnit",
       "passTLSClientCert: {info: {issuer: {organizationalUnit: true}}}", std::nullopt,
       "unknown key `http.middlewares.m.passTLSClientCert.info.issuer.organizationalUnit`"},
      {"basicAuth misspelt", "basicAuth: {user: [a]}", std::nullopt,
       "m.yml:4:19: unknown key `http.middlewares.m.basicAuth.user`; did you mean "
       "`http.middlewares.m.basicAuth.users`?"},
      {"forwardAuth misspelt", "forwardAuth: {adress: x}", std::nullopt,
       "did you mean `http.middlewares.m.forwardAuth.address`?"},
      {"basicAuth removeHeader not a bool", "basicAuth: {removeHeader: maybe}", std::nullopt,
       "`http.middlewares.m.basicAuth.removeHeader` must be true or false"},
      {"forwardAuth tls not a mapping", "forwardAuth: {tls: [a]}", std::nullopt,
       "`http.middlewares.m.forwardAuth.tls` must be a mapping"},
      {"forwardAuth maxBodySize below -1", "forwardAuth: {maxBodySize: -2}", std::nullopt,
       "`http.middlewares.m.forwardAuth.maxBodySize` must be an integer from -1"},
  });
}

TEST(MiddlewareDecode, TrafficControl) {
  run({
      {"ipAllowList defaults", "ipAllowList: {sourceRange: [10.0.0.0/8, \"::1\"]}",
       mw("ipAllowList",
          [](Middleware& m) {
            m.ip_allow_list.emplace().source_range = {"10.0.0.0/8", "::1"};
          }),
       ""},
      {"ipAllowList all options",
       "ipAllowList:\n  sourceRange: 192.168.1.0/24\n"
       "  ipStrategy: {depth: 2, excludedIPs: [10.0.0.1], ipv6Subnet: 64}\n"
       "  rejectStatusCode: 404",
       mw("ipAllowList",
          [](Middleware& m) {
            auto& a = m.ip_allow_list.emplace();
            a.source_range = {"192.168.1.0/24"};
            a.ip_strategy = IpStrategy{2, {"10.0.0.1"}, 64};
            a.reject_status_code = 404;
          }),
       ""},
      {"ipAllowList empty ipStrategy, status 0",
       "ipAllowList: {ipStrategy: {}, rejectStatusCode: 0}",
       mw("ipAllowList", [](Middleware& m) { m.ip_allow_list.emplace().ip_strategy.emplace(); }),
       ""},
      {"ipWhiteList is ipAllowList",
       "ipWhiteList: {sourceRange: [1.2.3.4], ipStrategy: {depth: 1}}",
       mw("ipAllowList",
          [](Middleware& m) {
            auto& a = m.ip_allow_list.emplace();
            a.source_range = {"1.2.3.4"};
            a.ip_strategy.emplace().depth = 1;
          }),
       ""},
      {"ipWhiteList has no rejectStatusCode", "ipWhiteList: {rejectStatusCode: 404}", std::nullopt,
       "unknown key `http.middlewares.m.ipWhiteList.rejectStatusCode`"},
      {"ipv6Subnet out of range", "ipAllowList: {ipStrategy: {ipv6Subnet: 0}}", std::nullopt,
       "`http.middlewares.m.ipAllowList.ipStrategy.ipv6Subnet` must be an integer from 1 to 128"},
      {"rateLimit defaults", "rateLimit: {}",
       mw("rateLimit", [](Middleware& m) { m.rate_limit.emplace(); }), ""},
      {"rateLimit all options",
       "rateLimit:\n  average: 100\n  period: 1m\n  burst: 50\n"
       "  sourceCriterion: {requestHeaderName: X-Api-Key}",
       mw("rateLimit",
          [](Middleware& m) {
            auto& r = m.rate_limit.emplace();
            r.average = 100;
            r.period = seconds(60);
            r.burst = 50;
            r.source_criterion.emplace().request_header_name = "X-Api-Key";
          }),
       ""},
      {"rateLimit bare period is seconds; zeros read as Traefik's defaults",
       "rateLimit: {average: 5, period: 10, burst: 0}",
       mw("rateLimit",
          [](Middleware& m) {
            auto& r = m.rate_limit.emplace();
            r.average = 5;
            r.period = seconds(10);
          }),
       ""},
      {"rateLimit period 0", "rateLimit: {period: 0}",
       mw("rateLimit", [](Middleware& m) { m.rate_limit.emplace(); }), ""},
      {"rateLimit ipStrategy criterion",
       "rateLimit: {sourceCriterion: {ipStrategy: {excludedIPs: \"10.0.0.1,10.0.0.2\"}}}",
       mw("rateLimit",
          [](Middleware& m) {
            m.rate_limit.emplace().source_criterion.emplace().ip_strategy.emplace().excluded_ips = {
                "10.0.0.1", "10.0.0.2"};
          }),
       ""},
      {"rateLimit redis", "rateLimit:\n  average: 10\n  redis: {endpoints: [r:6379]}", std::nullopt,
       "m.yml:6:16: `http.middlewares.m.rateLimit.redis` is not supported (portier keeps rate "
       "limits in memory); the middleware is disabled"},
      {"rateLimit redis keys checked", "rateLimit: {redis: {endpoint: [r]}}", std::nullopt,
       "did you mean `http.middlewares.m.rateLimit.redis.endpoints`?"},
      {"rateLimit average not an integer", "rateLimit: {average: 1.5}", std::nullopt,
       "`http.middlewares.m.rateLimit.average` must be an integer"},
      {"rateLimit period not a duration", "rateLimit: {period: fast}", std::nullopt,
       "`http.middlewares.m.rateLimit.period` must be a duration"},
      {"rateLimit misspelt nested key", "rateLimit: {sourceCriterion: {ipStrategy: {dept: 1}}}",
       std::nullopt,
       "did you mean `http.middlewares.m.rateLimit.sourceCriterion.ipStrategy.depth`?"},
      {"inFlightReq", "inFlightReq: {amount: 10, sourceCriterion: {requestHost: true}}",
       mw("inFlightReq",
          [](Middleware& m) {
            auto& f = m.in_flight_req.emplace();
            f.amount = 10;
            f.source_criterion.emplace().request_host = true;
          }),
       ""},
      {"inFlightReq negative amount", "inFlightReq: {amount: -1}", std::nullopt,
       "`http.middlewares.m.inFlightReq.amount` must be an integer from 0"},
      {"circuitBreaker defaults", "circuitBreaker: {expression: \"NetworkErrorRatio() > 0.5\"}",
       mw("circuitBreaker",
          [](Middleware& m) {
            m.circuit_breaker.emplace().expression = "NetworkErrorRatio() > 0.5";
          }),
       ""},
      {"circuitBreaker all options, keys in any case",
       "circuitBreaker:\n  expression: x\n  CheckPeriod: 5\n  fallbackDuration: 1m\n"
       "  recoveryDuration: 250ms\n  responseCode: 502",
       mw("circuitBreaker",
          [](Middleware& m) {
            auto& c = m.circuit_breaker.emplace();
            c.expression = "x";
            c.check_period = seconds(5);
            c.fallback_duration = seconds(60);
            c.recovery_duration = milliseconds(250);
            c.response_code = 502;
          }),
       ""},
      {"circuitBreaker zero durations", "circuitBreaker: {checkPeriod: 0s, fallbackDuration: 0}",
       mw("circuitBreaker", [](Middleware& m) { m.circuit_breaker.emplace(); }), ""},
      {"circuitBreaker responseCode out of range", "circuitBreaker: {responseCode: 0}",
       std::nullopt, "`http.middlewares.m.circuitBreaker.responseCode` must be an integer"},
  });
}

TEST(MiddlewareDecode, RequestsAndResponses) {
  run({
      {"headers CORS",
       "headers:\n  accessControlAllowCredentials: true\n"
       "  accessControlAllowHeaders: [Content-Type]\n  accessControlAllowMethods: GET,OPTIONS\n"
       "  accessControlAllowOriginList: [\"https://a.example\"]\n"
       "  accessControlAllowOriginListRegex: [\"^https://.*\\\\.example$\"]\n"
       "  accessControlExposeHeaders: [X-Id]\n  accessControlMaxAge: 100\n  addVaryHeader: true",
       mw("headers",
          [](Middleware& m) {
            auto& h = m.headers.emplace();
            h.access_control_allow_credentials = true;
            h.access_control_allow_headers = {"Content-Type"};
            h.access_control_allow_methods = {"GET", "OPTIONS"};
            h.access_control_allow_origin_list = {"https://a.example"};
            h.access_control_allow_origin_list_regex = {"^https://.*\\.example$"};
            h.access_control_expose_headers = {"X-Id"};
            h.access_control_max_age = 100;
            h.add_vary_header = true;
          }),
       ""},
      {"headers security",
       "headers:\n  allowedHosts: [a.example]\n  hostsProxyHeaders: [X-Forwarded-Host]\n"
       "  sslProxyHeaders: {X-Forwarded-Proto: https}\n  customBrowserXSSValue: \"0\"\n"
       "  contentSecurityPolicyReportOnly: default-src 'self'\n  publicKey: pin\n"
       "  isDevelopment: true\n  featurePolicy: camera 'none'\n  sslRedirect: true\n"
       "  sslTemporaryRedirect: true\n  sslHost: b.example\n  sslForceHost: true",
       mw("headers",
          [](Middleware& m) {
            auto& h = m.headers.emplace();
            h.allowed_hosts = {"a.example"};
            h.hosts_proxy_headers = {"X-Forwarded-Host"};
            h.ssl_proxy_headers = {{"X-Forwarded-Proto", "https"}};
            h.custom_browser_xss_value = "0";
            h.content_security_policy_report_only = "default-src 'self'";
            h.public_key = "pin";
            h.is_development = true;
            h.feature_policy = "camera 'none'";
            h.ssl_redirect = true;
            h.ssl_temporary_redirect = true;
            h.ssl_host = "b.example";
            h.ssl_force_host = true;
          }),
       ""},
      {"headers applied today",
       "headers:\n  customRequestHeaders: {X-A: \"1\", X-Drop: \"\"}\n  stsSeconds: 31536000\n"
       "  frameDeny: true\n  referrerPolicy: no-referrer\n  addVaryHeader: false",
       mw("headers",
          [](Middleware& m) {
            auto& h = m.headers.emplace();
            h.custom_request_headers = {{"X-A", "1"}, {"X-Drop", ""}};
            h.sts_seconds = 31536000;
            h.frame_deny = true;
            h.referrer_policy = "no-referrer";
          }),
       ""},
      {"retry defaults", "retry: {attempts: 3}",
       mw("retry", [](Middleware& m) { m.retry.emplace().attempts = 3; }), ""},
      {"retry all options",
       "retry:\n  attempts: 2\n  initialInterval: 100ms\n  timeout: 2s\n"
       "  maxRequestBodyBytes: -1\n  status: [\"500-599\", \"429\"]\n"
       "  disableRetryOnNetworkError: true\n  retryNonIdempotentMethod: true",
       mw("retry",
          [](Middleware& m) {
            auto& r = m.retry.emplace();
            r.attempts = 2;
            r.initial_interval = milliseconds(100);
            r.timeout = seconds(2);
            r.max_request_body_bytes = -1;
            r.status = {"500-599", "429"};
            r.disable_retry_on_network_error = true;
            r.retry_non_idempotent_method = true;
          }),
       ""},
      {"errors",
       "errors:\n  status: [\"500-599\", 404]\n  statusRewrites: {\"418\": 404, \"502-504\": 500}\n"
       "  service: pages\n  query: /{status}.html\n  errorRequestHeaders: [Accept]",
       mw("errors",
          [](Middleware& m) {
            auto& e = m.errors.emplace();
            e.status = {"500-599", "404"};
            e.status_rewrites = {{"418", 404}, {"502-504", 500}};
            e.service = "pages";
            e.query = "/{status}.html";
            e.error_request_headers = {"Accept"};
          }),
       ""},
      {"errors status as one value", "errors: {status: \"500,502\", service: s}",
       mw("errors",
          [](Middleware& m) {
            auto& e = m.errors.emplace();
            e.status = {"500", "502"};
            e.service = "s";
          }),
       ""},
      {"errors statusRewrites not a status", "errors: {statusRewrites: {\"418\": teapot}}",
       std::nullopt, "`http.middlewares.m.errors.statusRewrites.418` must be an integer"},
      {"buffering defaults", "buffering: {maxRequestBodyBytes: 2000000}",
       mw("buffering",
          [](Middleware& m) { m.buffering.emplace().max_request_body_bytes = 2000000; }),
       ""},
      {"buffering all options",
       "buffering:\n  maxRequestBodyBytes: 10\n  memRequestBodyBytes: 0\n"
       "  maxResponseBodyBytes: 30\n  memResponseBodyBytes: 40\n"
       "  retryExpression: IsNetworkError() && Attempts() < 2\n  disableRequestBuffer: true\n"
       "  disableResponseBuffer: true",
       mw("buffering",
          [](Middleware& m) {
            auto& b = m.buffering.emplace();
            b.max_request_body_bytes = 10;
            b.max_response_body_bytes = 30;
            b.mem_response_body_bytes = 40;
            b.retry_expression = "IsNetworkError() && Attempts() < 2";
            b.disable_request_buffer = true;
            b.disable_response_buffer = true;
          }),
       ""},
      {"buffering negative size", "buffering: {maxResponseBodyBytes: -1}", std::nullopt,
       "`http.middlewares.m.buffering.maxResponseBodyBytes` must be an integer from 0"},
      {"compress defaults", "compress: {}",
       mw("compress", [](Middleware& m) { m.compress.emplace(); }), ""},
      {"compress enabled with true (labels)", "compress: true",
       mw("compress", [](Middleware& m) { m.compress.emplace(); }), ""},
      {"compress all options",
       "compress:\n  excludedContentTypes: [text/event-stream]\n"
       "  includedContentTypes: [text/html, application/json]\n  minResponseBodyBytes: 0\n"
       "  encodings: zstd\n  defaultEncoding: zstd",
       mw("compress",
          [](Middleware& m) {
            auto& c = m.compress.emplace();
            c.excluded_content_types = {"text/event-stream"};
            c.included_content_types = {"text/html", "application/json"};
            c.encodings = {"zstd"};
            c.default_encoding = "zstd";
          }),
       ""},
      {"compress misspelt", "compress: {encoding: [gzip]}", std::nullopt,
       "did you mean `http.middlewares.m.compress.encodings`?"},
      {"stripPrefixRegex", "stripPrefixRegex: {regex: [\"/api/v[0-9]+\", /old]}",
       mw("stripPrefixRegex",
          [](Middleware& m) {
            m.strip_prefix_regex.emplace().regex = {"/api/v[0-9]+", "/old"};
          }),
       ""},
      {"replacePathRegex", "replacePathRegex: {regex: \"^/a/(.*)\", replacement: /b/$1}",
       mw("replacePathRegex",
          [](Middleware& m) {
            m.replace_path_regex = ReplacePathRegex{"^/a/(.*)", "/b/$1"};
          }),
       ""},
      {"contentType defaults", "contentType: {}",
       mw("contentType", [](Middleware& m) { m.content_type.emplace(); }), ""},
      {"contentType autoDetect false", "contentType: {autoDetect: false}",
       mw("contentType", [](Middleware& m) { m.content_type.emplace().auto_detect = false; }), ""},
      {"grpcWeb", "grpcWeb: {allowOrigins: [\"*\"]}",
       mw("grpcWeb", [](Middleware& m) { m.grpc_web.emplace().allow_origins = {"*"}; }), ""},
      {"types without a struct keep their type", "encodedCharacters: {allowEncodedSlash: true}",
       mw("encodedCharacters", [](Middleware&) {}), ""},
      {"unknown type", "stripPrefixRegx: {regex: [a]}", std::nullopt,
       "unknown middleware type `stripPrefixRegx` in `http.middlewares.m`; did you mean "
       "`stripPrefixRegex`?"},
  });
}

// waf: a portier type (ModSecurity + the OWASP CRS); the rules themselves are checked when the
// middleware is built (tests/unit/proxy/middlewares/waf_test.cc).
TEST(MiddlewareDecode, Waf) {
  run({
      {"waf defaults", "waf: {}", mw("waf", [](Middleware& m) { m.waf.emplace(); }), ""},
      {"waf enabled with true (labels)", "waf: true",
       mw("waf", [](Middleware& m) { m.waf.emplace(); }), ""},
      {"waf all options",
       "waf:\n  mode: detect\n  crs: false\n  paranoiaLevel: 3\n  anomalyThreshold: 10\n"
       "  crsSetup: \"SecAction \\\"id:900200,phase:1,pass,nolog\\\"\"\n"
       "  rules: \"SecRuleRemoveById 920350\"\n  ruleFiles: [/etc/waf/*.conf, /x.conf]\n"
       "  requestBodyLimit: 0\n  inspectResponse: true",
       mw("waf",
          [](Middleware& m) {
            auto& w = m.waf.emplace();
            w.mode = "detect";
            w.crs = false;
            w.paranoia_level = 3;
            w.anomaly_threshold = 10;
            w.crs_setup = "SecAction \"id:900200,phase:1,pass,nolog\"";
            w.rules = "SecRuleRemoveById 920350";
            w.rule_files = {"/etc/waf/*.conf", "/x.conf"};
            w.request_body_limit = 0;
            w.inspect_response = true;
          }),
       ""},
      {"waf unknown mode", "waf: {mode: deny}", std::nullopt,
       "`http.middlewares.m.waf.mode` must be block or detect, not `deny`"},
      {"waf paranoia level out of range", "waf: {paranoiaLevel: 5}", std::nullopt,
       "`http.middlewares.m.waf.paranoiaLevel` must be an integer from 1"},
      {"waf negative body limit", "waf: {requestBodyLimit: -1}", std::nullopt,
       "`http.middlewares.m.waf.requestBodyLimit` must be an integer from 0"},
      {"waf misspelt", "waf: {ruleFile: [/x.conf]}", std::nullopt,
       "did you mean `http.middlewares.m.waf.ruleFiles`?"},
  });
}

}  // namespace
}  // namespace portier::config
