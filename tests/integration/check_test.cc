// `portier check`: every problem of a configuration printed with where it is, exit 1 on an
// error and 0 on warnings only, and nothing served.
#include <gtest/gtest.h>

#include <filesystem>

#include "support/net.h"
#include "support/process.h"

namespace portier::test {
namespace {

using namespace std::chrono_literals;

struct Checked {
  int exit = -1;
  std::string output;
};

Checked check(const TempDir& dir, std::vector<std::string> extra = {},
              const std::string& binary = PORTIER_BIN) {
  std::vector<std::string> argv = {binary, "check",
                                   "--configFile=" + (dir.path() / "portier.yml").string()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto proc = Process::start(argv, dir.path() / "check.log");
  Checked c;
  auto code = proc->wait_exit(20s);
  c.exit = code ? *code : -1;
  c.output = proc->log();
  return c;
}

// The waf middleware's ModSecurity module: found beside an installed portier
// (<prefix>/bin/portier, <prefix>/lib/portier/portier-modsecurity.so); when it is missing, the
// check names the files tried. The binary is copied out of the build tree, so it does not look
// there.
TEST(Check, TheWafModuleIsFoundBesideAnInstalledPortierOrReported) {
  if (std::filesystem::exists("/usr/local/lib/portier/portier-modsecurity.so")) {
    GTEST_SKIP() << "a module installed in /usr/local would be found";
  }
  TempDir dir;
  const auto prefix = dir.path() / "prefix";
  std::filesystem::create_directories(prefix / "bin");
  std::filesystem::copy_file(PORTIER_BIN, prefix / "bin" / "portier");
  const std::string binary = (prefix / "bin" / "portier").string();
  dir.write("portier.yml",
            "entryPoints:\n  web:\n    address: \"127.0.0.1:" + std::to_string(free_port()) +
                "\"\nproviders:\n  file:\n    filename: waf.yml\n");
  dir.write("waf.yml", "http:\n  middlewares:\n    firewall:\n      waf:\n        crs: false\n");

  Checked missing = check(dir, {}, binary);
  EXPECT_EQ(missing.exit, 1) << missing.output;
  const std::string beside = (prefix / "bin" / ".." / "lib" / "portier").string();
  for (const std::string& want :
       {std::string("error: middleware firewall@file: waf: ModSecurity's module "
                    "portier-modsecurity.so cannot be loaded"),
        beside + "/portier-modsecurity.so: no such file"}) {
    EXPECT_NE(missing.output.find(want), std::string::npos) << want << "\n" << missing.output;
  }
  const std::string build_module = WAF_MODULE;
  EXPECT_EQ(missing.output.find(build_module), std::string::npos)
      << "a portier outside the build tree tried the build tree's module\n"
      << missing.output;

  std::filesystem::create_directories(prefix / "lib" / "portier");
  std::filesystem::copy_file(WAF_MODULE, prefix / "lib" / "portier" / "portier-modsecurity.so");
  Checked found = check(dir, {}, binary);
  EXPECT_EQ(found.exit, 0) << found.output;
  EXPECT_NE(found.output.find("0 error(s)"), std::string::npos) << found.output;
}

TEST(Check, ReportsEveryProblemWithWhereItIsAndServesNothing) {
  TempDir dir;
  const int port = free_port();
  dir.write("portier.yml",
            "entryPoints:\n  web:\n    address: \"127.0.0.1:" + std::to_string(port) +
                "\"\nproviders:\n  file:\n    directory: conf\n");
  std::filesystem::create_directory(dir.path() / "conf");
  dir.write("conf/good.yml",
            "http:\n  routers:\n    ok:\n      rule: \"Host(`ok.test`)\"\n      service: s\n"
            "    broken:\n      rule: \"Host(`b.test`\"\n      service: s\n"
            "    orphan:\n      rule: \"PathPrefix(`/x`)\"\n      service: nothere\n"
            "    secure:\n      rule: \"Host(`s.test`)\"\n      service: s\n"
            "      tls:\n        certResolver: missing\n"
            "  services:\n    s:\n      loadBalancer:\n        servers:\n"
            "          - url: \"http://127.0.0.1:9\"\n");
  dir.write("conf/typo.yml", "http:\n  routers:\n    x:\n      rulle: \"Host(`x`)\"\n");
  Checked c = check(dir);
  EXPECT_EQ(c.exit, 1) << c.output;
  for (const std::string want :
       {"error: router x@file: ",
        "typo.yml:4:7: unknown key `http.routers.x.rulle`; did you "
        "mean `http.routers.x.rule`?",
        "error: router broken@file: rule", "error: router orphan@file: service `nothere@file`",
        "warning: router secure@file: certificate resolver `missing` does not exist",
        "3 error(s), 1 warning(s)"}) {
    EXPECT_NE(c.output.find(want), std::string::npos) << want << "\n" << c.output;
  }
  EXPECT_EQ(c.output.find("level="), std::string::npos) << "no log lines, only the report";
  bool listening = true;
  try {
    Conn probe(port, 1s);
  } catch (const std::exception&) {
    listening = false;
  }
  EXPECT_FALSE(listening) << "check must not listen";

  // Fixed: warnings alone exit 0.
  std::filesystem::remove(dir.path() / "conf" / "typo.yml");
  dir.write("conf/good.yml",
            "http:\n  routers:\n    secure:\n      rule: \"Host(`s.test`)\"\n      service: s\n"
            "      tls:\n        certResolver: missing\n"
            "  services:\n    s:\n      loadBalancer:\n        servers:\n"
            "          - url: \"http://127.0.0.1:9\"\n");
  c = check(dir);
  EXPECT_EQ(c.exit, 0) << c.output;
  EXPECT_NE(c.output.find("0 error(s), 1 warning(s)"), std::string::npos) << c.output;
}

TEST(Check, AnInvalidStaticConfigurationExits2) {
  TempDir dir;
  dir.write("portier.yml", "entryPoints:\n  web:\n    adress: \":80\"\n");
  Checked c = check(dir);
  EXPECT_EQ(c.exit, 2) << c.output;
  EXPECT_NE(c.output.find("did you mean `entryPoints.web.address`"), std::string::npos) << c.output;
}

}  // namespace
}  // namespace portier::test
