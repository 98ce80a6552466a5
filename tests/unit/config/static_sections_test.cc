// Traefik's static sections: accepted with their meaning, a warning (with file:line) for every
// option portier does not act on yet, and an error only for keys Traefik itself does not know.
#include <gtest/gtest.h>

#include "config/decode.h"
#include "config/static_sources.h"

namespace portier::config {
namespace {

const std::string kWeb = "entryPoints:\n  web:\n    address: \":80\"\n";

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

TEST(StaticSections, AcceptedWithWarnings) {
  struct Case {
    std::string yaml;                   // appended to kWeb
    std::vector<std::string> warnings;  // substrings, in order; empty: no warning at all
  };
  const std::vector<Case> cases = {
      {"global:\n  checkNewVersion: true\n  sendAnonymousUsage: true\n", {}},
      {"log:\n  level: DEBUG\n  format: json\n  filePath: /tmp/p.log\n  noColor: true\n", {}},
      {"log:\n  level: info\n  maxSize: 10\n  maxBackups: 3\n  maxAge: 7\n  compress: true\n", {}},
      {"accessLog:\n  filePath: /var/log/access.log\n  format: json\n  filters:\n"
       "    statusCodes: [\"400-499\"]\n  fields:\n    headers:\n      defaultMode: drop\n"
       "      names: {User-Agent: keep}\n",
       {}},
      {"accessLog: {}\n", {}},
      {"accessLog:\n  dualOutput: true\n  otlp:\n    http:\n      endpoint: http://x:4318\n",
       {"s.yml:5:15: `accessLog.dualOutput` is not supported yet",
        "`accessLog.otlp` is not supported yet"}},
      {"metrics:\n  prometheus:\n    addRoutersLabels: true\n    buckets: [0.1, 0.3]\n", {}},
      {"metrics:\n  datadog:\n    address: 127.0.0.1:8125\n",
       {"s.yml:6:5: `metrics.datadog` is not supported yet"}},
      {"tracing:\n  serviceName: portier\n  otlp:\n    http:\n      endpoint: http://x:4318\n",
       {"`tracing` is not supported yet"}},
      {"ping: {}\n", {}},
      {"api:\n  dashboard: true\n  debug: true\n  basePath: /\n",
       {"s.yml:6:10: `api.debug` is not supported yet"}},
      {"hostResolver:\n  cnameFlattening: true\n", {"`hostResolver` is not supported yet"}},
      {"experimental:\n  plugins:\n    demo:\n      moduleName: github.com/x/y\n"
       "      version: v0.1.0\n",
       {"`experimental` is not supported yet"}},
      {"serversTransport:\n  insecureSkipVerify: true\n  maxIdleConnsPerHost: 50\n"
       "  forwardingTimeouts:\n    dialTimeout: 5s\n    pingTimeout: 15s\n",
       {"`serversTransport.forwardingTimeouts.pingTimeout` is not supported yet"}},
      {"providers:\n  kubernetesCRD: {}\n  docker:\n    exposedByDefault: false\n"
       "    useBindPortIP: true\n",
       {"`providers.docker.useBindPortIP` is not supported yet",
        "`providers.kubernetesCRD` is not supported yet"}},
      {"certificatesResolvers:\n  le:\n    acme:\n      email: a@b.c\n      tlsChallenge: {}\n",
       {}},
      {"certificatesResolvers:\n  le:\n    acme:\n      email: a@b.c\n      dnsChallenge:\n"
       "        provider: cloudflare\n        propagation: {delayBeforeChecks: 10s}\n"
       "      httpChallenge: {entryPoint: web}\n",
       {}},
      {"certificatesResolvers:\n  le:\n    acme:\n      email: a@b.c\n      dnsChallenge:\n"
       "        provider: exec\n        delayBeforeCheck: 30\n"
       "        disablePropagationCheck: true\n",
       {"`certificatesResolvers.le.acme.dnsChallenge.delayBeforeCheck` is deprecated; use "
        "`propagation.delayBeforeChecks`",
        "`certificatesResolvers.le.acme.dnsChallenge.disablePropagationCheck` is deprecated"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.yaml);
    auto cfg = decode_static_yaml(kWeb + c.yaml, "s.yml");
    ASSERT_TRUE(cfg) << cfg.error().message;
    const std::string all = joined(cfg->warnings);
    if (c.warnings.empty()) {
      EXPECT_TRUE(cfg->warnings.empty()) << all;
    }
    std::size_t at = 0;
    for (const auto& w : c.warnings) {
      auto p = all.find(w, at);
      EXPECT_NE(p, std::string::npos) << "missing `" << w << "` in\n" << all;
      if (p != std::string::npos) at = p;
    }
  }
}

TEST(StaticSections, EntryPointOptions) {
  auto cfg = decode_static_yaml(R"yaml(
entryPoints:
  web:
    address: ":80"
    reusePort: true
    asDefault: true
    allowACMEByPass: false
    http:
      maxHeaderBytes: 32768
      middlewares: [auth@file]
      encodedCharacters: {allowEncodedSlash: true}
      sanitizePath: false
    http2: {maxConcurrentStreams: 100}
    http3: {}
    proxyProtocol: {trustedIPs: [10.0.0.1]}
    forwardedHeaders: {trustedIPs: [10.0.0.1], connection: [foo]}
    transport:
      keepAliveMaxRequests: 100
      lifeCycle: {requestAcceptGraceTimeout: 1s, graceTimeOut: 2s}
    observability: {accessLogs: false}
)yaml",
                                "s.yml");
  ASSERT_TRUE(cfg) << cfg.error().message;
  const auto& web = cfg->entry_points.at("web");
  EXPECT_EQ(web.max_header_bytes, 32768u);
  EXPECT_TRUE(web.http.encoded_characters.allow_encoded_slash);
  EXPECT_FALSE(web.http.sanitize_path);
  EXPECT_EQ(web.http.middlewares, std::vector<std::string>{"auth@file"});
  EXPECT_EQ(web.life_cycle.grace_timeout, std::chrono::seconds(2));
  EXPECT_EQ(web.life_cycle.request_accept_grace_timeout, std::chrono::seconds(1));
  EXPECT_EQ(web.http2.max_concurrent_streams, 100);
  EXPECT_EQ(web.http2.max_decoder_header_table_size, 4096);
  EXPECT_TRUE(web.http2.h2c);
  ASSERT_TRUE(web.proxy_protocol);  // read (docs/tcp.md), no longer a warning
  EXPECT_EQ(web.proxy_protocol->trusted_ips, std::vector<std::string>{"10.0.0.1"});
  EXPECT_FALSE(web.proxy_protocol->insecure);
  const std::string all = joined(cfg->warnings);
  for (const char* w :
       {"s.yml:6:16: `entryPoints.web.asDefault`",
        "`entryPoints.web.http3`",
        "`entryPoints.web.forwardedHeaders.connection`",
        "`entryPoints.web.transport.keepAliveMaxRequests`",
        "`entryPoints.web.observability`"}) {
    EXPECT_NE(all.find(w), std::string::npos) << w << " in\n" << all;
  }
  EXPECT_EQ(all.find("reusePort"), std::string::npos) << all;
  EXPECT_EQ(all.find("http2"), std::string::npos) << all;  // served
  EXPECT_EQ(all.find("proxyProtocol"), std::string::npos) << all;
  EXPECT_EQ(all.find("middlewares"), std::string::npos) << all;
  EXPECT_EQ(all.find("allowACMEByPass"), std::string::npos) << all;  // false: nothing to say
}

TEST(StaticSections, KeysTraefikDoesNotKnowAreErrors) {
  struct Case {
    std::string yaml, expect;
  };
  const std::vector<Case> cases = {
      {"metrics:\n  prometheus:\n    addRouterLabels: true\n",
       "s.yml:6:5: unknown key `metrics.prometheus.addRouterLabels`; did you mean "
       "`metrics.prometheus.addRoutersLabels`?"},
      {"accessLog:\n  filepath: x\n  formatt: json\n",
       "unknown key `accessLog.formatt`; did you mean `accessLog.format`?"},
      {"log:\n  lvl: debug\n", "unknown key `log.lvl`"},
      {"log:\n  level: loud\n", "`log.level` must be one of"},
      {"log:\n  format: xml\n", "`log.format` must be common or json"},
      {"tracing:\n  otlp:\n    grpc:\n      endpoint: x\n      insecur: true\n",
       "did you mean `tracing.otlp.grpc.insecure`?"},
      {"entryPoints:\n  web:\n    http2:\n      maxStreams: 5\n",
       "unknown key `entryPoints.web.http2.maxStreams`"},
      {"pingg: {}\n", "unknown key `pingg`; did you mean `ping`?"},
      {"api:\n  basePath: api\n", "`api.basePath` must start with /"},
      {"providers:\n  swarm:\n    exposedByDefualt: false\n",
       "unknown key `providers.swarm.exposedByDefualt`; did you mean "
       "`providers.swarm.exposedByDefault`?"},
      {"providers:\n  swarm:\n    refreshSeconds: soon\n",
       "`providers.swarm.refreshSeconds` must be a duration"},
      {"providers:\n  docker:\n    refreshSeconds: 15\n",
       "unknown key `providers.docker.refreshSeconds`"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.yaml);
    auto cfg = decode_static_yaml(kWeb + c.yaml, "s.yml");
    ASSERT_FALSE(cfg);
    EXPECT_NE(cfg.error().message.find(c.expect), std::string::npos) << cfg.error().message;
  }
}

// providers.swarm: Traefik's keys, decoded and checked like providers.docker's.
TEST(StaticSections, SwarmProvider) {
  auto cfg = decode_static_yaml(kWeb +
                                    "providers:\n  swarm:\n    endpoint: tcp://127.0.0.1:2376\n"
                                    "    exposedByDefault: false\n    network: front\n"
                                    "    defaultRule: \"Host(`{{ .Name }}.example`)\"\n"
                                    "    constraints: \"Label(`a`, `b`)\"\n"
                                    "    refreshSeconds: 30\n    httpClientTimeout: 5s\n"
                                    "    allowEmptyServices: true\n    watch: false\n"
                                    "    tls:\n      ca: ca.pem\n      insecureSkipVerify: true\n"
                                    "    useBindPortIP: true\n",
                                "s.yml");
  ASSERT_TRUE(cfg) << cfg.error().message;
  ASSERT_TRUE(cfg->providers.swarm);
  EXPECT_FALSE(cfg->providers.docker);
  const DockerProvider& s = *cfg->providers.swarm;
  EXPECT_EQ(s.endpoint, "tcp://127.0.0.1:2376");
  EXPECT_FALSE(s.exposed_by_default);
  EXPECT_EQ(s.network, "front");
  EXPECT_EQ(s.default_rule, "Host(`{{ .Name }}.example`)");
  EXPECT_EQ(s.constraints, "Label(`a`, `b`)");
  EXPECT_EQ(s.refresh_seconds, std::chrono::seconds(30));
  EXPECT_EQ(s.http_client_timeout, std::chrono::seconds(5));
  EXPECT_TRUE(s.allow_empty_services);
  EXPECT_FALSE(s.watch);
  ASSERT_TRUE(s.tls);
  EXPECT_EQ(s.tls->ca, "ca.pem");
  EXPECT_TRUE(s.tls->insecure_skip_verify);
  EXPECT_NE(joined(cfg->warnings).find("`providers.swarm.useBindPortIP` is not supported yet"),
            std::string::npos);
  // The flags, Traefik's names.
  auto flags = decode_static_sources("", "", {},
                                     {{"providers.swarm", "true"},
                                      {"providers.swarm.refreshSeconds", "1m"},
                                      {"providers.swarm.exposedByDefault", "false"}});
  ASSERT_TRUE(flags) << flags.error().message;
  ASSERT_TRUE(flags->providers.swarm);
  EXPECT_EQ(flags->providers.swarm->refresh_seconds, std::chrono::minutes(1));
  EXPECT_FALSE(flags->providers.swarm->exposed_by_default);
  EXPECT_EQ(flags->providers.swarm->endpoint, "unix:///var/run/docker.sock");
}

TEST(StaticSections, AccessLog) {
  auto cfg = decode_static_yaml(kWeb + R"yaml(accessLog:
  filePath: /var/log/portier/access.log
  format: genericCLF
  bufferingSize: 100
  addInternals: true
  filters:
    statusCodes: ["200", "300-302"]
    retryAttempts: true
    minDuration: 10ms
  fields:
    defaultMode: drop
    names: {ClientUsername: redact, RequestHost: keep}
    headers:
      defaultMode: redact
      names: {user-agent: keep, Authorization: drop}
    queryParameters: {defaultMode: drop}
)yaml",
                                "s.yml");
  ASSERT_TRUE(cfg) << cfg.error().message;
  ASSERT_TRUE(cfg->access_log);
  const AccessLog& a = *cfg->access_log;
  EXPECT_EQ(a.file_path, "/var/log/portier/access.log");
  EXPECT_EQ(a.format, AccessLogFormat::GenericClf);
  EXPECT_EQ(a.buffering_size, 100);
  EXPECT_TRUE(a.add_internals);
  EXPECT_EQ(a.filters.status_codes,
            (std::vector<StatusCodeRange>{{200, 200}, {300, 302}}));
  EXPECT_TRUE(a.filters.retry_attempts);
  EXPECT_EQ(a.filters.min_duration, std::chrono::milliseconds(10));
  EXPECT_EQ(a.fields.default_mode, AccessLogMode::Drop);
  EXPECT_EQ(a.fields.names, (std::map<std::string, AccessLogMode>{
                                {"clientusername", AccessLogMode::Redact},
                                {"requesthost", AccessLogMode::Keep}}));
  EXPECT_EQ(a.fields.headers_default_mode, AccessLogMode::Redact);
  EXPECT_EQ(a.fields.header_names, (std::map<std::string, AccessLogMode>{
                                       {"User-Agent", AccessLogMode::Keep},
                                       {"Authorization", AccessLogMode::Drop}}));
  EXPECT_FALSE(a.fields.keep_query_parameters);
  EXPECT_TRUE(cfg->warnings.empty()) << joined(cfg->warnings);

  // Traefik's defaults: common to stdout, every field kept, every header dropped.
  auto def = decode_static_yaml(kWeb + "accessLog: {}\n", "s.yml");
  ASSERT_TRUE(def) << def.error().message;
  ASSERT_TRUE(def->access_log);
  EXPECT_EQ(*def->access_log, AccessLog{});
  EXPECT_EQ(def->access_log->format, AccessLogFormat::Common);
  EXPECT_EQ(def->access_log->fields.default_mode, AccessLogMode::Keep);
  EXPECT_EQ(def->access_log->fields.headers_default_mode, AccessLogMode::Drop);
  auto off = decode_static_yaml(kWeb + "accessLog: false\n", "s.yml");
  ASSERT_TRUE(off) << off.error().message;
  EXPECT_FALSE(off->access_log);
}

TEST(StaticSections, AccessLogErrors) {
  struct Case {
    std::string yaml, expect;
  };
  const std::vector<Case> cases = {
      {"accessLog:\n  format: xml\n",
       "s.yml:5:11: `accessLog.format` must be common, genericCLF or json (got `xml`)"},
      {"accessLog:\n  bufferingSize: -1\n", "s.yml:5:18: `accessLog.bufferingSize` must be"},
      {"accessLog:\n  filters:\n    statusCodes: [\"200\", \"5xx\"]\n",
       "s.yml:6:18: `accessLog.filters.statusCodes`: `5xx` is not a status code (200) or a "
       "range (300-302)"},
      {"accessLog:\n  filters:\n    statusCodes: [\"302-300\"]\n", "`302-300` is not"},
      {"accessLog:\n  filters:\n    minDuration: soon\n",
       "s.yml:6:18: `accessLog.filters.minDuration` must be a duration"},
      {"accessLog:\n  filters:\n    retryAttempts: maybe\n",
       "`accessLog.filters.retryAttempts` must be true or false"},
      {"accessLog:\n  fields:\n    defaultMode: hide\n",
       "s.yml:6:18: `accessLog.fields.defaultMode` must be keep, drop or redact (got `hide`)"},
      {"accessLog:\n  fields:\n    headers:\n      names: {User-Agent: hide}\n",
       "s.yml:7:27: `accessLog.fields.headers.names.User-Agent` must be keep, drop or redact"},
      {"accessLog:\n  fields:\n    queryParameters: {defaultMode: redact}\n",
       "`accessLog.fields.queryParameters.defaultMode` must be keep or drop (got `redact`)"},
      {"accessLog:\n  fields:\n    headerz: {}\n",
       "unknown key `accessLog.fields.headerz`; did you mean `accessLog.fields.headers`?"},
      {"accessLog:\n  filter: {}\n",
       "unknown key `accessLog.filter`; did you mean `accessLog.filters`?"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.yaml);
    auto cfg = decode_static_yaml(kWeb + c.yaml, "s.yml");
    ASSERT_FALSE(cfg);
    EXPECT_NE(cfg.error().message.find(c.expect), std::string::npos) << cfg.error().message;
  }
}

// Traefik's CLI form of the same section (its docs' example), through the static sources.
TEST(StaticSections, AccessLogFlags) {
  auto flags = flags_to_keys({"--entryPoints.web.address=:80", "--accesslog=true",
                              "--accesslog.format=json", "--accesslog.filepath=/tmp/a.log",
                              "--accesslog.bufferingsize=64",
                              "--accesslog.filters.statuscodes=200,300-302",
                              "--accesslog.filters.retryattempts",
                              "--accesslog.filters.minduration=10ms",
                              "--accesslog.fields.defaultmode=keep",
                              "--accesslog.fields.names.ClientUsername=drop",
                              "--accesslog.fields.headers.defaultmode=keep",
                              "--accesslog.fields.headers.names.User-Agent=redact",
                              "--accesslog.fields.headers.names.Authorization=drop",
                              "--accesslog.fields.queryparameters.defaultmode=drop"});
  ASSERT_TRUE(flags) << flags.error().message;
  auto cfg = decode_static_sources("", "", env_to_keys({"PORTIER_ACCESSLOG_ADDINTERNALS=true"}),
                                   *flags);
  ASSERT_TRUE(cfg) << cfg.error().message;
  ASSERT_TRUE(cfg->access_log);
  const AccessLog& a = *cfg->access_log;
  EXPECT_EQ(a.format, AccessLogFormat::Json);
  EXPECT_EQ(a.file_path, "/tmp/a.log");
  EXPECT_EQ(a.buffering_size, 64);
  EXPECT_TRUE(a.add_internals);
  EXPECT_EQ(a.filters.status_codes,
            (std::vector<StatusCodeRange>{{200, 200}, {300, 302}}));
  EXPECT_TRUE(a.filters.retry_attempts);
  EXPECT_EQ(a.filters.min_duration, std::chrono::milliseconds(10));
  EXPECT_EQ(a.fields.names.at("clientusername"), AccessLogMode::Drop);
  EXPECT_EQ(a.fields.headers_default_mode, AccessLogMode::Keep);
  EXPECT_EQ(a.fields.header_names.at("User-Agent"), AccessLogMode::Redact);
  EXPECT_EQ(a.fields.header_names.at("Authorization"), AccessLogMode::Drop);
  EXPECT_FALSE(a.fields.keep_query_parameters);

  auto bad = flags_to_keys({"--accesslog.fields.names.ClientHost=hide"});
  ASSERT_TRUE(bad);
  auto err = decode_static_sources("", "", {}, *bad);
  ASSERT_FALSE(err);
  EXPECT_NE(err.error().message.find("(flags and environment): `accessLog.fields.names.ClientHost` "
                                     "must be keep, drop or redact"),
            std::string::npos)
      << err.error().message;
}

TEST(StaticSections, LogRotation) {
  auto cfg = decode_static_yaml(
      kWeb + "log:\n  filePath: /tmp/p.log\n  maxSize: 10\n  maxBackups: 3\n  maxAge: 7\n"
             "  compress: true\n",
      "s.yml");
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_EQ(cfg->log.max_size, 10);
  EXPECT_EQ(cfg->log.max_backups, 3);
  EXPECT_EQ(cfg->log.max_age, 7);
  EXPECT_TRUE(cfg->log.compress);
  auto bad = decode_static_yaml(kWeb + "log:\n  maxSize: 10MB\n", "s.yml");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("s.yml:5:12: `log.maxSize` must be an integer"),
            std::string::npos)
      << bad.error().message;
}

TEST(StaticSections, LogLevelsOfTraefik) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"TRACE", "debug"},  {"debug", "debug"}, {"INFO", "info"},   {"WARN", "warn"},
      {"warning", "warn"}, {"ERROR", "error"}, {"FATAL", "error"}, {"panic", "error"}};
  for (const auto& [given, want] : cases) {
    SCOPED_TRACE(given);
    auto cfg = decode_static_yaml(kWeb + "log:\n  level: " + given + "\n", "s.yml");
    ASSERT_TRUE(cfg) << cfg.error().message;
    EXPECT_EQ(cfg->log.level, want);
  }
}

// traefik.yml with its routers next to its entrypoints, named by providers.file.filename: the
// static reader takes its own keys and leaves http/tcp/udp/tls to the file provider.
TEST(StaticSections, CombinedStaticAndDynamicFile) {
  auto cfg = decode_static_yaml(R"yaml(
entryPoints:
  web:
    address: ":80"
providers:
  file:
    filename: traefik.yml
http:
  routers:
    whoami: {rule: "Host(`a`)", service: whoami}
  services:
    whoami:
      loadBalancer:
        servers: [{url: "http://127.0.0.1:1"}]
tcp:
  routers: {}
udp:
  services: {}
tls:
  options: {}
)yaml",
                                "traefik.yml");
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_EQ(cfg->providers.file->filename, "traefik.yml");
  EXPECT_TRUE(cfg->warnings.empty()) << joined(cfg->warnings);
}

TEST(StaticSections, DefaultEntryPoint) {
  struct Case {
    std::string yaml;
    std::map<std::string, std::string> want;  // name -> address
  };
  const std::vector<Case> cases = {
      {"", {{"http", ":80"}}},
      {"log: {level: info}\n", {{"http", ":80"}}},
      // api.insecure's `traefik` entrypoint is added by main (127.0.0.1:8080, see docs).
      {"api: {insecure: true}\n", {{"http", ":80"}}},
      {"entryPoints:\n  web: {address: \":8000\"}\n", {{"web", ":8000"}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.yaml);
    auto cfg = decode_static_yaml(c.yaml, "s.yml");
    ASSERT_TRUE(cfg) << cfg.error().message;
    std::map<std::string, std::string> got;
    for (const auto& [name, ep] : cfg->entry_points) got[name] = ep.address;
    EXPECT_EQ(got, c.want);
  }
}

// ping on `traefik` makes that entrypoint (loopback) when missing; another name must exist.
TEST(StaticSections, PingEntrypoint) {
  auto made = decode_static_yaml(kWeb + "ping: {}\n", "s.yml");
  ASSERT_TRUE(made) << made.error().message;
  ASSERT_TRUE(made->entry_points.count("traefik"));
  EXPECT_EQ(made->entry_points.at("traefik").address, "127.0.0.1:8080");
  EXPECT_EQ(made->ping->terminating_status_code, 503);
  auto manual = decode_static_yaml(kWeb + "ping: {manualRouting: true}\n", "s.yml");
  ASSERT_TRUE(manual);
  EXPECT_FALSE(manual->entry_points.count("traefik"));
  auto on_web = decode_static_yaml(kWeb + "ping: {entryPoint: web}\n", "s.yml");
  ASSERT_TRUE(on_web);
  EXPECT_FALSE(on_web->entry_points.count("traefik"));
  auto missing = decode_static_yaml(kWeb + "ping: {entryPoint: nope}\n", "s.yml");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("ping.entryPoint: no entrypoint `nope`"),
            std::string::npos)
      << missing.error().message;
}

TEST(StaticSections, MetricsPrometheus) {
  auto made = decode_static_yaml(kWeb + "metrics:\n  prometheus: {}\n", "s.yml");
  ASSERT_TRUE(made) << made.error().message;
  ASSERT_TRUE(made->metrics && made->metrics->prometheus);
  const auto& p = *made->metrics->prometheus;
  EXPECT_EQ(p.buckets, (std::vector<double>{0.1, 0.3, 1.2, 5.0}));  // Traefik's defaults
  EXPECT_TRUE(p.add_entrypoints_labels);
  EXPECT_FALSE(p.add_routers_labels);
  EXPECT_TRUE(p.add_services_labels);
  EXPECT_EQ(p.entry_point, "traefik");
  EXPECT_EQ(made->entry_points.at("traefik").address, "127.0.0.1:8080");  // made, as for ping

  auto flags = flags_to_keys({"--entryPoints.web.address=:80", "--metrics.prometheus=true",
                              "--metrics.prometheus.addRoutersLabels=true",
                              "--metrics.prometheus.buckets=2,0.5", "--metrics.addInternals"});
  ASSERT_TRUE(flags) << flags.error().message;
  auto from_flags = decode_static_sources("", "", {}, *flags);
  ASSERT_TRUE(from_flags) << from_flags.error().message;
  ASSERT_TRUE(from_flags->metrics && from_flags->metrics->prometheus);
  EXPECT_TRUE(from_flags->metrics->add_internals);
  EXPECT_TRUE(from_flags->metrics->prometheus->add_routers_labels);
  EXPECT_EQ(from_flags->metrics->prometheus->buckets, (std::vector<double>{0.5, 2}));

  struct Bad {
    std::string yaml;
    std::string error;
  };
  const std::vector<Bad> bad = {
      {"metrics:\n  prometheus:\n    buckets: [0.1, fast]\n",
       "s.yml:6:14: `metrics.prometheus.buckets` must be positive numbers of seconds (got `fast`)"},
      {"metrics:\n  prometheus:\n    buckets: [-1]\n", "must be positive numbers"},
      {"metrics:\n  prometheus:\n    entryPoint: nope\n",
       "metrics.prometheus.entryPoint: no entrypoint `nope`"},
      {"metrics:\n  prometheus:\n    addRouterLabels: true\n", "addRoutersLabels"},
  };
  for (const auto& b : bad) {
    SCOPED_TRACE(b.yaml);
    auto cfg = decode_static_yaml(kWeb + b.yaml, "s.yml");
    ASSERT_FALSE(cfg);
    EXPECT_NE(cfg.error().message.find(b.error), std::string::npos) << cfg.error().message;
  }
}

}  // namespace
}  // namespace portier::config

namespace portier::config {
namespace {

TEST(StaticSections, AcmeChallenges) {
  const std::string head = "certificatesResolvers:\n  le:\n    acme:\n      email: a@b.c\n";
  auto cfg = decode_static_yaml(kWeb + head +
                                    "      tlsChallenge: {delay: 2s}\n"
                                    "      dnsChallenge:\n        provider: dnsupdate\n"
                                    "        resolvers: [\"10.0.0.53:5353\"]\n"
                                    "        delayBeforeCheck: 7\n"
                                    "        propagation: {disableANSChecks: true, requireAllRNS: "
                                    "true}\n",
                                "s.yml");
  ASSERT_TRUE(cfg) << cfg.error().message;
  const AcmeResolver& r = cfg->certificates_resolvers.at("le");
  EXPECT_TRUE(r.tls_challenge);
  EXPECT_EQ(r.tls_challenge_delay, std::chrono::seconds(2));
  EXPECT_EQ(r.dns_challenge.provider, "rfc2136");  // lego v5's dnsupdate is the same provider
  EXPECT_EQ(r.dns_challenge.resolvers, std::vector<std::string>{"10.0.0.53:5353"});
  EXPECT_TRUE(r.dns_challenge.propagation);
  EXPECT_TRUE(r.dns_challenge.disable_ans_checks);
  EXPECT_TRUE(r.dns_challenge.require_all_rns);
  EXPECT_FALSE(r.dns_challenge.disable_checks);
  EXPECT_EQ(r.dns_challenge.delay_before_checks, std::chrono::seconds(7));  // the deprecated key

  struct Case {
    std::string yaml;
    std::string error;
  };
  const std::vector<Case> errors = {
      {"", "`certificatesResolvers.le.acme` needs a challenge"},
      {"      dnsChallenge:\n        provider: route53\n",
       "s.yml:9:19: `certificatesResolvers.le.acme.dnsChallenge.provider`: DNS provider `route53` "
       "is not supported by portier (supported: cloudflare, exec, httpreq, rfc2136)"},
      {"      dnsChallenge: {resolvers: [x]}\n", "dnsChallenge.provider` is required"},
      {"      httpChallenge: {delay: 1s}\n", "httpChallenge.entryPoint` is required"},
      {"      dnsChallenge:\n        provider: exec\n        propagation: {disableCheck: true}\n",
       "unknown key `certificatesResolvers.le.acme.dnsChallenge.propagation.disableCheck`"},
  };
  for (const auto& c : errors) {
    SCOPED_TRACE(c.yaml);
    auto bad = decode_static_yaml(kWeb + head + c.yaml, "s.yml");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find(c.error), std::string::npos) << bad.error().message;
  }
}

}  // namespace
}  // namespace portier::config
