// serversTransports as configured: the dynamic http.serversTransports entries with Traefik v3's
// option names (and the errors a wrong one gets), the static serversTransport's TLS defaults
// from a file and from flags, the name@provider qualification of a service's reference, and the
// Docker label that names a transport.
#include <gtest/gtest.h>

#include "config/decode.h"
#include "config/merge.h"
#include "config/static_sources.h"
#include "providers/docker/labels.h"

namespace portier::config {
namespace {

using namespace std::chrono_literals;

TEST(ServersTransportDecode, TraefikOptions) {
  auto cfg = decode_dynamic_yaml(
      "http:\n  serversTransports:\n    t:\n"
      "      serverName: backend.test\n"
      "      insecureSkipVerify: true\n"
      "      rootCAs: [/ca1.pem, /ca2.pem]\n"
      "      certificates:\n        - certFile: /c.pem\n          keyFile: /k.pem\n"
      "      cipherSuites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n"
      "      minVersion: VersionTLS12\n      maxVersion: VersionTLS13\n"
      "      maxIdleConnsPerHost: 7\n"
      "      disableHTTP2: true\n"
      "      peerCertURI: spiffe://x/y\n"
      "      peerCertSANs:\n        - type: DNSName\n          value: a.test\n"
      "      forwardingTimeouts:\n        dialTimeout: 5s\n        responseHeaderTimeout: 2s\n"
      "        idleConnTimeout: 1m\n        readIdleTimeout: 1s\n        pingTimeout: 2s\n"
      "    defaults: {}\n",
      "d.yml");
  ASSERT_TRUE(cfg) << cfg.error().message;
  const HttpServersTransport& t = cfg->http.servers_transports.at("t");
  EXPECT_EQ(t.server_name, "backend.test");
  EXPECT_TRUE(t.insecure_skip_verify);
  EXPECT_EQ(t.root_cas, (std::vector<std::string>{"/ca1.pem", "/ca2.pem"}));
  ASSERT_EQ(t.certificates.size(), 1u);
  EXPECT_EQ(t.certificates[0].cert_file, "/c.pem");
  EXPECT_EQ(t.certificates[0].key_file, "/k.pem");
  EXPECT_EQ(t.cipher_suites.size(), 1u);
  EXPECT_EQ(t.min_version, "VersionTLS12");
  EXPECT_EQ(t.max_version, "VersionTLS13");
  EXPECT_EQ(t.max_idle_conns_per_host, 7);
  EXPECT_TRUE(t.disable_http2);
  EXPECT_EQ(t.peer_cert_uri, "spiffe://x/y");
  ASSERT_EQ(t.peer_cert_sans.size(), 1u);
  EXPECT_EQ(t.peer_cert_sans[0].type, "DNSName");
  EXPECT_EQ(t.forwarding_timeouts.dial_timeout, 5s);
  EXPECT_EQ(t.forwarding_timeouts.response_header_timeout, 2s);
  EXPECT_EQ(t.forwarding_timeouts.idle_conn_timeout, 60s);
  EXPECT_TRUE(t.provider_error.empty());
  // Defaults: Traefik's, but responseHeaderTimeout (portier's 60 s, as the static one).
  const HttpServersTransport& d = cfg->http.servers_transports.at("defaults");
  EXPECT_EQ(d, HttpServersTransport{});
  EXPECT_FALSE(d.insecure_skip_verify);
  EXPECT_EQ(d.max_idle_conns_per_host, 200);
  EXPECT_EQ(d.forwarding_timeouts.dial_timeout, 30s);
  EXPECT_EQ(d.forwarding_timeouts.idle_conn_timeout, 90s);
  EXPECT_TRUE(cfg->warnings.empty());
}

TEST(ServersTransportDecode, MaxIdleZeroAndNegativeAsTraefik) {
  struct Case {
    std::string value;
    int want;
  };
  const std::vector<Case> cases = {{"0", 2}, {"-1", 0}, {"5", 5}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.value);
    auto cfg = decode_dynamic_yaml(
        "http:\n  serversTransports:\n    t:\n      maxIdleConnsPerHost: " + c.value + "\n",
        "d.yml");
    ASSERT_TRUE(cfg) << cfg.error().message;
    EXPECT_EQ(cfg->http.servers_transports.at("t").max_idle_conns_per_host, c.want);
  }
}

TEST(ServersTransportDecode, WrongOptionsDisableTheTransportWithTheirError) {
  struct Case {
    std::string body;  // the transport's lines
    std::string error;
  };
  const std::vector<Case> cases = {
      {"      minVersion: TLS1.2\n", "unknown TLS version `TLS1.2`"},
      {"      certificates:\n        - certFile: /c.pem\n", "needs certFile and keyFile"},
      {"      certificates: /c.pem\n", "must be a list of {certFile, keyFile}"},
      {"      peerCertSANs:\n        - type: Email\n          value: x\n",
       "must be URI or DNSName"},
      {"      insecureSkipVerfy: true\n", "insecureSkipVerify"},  // a misspelling, corrected
      {"      forwardingTimeouts:\n        dialTimeout: soon\n", "dialTimeout"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.body);
    auto cfg = decode_dynamic_yaml("http:\n  serversTransports:\n    t:\n" + c.body, "d.yml");
    ASSERT_TRUE(cfg) << cfg.error().message;
    const std::string& err = cfg->http.servers_transports.at("t").provider_error;
    EXPECT_NE(err.find(c.error), std::string::npos) << err;
  }
}

TEST(ServersTransportDecode, SpiffeIsReadThenRefusedByTheBuilder) {
  auto cfg = decode_dynamic_yaml(
      "http:\n  serversTransports:\n    t:\n      spiffe:\n        ids: [spiffe://a/b]\n", "d.yml");
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_TRUE(cfg->http.servers_transports.at("t").spiffe);
}

TEST(ServersTransportDecode, StaticDefaultsFromFileAndFlags) {
  auto file = decode_static_yaml(
      "entryPoints:\n  web:\n    address: \":80\"\n"
      "serversTransport:\n  insecureSkipVerify: true\n  rootCAs: [/a.pem]\n",
      "s.yml");
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_TRUE(file->servers_transport.insecure_skip_verify);
  EXPECT_EQ(file->servers_transport.root_cas, (std::vector<std::string>{"/a.pem"}));
  EXPECT_TRUE(file->warnings.empty());

  auto flags =
      flags_to_keys({"--entryPoints.web.address=:80", "--serversTransport.insecureSkipVerify=true",
                     "--serversTransport.rootCAs=/a.pem,/b.pem",
                     "--serversTransport.forwardingTimeouts.dialTimeout=3s"});
  ASSERT_TRUE(flags);
  auto cfg = decode_static_sources("", "", {}, *flags);
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_TRUE(cfg->servers_transport.insecure_skip_verify);
  EXPECT_EQ(cfg->servers_transport.root_cas, (std::vector<std::string>{"/a.pem", "/b.pem"}));
  EXPECT_EQ(cfg->servers_transport.forwarding_timeouts.dial_timeout, 3s);
}

TEST(ServersTransportDecode, MergeQualifiesReferencesAndNames) {
  Configuration file;
  file.http.servers_transports["t"] = HttpServersTransport{};
  Service local, cross, none;
  local.load_balancer = LoadBalancer{};
  local.load_balancer->servers_transport = "t";
  cross.load_balancer = LoadBalancer{};
  cross.load_balancer->servers_transport = "t@file";
  none.load_balancer = LoadBalancer{};
  Configuration docker;
  docker.http.services["local"] = local;
  docker.http.services["cross"] = cross;
  docker.http.services["none"] = none;
  auto merged = merge({{"file", file}, {"docker", docker}});
  EXPECT_EQ(merged.http.servers_transports.count("t@file"), 1u);
  EXPECT_EQ(merged.http.services.at("local@docker").load_balancer->servers_transport, "t@docker");
  EXPECT_EQ(merged.http.services.at("cross@docker").load_balancer->servers_transport, "t@file");
  EXPECT_EQ(merged.http.services.at("none@docker").load_balancer->servers_transport, "");
}

TEST(ServersTransportDecode, DockerLabelNamesATransport) {
  auto d = providers::docker::decode_labels(
      {{"traefik.http.services.s.loadbalancer.serverstransport", "mytransport@file"},
       {"traefik.http.services.s.loadbalancer.server.port", "8443"},
       {"traefik.http.services.s.loadbalancer.server.scheme", "https"}},
      {"portier", "traefik"}, "c");
  ASSERT_TRUE(d.errors.empty()) << d.errors[0].message;
  EXPECT_EQ(d.config.http.services.at("s").load_balancer->servers_transport, "mytransport@file");
  EXPECT_EQ(d.servers.at("s").scheme, "https");
}

}  // namespace
}  // namespace portier::config
