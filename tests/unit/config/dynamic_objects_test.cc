// Dynamic files: one unknown or unsupported option disables only its object (its
// provider_error, with file:line and the closest key); every option Traefik v3 knows decodes.
#include <gtest/gtest.h>

#include "config/decode.h"

namespace portier::config {
namespace {

TEST(DynamicObjects, OneBadKeyDisablesOnlyItsObject) {
  auto cfg = decode_dynamic_yaml(R"yaml(http:
  routers:
    bad:
      rule: "Host(`a`)"
      servce: whoami
    good:
      rule: "Host(`b`)"
      service: whoami
      middlewares: [secure]
  services:
    whoami:
      loadBalancer:
        servers: [{url: "http://127.0.0.1:1"}]
  middlewares:
    secure:
      headers:
        frameDeny: true
        stsSeconds: soon
    strip:
      stripPrefix: {prefixes: [/a]}
)yaml",
                                 "d.yml");
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_EQ(cfg->http.routers.at("bad").provider_error,
            "d.yml:5:7: unknown key `http.routers.bad.servce`; did you mean "
            "`http.routers.bad.service`?");
  EXPECT_EQ(cfg->http.routers.at("good").provider_error, "");
  EXPECT_EQ(cfg->http.routers.at("good").service, "whoami");
  EXPECT_EQ(cfg->http.services.at("whoami").provider_error, "");
  EXPECT_EQ(cfg->http.middlewares.at("secure").provider_error,
            "d.yml:18:21: `http.middlewares.secure.headers.stsSeconds` must be an integer from 0 "
            "to 1099511627776");
  EXPECT_EQ(cfg->http.middlewares.at("strip").provider_error, "");
}

TEST(DynamicObjects, ErrorsOutsideObjectsStillFailTheFile) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"htp:\n  routers: {}\n", "unknown key `htp`; did you mean `http`?"},
      {"http:\n  router: {}\n", "unknown key `http.router`; did you mean `http.routers`?"},
      {"http:\n  routers: [a]\n", "`http.routers` must be a mapping"},
      {"http: [\n", "d.yml:2:"},
  };
  for (const auto& [yaml, want] : cases) {
    SCOPED_TRACE(yaml);
    auto cfg = decode_dynamic_yaml(yaml, "d.yml");
    ASSERT_FALSE(cfg);
    EXPECT_NE(cfg.error().message.find(want), std::string::npos) << cfg.error().message;
  }
}

// Docker labels decode each object alone and want the error back (ObjectErrors::Fail).
TEST(DynamicObjects, FailModeReturnsTheError) {
  auto cfg = decode_dynamic_node(YAML::Load("http:\n  routers:\n    r:\n      rulee: x\n"),
                                 "labels", ObjectErrors::Fail);
  ASSERT_FALSE(cfg);
  EXPECT_NE(cfg.error().message.find("did you mean `http.routers.r.rule`?"), std::string::npos);
}

// Each middleware type with Traefik v3's options decodes (routers using a type the engine does
// not run say so); options of implemented types that the engine does not apply yet disable the
// middleware. Decoded values: middleware_decode_test.cc.
TEST(DynamicObjects, EveryTraefikMiddlewareOption) {
  struct Case {
    std::string yaml;   // the middleware body, below `m:`
    std::string type;   // expected type
    std::string error;  // substring of provider_error; "" for none
  };
  const std::vector<Case> cases = {
      {"basicAuth: {users: [\"u:$apr1$x\"], usersFile: f, realm: r, removeHeader: true, "
       "headerField: X-User}",
       "basicAuth", ""},
      {"digestAuth: {users: [a], realm: r}", "digestAuth", ""},
      {"forwardAuth: {address: \"http://auth\", trustForwardHeader: true, authResponseHeaders: "
       "[X-User], authResponseHeadersRegex: \"^X-\", authRequestHeaders: [Accept], "
       "addAuthCookiesToResponse: [c], forwardBody: true, maxBodySize: 10, headerField: X, "
       "preserveLocationHeader: true, tls: {ca: c, cert: c, key: k, insecureSkipVerify: true, "
       "caOptional: true}}",
       "forwardAuth", ""},
      {"ipAllowList: {sourceRange: [10.0.0.0/8], ipStrategy: {depth: 1, excludedIPs: [1.2.3.4], "
       "ipv6Subnet: 64}, rejectStatusCode: 404}",
       "ipAllowList", ""},
      {"ipWhiteList: {sourceRange: [10.0.0.0/8], ipStrategy: {depth: 2}}", "ipAllowList", ""},
      {"rateLimit: {average: 100, period: 1m, burst: 50, sourceCriterion: {requestHeaderName: X, "
       "requestHost: true, ipStrategy: {depth: 1}}}",
       "rateLimit", ""},
      // Distributed limits: refused rather than silently kept per instance.
      {"rateLimit: {average: 100, redis: {endpoints: [r:6379], db: 1}}", "rateLimit",
       "`http.middlewares.m.rateLimit.redis` is not supported (portier keeps rate limits in "
       "memory)"},
      {"inFlightReq: {amount: 10, sourceCriterion: {requestHost: true}}", "inFlightReq", ""},
      {"compress: {excludedContentTypes: [text/event-stream], minResponseBodyBytes: 1024, "
       "encodings: [zstd, br, gzip], defaultEncoding: gzip}",
       "compress", ""},
      {"buffering: {maxRequestBodyBytes: 1, memRequestBodyBytes: 1, maxResponseBodyBytes: 1, "
       "memResponseBodyBytes: 1, retryExpression: \"IsNetworkError() && Attempts() < 2\"}",
       "buffering", ""},
      {"circuitBreaker: {expression: \"NetworkErrorRatio() > 0.5\", checkPeriod: 10s, "
       "fallbackDuration: 10s, recoveryDuration: 10s, responseCode: 503}",
       "circuitBreaker", ""},
      {"errors: {status: [\"500-599\"], service: s, query: \"/{status}.html\", statusRewrites: "
       "{\"418\": 404}}",
       "errors", ""},
      {"passTLSClientCert: {pem: true, info: {notAfter: true, sans: true, subject: {country: true, "
       "commonName: true}, issuer: {domainComponent: true}}}",
       "passTLSClientCert", ""},
      {"contentType: {autoDetect: false}", "contentType", ""},
      {"grpcWeb: {allowOrigins: [\"*\"]}", "grpcWeb", ""},
      {"replacePathRegex: {regex: \"^/a/(.*)\", replacement: /b/$1}", "replacePathRegex", ""},
      {"stripPrefixRegex: {regex: [\"/[a-z]+\"]}", "stripPrefixRegex", ""},
      {"plugin: {demo: {anything: [1, 2], nested: {x: y}}}", "plugin", ""},
      {"encodedCharacters: {allowEncodedSlash: true}", "encodedCharacters", ""},
      {"stripPrefix: {prefixes: [/a], forceSlash: false}", "stripPrefix", ""},
      {"retry: {attempts: 3, initialInterval: 100ms}", "retry", ""},
      {"retry: {attempts: 3, status: [\"500-599\"]}", "retry", ""},
      {"headers: {frameDeny: true, isDevelopment: false, addVaryHeader: false}", "headers", ""},
      // Deprecated in Traefik v3 and still accepted there (portier applies the v2 meaning).
      {"headers: {sslRedirect: true}", "headers", ""},
      {"headers: {sslHost: example.com, sslForceHost: true}", "headers", ""},
      {"headers: {featurePolicy: \"camera 'none'\"}", "headers", ""},
      {"headers: {sslProxyHeaders: {X-Forwarded-Proto: https}}", "headers", ""},
      {"headers: {accessControlAllowOriginList: [\"https://a\"], accessControlMaxAge: 100}",
       "headers", ""},
      // Keys Traefik does not know stay errors, with the closest one.
      {"basicAuth: {user: [a]}", "basicAuth",
       "unknown key `http.middlewares.m.basicAuth.user`; did you mean "
       "`http.middlewares.m.basicAuth.users`?"},
      {"rateLimit: {sourceCriterion: {ipStrategy: {dept: 1}}}", "rateLimit",
       "did you mean `http.middlewares.m.rateLimit.sourceCriterion.ipStrategy.depth`?"},
      {"headers: {hostProxyHeaders: [X]}", "headers",
       "did you mean `http.middlewares.m.headers.hostsProxyHeaders`?"},
      {"ipAllowlist2: {}", "", "unknown middleware type `ipAllowlist2`"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.yaml);
    auto cfg =
        decode_dynamic_yaml("http:\n  middlewares:\n    m:\n      " + c.yaml + "\n", "d.yml");
    ASSERT_TRUE(cfg) << cfg.error().message;
    const auto& mw = cfg->http.middlewares.at("m");
    EXPECT_EQ(mw.type, c.type);
    if (c.error.empty()) {
      EXPECT_EQ(mw.provider_error, "");
    } else {
      EXPECT_NE(mw.provider_error.find(c.error), std::string::npos) << mw.provider_error;
    }
  }
}

TEST(DynamicObjects, RouterAndServiceOptions) {
  struct Case {
    std::string yaml;
    std::string error;  // substring of the object's provider_error; "" for none
  };
  const std::string router = "http:\n  routers:\n    o:\n      rule: \"Host(`a`)\"\n      ";
  const std::string service =
      "http:\n  services:\n    o:\n      loadBalancer:\n        servers: [{url: "
      "\"http://127.0.0.1:1\"}]\n        ";
  const std::vector<Case> cases = {
      {router + "observability: {accessLogs: false, metrics: false, tracing: false}", ""},
      {router + "observability: {accesLogs: false}", "did you mean"},
      {router + "parentRefs: [p]", "`http.routers.o.parentRefs` is not supported yet"},
      {service + "responseForwarding: {flushInterval: 100ms}", ""},
      {service + "passiveHealthCheck: {failureWindow: 10s, maxFailedAttempts: 3}",
       "`http.services.o.loadBalancer.passiveHealthCheck` is not supported yet"},
      {service + "healthCheck: {path: /h, interval: 10s, mode: grpc}", "mode: grpc"},
      {service + "healthCheck: {path: /h, interval: 10s, mode: http}", ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.yaml);
    auto cfg = decode_dynamic_yaml(c.yaml + "\n", "d.yml");
    ASSERT_TRUE(cfg) << cfg.error().message;
    std::string err = cfg->http.routers.count("o") ? cfg->http.routers.at("o").provider_error
                                                   : cfg->http.services.at("o").provider_error;
    if (c.error.empty()) {
      EXPECT_EQ(err, "");
    } else {
      EXPECT_NE(err.find(c.error), std::string::npos) << err;
    }
  }
}

// traefik.yml read by the file provider too: the static sections are not its business.
TEST(DynamicObjects, CombinedStaticAndDynamicFile) {
  auto cfg = decode_dynamic_yaml(R"yaml(
global: {checkNewVersion: false}
entryPoints:
  web: {address: ":80"}
providers:
  file: {filename: traefik.yml}
api: {insecure: true}
log: {level: DEBUG}
accessLog: {}
http:
  routers:
    whoami: {rule: "Host(`a`)", service: whoami}
  services:
    whoami:
      loadBalancer:
        servers: [{url: "http://127.0.0.1:1"}]
  serversTransports:
    slow: {forwardingTimeouts: {dialTimeout: 1s}}
tcp:
  routers:
    db: {rule: "HostSNI(`*`)", service: db}
)yaml",
                                 "traefik.yml");
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_EQ(cfg->http.routers.at("whoami").provider_error, "");
  EXPECT_EQ(cfg->http.servers_transports.at("slow").forwarding_timeouts.dial_timeout,
            std::chrono::seconds(1));
  // tcp is served (docs/tcp.md): decoded, not a warning; nor are serversTransports.
  EXPECT_EQ(cfg->tcp.routers.at("db").rule, "HostSNI(`*`)");
  EXPECT_TRUE(cfg->warnings.empty()) << cfg->warnings[0];
}

}  // namespace
}  // namespace portier::config
