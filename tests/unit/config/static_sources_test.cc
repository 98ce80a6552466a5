// Static configuration from file, environment and flags, and their precedence.
#include "config/static_sources.h"

#include <gtest/gtest.h>

namespace portier::config {
namespace {

const std::string kFile = "entryPoints:\n  web:\n    address: \":80\"\nlog:\n  level: info\n";

TEST(StaticSources, FlagsOverEnvironmentOverFile) {
  auto env =
      env_to_keys({"PORTIER_ENTRYPOINTS_WEB_ADDRESS=:81", "HOME=/root", "PORTIER_LOG_LEVEL=debug"});
  auto flags = flags_to_keys({"--entryPoints.web.address=:82"});
  ASSERT_TRUE(flags);
  auto all = decode_static_sources("p.yml", kFile, env, *flags);
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_EQ(all->entry_points.at("web").address, ":82");
  EXPECT_EQ(all->log.level, "debug");
  auto no_flags = decode_static_sources("p.yml", kFile, env, {});
  ASSERT_TRUE(no_flags);
  EXPECT_EQ(no_flags->entry_points.at("web").address, ":81");
  auto file_only = decode_static_sources("p.yml", kFile, {}, {});
  ASSERT_TRUE(file_only);
  EXPECT_EQ(file_only->entry_points.at("web").address, ":80");
  EXPECT_EQ(file_only->log.level, "info");
}

TEST(StaticSources, FlagsAlone) {
  auto flags = flags_to_keys({"--entryPoints.web.address", "127.0.0.1:8000",
                              "--ENTRYPOINTS.web.forwardedHeaders.trustedIPs=10.0.0.0/8,::1",
                              "--providers.file.directory=/etc/dyn", "--providers.file.watch",
                              "--log.level=warn"});
  ASSERT_TRUE(flags) << flags.error().message;
  auto cfg = decode_static_sources("", "", {}, *flags);
  ASSERT_TRUE(cfg) << cfg.error().message;
  const auto& web = cfg->entry_points.at("web");
  EXPECT_EQ(web.address, "127.0.0.1:8000");
  EXPECT_EQ(web.forwarded_headers.trusted_ips, (std::vector<std::string>{"10.0.0.0/8", "::1"}));
  ASSERT_TRUE(cfg->providers.file);
  EXPECT_TRUE(cfg->providers.file->watch);
  EXPECT_EQ(cfg->log.level, "warn");
}

TEST(StaticSources, MisspeltFlagOrVariableIsRefused) {
  auto flags = flags_to_keys({"--entryPoints.web.adress=:80"});
  ASSERT_TRUE(flags);
  auto cfg = decode_static_sources("", "", {}, *flags);
  ASSERT_FALSE(cfg);
  EXPECT_NE(cfg.error().message.find("unknown key `entryPoints.web.adress`; did you mean "
                                     "`entryPoints.web.address`?"),
            std::string::npos)
      << cfg.error().message;
  auto env = decode_static_sources("", "", env_to_keys({"PORTIER_LOG_LEVELL=debug"}), {});
  ASSERT_FALSE(env);
  EXPECT_NE(env.error().message.find("log.levell"), std::string::npos) << env.error().message;
  EXPECT_FALSE(flags_to_keys({"stray"}));
}

TEST(StaticSources, FileErrorsKeepTheirLines) {
  auto cfg = decode_static_sources("p.yml", "entryPoints:\n  web:\n    adress: x\n", {}, {});
  ASSERT_FALSE(cfg);
  EXPECT_NE(cfg.error().message.find("p.yml:3:5: unknown key"), std::string::npos)
      << cfg.error().message;
}

TEST(StaticSources, EveryDocumentedOptionDecodes) {
  for (const auto& o : static_options()) {
    std::string key(o.key);
    if (auto p = key.find("<name>"); p != std::string::npos) key.replace(p, 6, "web");
    std::string value(o.default_value);
    if (value.empty()) value = key.find("directory") != std::string::npos ? "" : "x";
    if (key.find("address") != std::string::npos) value = ":80";
    if (key.find("trustedIPs") != std::string::npos) value = "10.0.0.0/8";
    if (key.find("providers.file") != std::string::npos) continue;  // filename xor directory
    if (key.ends_with(".to") || key.ends_with("httpChallenge.entryPoint")) value = "web";
    if (key.ends_with("http.tls") || key == "api" || key == "ping" || key == "providers.docker" ||
        key == "providers.swarm" || key == "metrics.prometheus") {
      value = "true";
    }
    if (key == "ping.entryPoint") value = "web";
    if (key.ends_with("dnsChallenge.provider")) value = "exec";
    if (key.starts_with("accessLog.fields.")) value = "keep";
    if (key.ends_with("statusCodes")) value = "200,300-302";
    if (key.ends_with(".priority")) value = "10";
    SCOPED_TRACE(key + "=" + value);
    std::vector<KeyValue> flags = {{key, value}};
    if (key != "entryPoints.web.address") flags.push_back({"entryPoints.web.address", ":80"});
    if (key.find("redirections.entryPoint.") != std::string::npos && !key.ends_with(".to")) {
      flags.push_back({"entryPoints.web.http.redirections.entryPoint.to", "web"});
    }
    if (key.starts_with("certificatesResolvers") && !key.ends_with("httpChallenge.entryPoint")) {
      flags.push_back({"certificatesResolvers.web.acme.httpChallenge.entryPoint", "web"});
    }
    // onDemand needs its ask URL whatever else is set.
    if (key.ends_with("onDemand.ask")) {
      flags[0].second = "http://127.0.0.1:9000/check";
    } else if (key.find(".onDemand.") != std::string::npos) {
      flags.push_back({"certificatesResolvers.web.acme.onDemand.ask", "http://127.0.0.1:9000/"});
    }
    if (key.find("dnsChallenge.") != std::string::npos && !key.ends_with(".provider")) {
      flags.push_back({"certificatesResolvers.web.acme.dnsChallenge.provider", "exec"});
    }
    auto cfg = decode_static_sources("", "", {}, flags);
    EXPECT_TRUE(cfg) << cfg.error().message;
  }
}

}  // namespace
}  // namespace portier::config

namespace portier::config {
namespace {

TEST(StaticSources, LinesStayTrueInACommentedFile) {
  const std::string text =
      "# portier static configuration\n\nentryPoints:\n  # the plain HTTP one\n\n  web:\n"
      "    adress: \":80\"\n";
  auto cfg = decode_static_sources("p.yml", text, {}, flags_to_keys({"--log.level=debug"}).value());
  ASSERT_FALSE(cfg);
  EXPECT_NE(cfg.error().message.find("p.yml:7:5: unknown key `entryPoints.web.adress`"),
            std::string::npos)
      << cfg.error().message;
}

TEST(StaticSources, TomlFile) {
  const std::string text =
      "[entryPoints.web]\naddress = \":80\"\n[entryPoints.web.forwardedHeaders]\n"
      "trustedIPs = [\"10.0.0.0/8\"]\n[providers]\nprovidersThrottleDuration = \"1s\"\n"
      "[providers.file]\ndirectory = \"/etc/portier/dynamic\"\nwatch = false\n[log]\nlevel = "
      "\"WARN\"\n";
  auto cfg = decode_static_sources("p.toml", text, {}, {});
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_EQ(cfg->entry_points.at("web").address, ":80");
  EXPECT_EQ(cfg->entry_points.at("web").forwarded_headers.trusted_ips.size(), 1u);
  EXPECT_EQ(cfg->providers.providers_throttle_duration, std::chrono::seconds(1));
  EXPECT_FALSE(cfg->providers.file->watch);
  auto bad = decode_static_sources("p.toml", "[entryPoints.web]\naddress = \n", {}, {});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("p.toml:2:"), std::string::npos) << bad.error().message;
  auto unknown = decode_static_sources("p.toml", "[entryPoints.web]\nadress = \":80\"\n", {}, {});
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("unknown key `entryPoints.web.adress`"),
            std::string::npos);
}

}  // namespace
}  // namespace portier::config
