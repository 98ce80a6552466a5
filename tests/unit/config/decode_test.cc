// Static and dynamic YAML decoding: Traefik names, case-insensitive keys, located errors.
#include "config/decode.h"

#include <gtest/gtest.h>

#include "config/yaml_reader.h"
#include "unit/config/decode_errors.h"

namespace portier::config {
namespace {

TEST(StaticDecode, TraefikNamesAndDefaults) {
  auto cfg = decode_static_yaml(R"(
entryPoints:
  web:
    address: ":80"
    transport:
      respondingTimeouts:
        readTimeout: 30s
        idleTimeout: 3m
      lifeCycle:
        graceTimeOut: 2s
    forwardedHeaders:
      trustedIPs: ["10.0.0.0/8", "127.0.0.1"]
  websecure:
    ADDRESS: ":443"
serversTransport:
  maxIdleConnsPerHost: 7
  forwardingTimeouts:
    dialTimeout: 1500ms
providers:
  file:
    directory: /etc/portier/dynamic
    watch: false
log:
  level: DEBUG
)",
                                "static.yml");
  ASSERT_TRUE(cfg) << cfg.error().message;
  const auto& web = cfg->entry_points.at("web");
  EXPECT_EQ(web.address, ":80");
  EXPECT_EQ(web.responding_timeouts.read_timeout, std::chrono::seconds(30));
  EXPECT_EQ(web.responding_timeouts.idle_timeout, std::chrono::minutes(3));
  EXPECT_EQ(web.responding_timeouts.read_header_timeout, std::chrono::seconds(10));  // default
  EXPECT_EQ(web.life_cycle.grace_timeout, std::chrono::seconds(2));
  EXPECT_EQ(web.forwarded_headers.trusted_ips.size(), 2u);
  EXPECT_EQ(cfg->entry_points.at("websecure").address, ":443");  // keys are case-insensitive
  EXPECT_EQ(cfg->servers_transport.max_idle_conns_per_host, 7);
  EXPECT_EQ(cfg->servers_transport.forwarding_timeouts.dial_timeout, Duration(1500));
  ASSERT_TRUE(cfg->providers.file.has_value());
  EXPECT_FALSE(cfg->providers.file->watch);
  EXPECT_EQ(cfg->log.level, "debug");
}

TEST(StaticDecode, EntryPointPathAndFieldOptions) {
  auto cfg = decode_static_yaml(R"(
entryPoints:
  web:
    address: ":80"
  legacy:
    address: ":81"
    http:
      sanitizePath: false
      underscoreHeadersStrategy: keep
      encodedCharacters:
        allowEncodedSlash: true
        allowEncodedHash: true
  strict:
    address: ":82"
    http:
      underscoreHeadersStrategy: reject
)",
                                "static.yml");
  ASSERT_TRUE(cfg) << cfg.error().message;
  const auto& web = cfg->entry_points.at("web").http;  // defaults
  EXPECT_TRUE(web.sanitize_path);
  EXPECT_EQ(web.encoded_characters, EncodedCharacters{});
  EXPECT_FALSE(web.encoded_characters.allow_encoded_slash);
  EXPECT_FALSE(web.encoded_characters.allow_encoded_percent);
  EXPECT_EQ(web.underscore_headers, UnderscoreHeaders::Delete);
  const auto& legacy = cfg->entry_points.at("legacy").http;
  EXPECT_FALSE(legacy.sanitize_path);
  EXPECT_EQ(legacy.underscore_headers, UnderscoreHeaders::Keep);
  EXPECT_TRUE(legacy.encoded_characters.allow_encoded_slash);
  EXPECT_TRUE(legacy.encoded_characters.allow_encoded_hash);
  EXPECT_FALSE(legacy.encoded_characters.allow_encoded_back_slash);
  EXPECT_EQ(cfg->entry_points.at("strict").http.underscore_headers, UnderscoreHeaders::Reject);
}

TEST(StaticDecode, UnknownKeyNamesLineAndSuggestion) {
  auto cfg = decode_static_yaml("entryPoints:\n  web:\n    adress: \":80\"\n", "s.yml");
  ASSERT_FALSE(cfg);
  const std::string& m = cfg.error().message;
  EXPECT_NE(m.find("s.yml:3:5: unknown key `entryPoints.web.adress`"), std::string::npos) << m;
  EXPECT_NE(m.find("did you mean `entryPoints.web.address`?"), std::string::npos) << m;
}

TEST(StaticDecode, Errors) {
  struct Case {
    std::string yaml, expect;
  };
  const std::vector<Case> cases = {
      {"entryPoints:\n  web:\n    address: :80\n    transport:\n      respondingTimeouts:\n"
       "        readTimeout: soon\n",
       "s.yml:6:22: `entryPoints.web.transport.respondingTimeouts.readTimeout` must be a duration"},
      {"entryPoints: [a, b]\n", "s.yml:1:14: `entryPoints` must be a mapping"},
      {"entryPoints:\n  web: {}\n", "`entryPoints.web.address` is required"},
      {"providers:\n  file: {}\n", "needs exactly one of filename or directory"},
      {"entryPoints:\n  web:\n    address: [\":80\"\n", "s.yml:4"},  // YAML syntax error
      {"entryPoints:\n  web:\n    address: :80\n    http:\n      underscoreHeadersStrategy: drop\n",
       "s.yml:5:34: `entryPoints.web.http.underscoreHeadersStrategy` must be keep, delete or "
       "reject"},
      {"entryPoints:\n  web:\n    address: :80\n    http:\n      encodedCharacters:\n"
       "        allowEncodedSlashes: true\n",
       "unknown key `entryPoints.web.http.encodedCharacters.allowEncodedSlashes`"},
      {"serversTransport:\n  maxIdleConnsPerHost: -1\n",
       "`serversTransport.maxIdleConnsPerHost` must be an integer from 0"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.yaml);
    auto cfg = decode_static_yaml(c.yaml, "s.yml");
    ASSERT_FALSE(cfg);
    EXPECT_NE(cfg.error().message.find(c.expect), std::string::npos) << cfg.error().message;
  }
}

TEST(DynamicDecode, RoutersAndServices) {
  auto cfg = decode_dynamic_yaml(R"yaml(
http:
  routers:
    whoami:
      rule: "Host(`whoami.localhost`)"
      entryPoints: [web]
      service: whoami
      priority: 10
  services:
    whoami:
      loadBalancer:
        passHostHeader: false
        servers:
          - url: "http://127.0.0.1:8081"
          - url: "http://127.0.0.1:8082"
            weight: 3
)yaml",
                                 "d.yml");
  ASSERT_TRUE(cfg) << cfg.error().message;
  const auto& r = cfg->http.routers.at("whoami");
  EXPECT_EQ(r.rule, "Host(`whoami.localhost`)");
  EXPECT_EQ(r.entry_points, std::vector<std::string>{"web"});
  EXPECT_EQ(r.priority, 10);
  const auto& lb = *cfg->http.services.at("whoami").load_balancer;
  EXPECT_FALSE(lb.pass_host_header);
  ASSERT_EQ(lb.servers.size(), 2u);
  EXPECT_EQ(lb.servers[1].weight, 3);
}

TEST(DynamicDecode, UnknownKeyInServer) {
  const std::string errors = decode_errors(
      "http:\n  services:\n    s:\n      loadBalancer:\n        servers:\n          - urll: x\n",
      "d.yml");
  EXPECT_NE(errors.find("d.yml:6:13: unknown key"), std::string::npos) << errors;
  EXPECT_NE(errors.find("did you mean"), std::string::npos);
}

TEST(Durations, GoSyntax) {
  struct Case {
    std::string text;
    long long ms;
    bool ok;
  };
  const std::vector<Case> cases = {
      {"10s", 10000, true}, {"250ms", 250, true}, {"1m30s", 90000, true}, {"1.5h", 5400000, true},
      {"42", 42000, true},  {"0", 0, true},       {"10", 10000, true},    {"", 0, false},
      {"10x", 0, false},    {"s", 0, false},      {"-1s", 0, false}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    Duration d{-1};
    EXPECT_EQ(parse_duration(c.text, d), c.ok);
    if (c.ok) {
      EXPECT_EQ(d.count(), c.ms);
    }
  }
}

}  // namespace
}  // namespace portier::config

#include "config/toml.h"

namespace portier::config {
namespace {

TEST(DynamicDecode, TomlAndJson) {
  auto tree = parse_toml(
      "[http.routers.whoami]\nrule = \"Host(`a`)\"\nservice = \"whoami\"\nentryPoints = [\"web\"]\n"
      "[[http.services.whoami.loadBalancer.servers]]\nurl = \"http://127.0.0.1:1\"\n"
      "[http.middlewares.strip.stripPrefix]\nprefixes = [\"/api\"]\n",
      "d.toml");
  ASSERT_TRUE(tree) << tree.error().message;
  auto cfg = decode_dynamic_node(*tree, "d.toml");
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_EQ(cfg->http.routers.at("whoami").rule, "Host(`a`)");
  EXPECT_EQ(cfg->http.services.at("whoami").load_balancer->servers.at(0).url, "http://127.0.0.1:1");
  EXPECT_EQ(cfg->http.middlewares.at("strip").strip_prefix->prefixes.at(0), "/api");
  // JSON is read by the YAML decoder (JSON is YAML 1.2).
  auto json = decode_dynamic_yaml(
      R"json({"http": {"routers": {"r": {"rule": "Path(`/`)", "service": "s", "priority": 3}},
               "services": {"s": {"loadBalancer": {"servers": [{"url": "http://127.0.0.1:2"}]}}}}})json",
      "d.json");
  ASSERT_TRUE(json) << json.error().message;
  EXPECT_EQ(json->http.routers.at("r").priority, 3);
}

}  // namespace
}  // namespace portier::config

namespace portier::config {
namespace {

TEST(DynamicDecode, TlsSectionAndRouterTls) {
  auto cfg = decode_dynamic_yaml(R"yaml(
http:
  routers:
    secure:
      rule: "Host(`a.example`)"
      service: s
      ruleSyntax: v3
      tls:
        certResolver: le
        options: modern
        domains:
          - main: example.com
            sans: ["*.example.com"]
tls:
  certificates:
    - certFile: /certs/a.crt
      keyFile: /certs/a.key
      stores: [default]
  options:
    modern:
      minVersion: VersionTLS13
      sniStrict: true
      alpnProtocols: [h2, http/1.1]
  stores:
    default:
      defaultCertificate:
        certFile: /certs/d.crt
        keyFile: /certs/d.key
)yaml",
                                 "t.yml");
  ASSERT_TRUE(cfg) << cfg.error().message;
  const auto& tls = *cfg->http.routers.at("secure").tls;
  EXPECT_EQ(tls.cert_resolver, "le");
  EXPECT_EQ(tls.domains.at(0).sans.at(0), "*.example.com");
  EXPECT_EQ(cfg->tls.certificates.at(0).key_file, "/certs/a.key");
  EXPECT_TRUE(cfg->tls.options.at("modern").sni_strict);
  EXPECT_EQ(cfg->tls.stores.at("default").default_certificate->cert_file, "/certs/d.crt");

  auto bad = decode_dynamic_yaml(
      "tls:\n  options:\n    o:\n      minVersion: TLS1.2\n"
      "  certificates:\n    - certFile: a\n",
      "t.yml");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("unknown TLS version `TLS1.2`"), std::string::npos);
  EXPECT_NE(bad.error().message.find("needs certFile and keyFile"), std::string::npos);
}

}  // namespace
}  // namespace portier::config
