// The waf middleware's rule sets: the directives portier generates, ModSecurity's errors named
// by option, and one compiled set per configuration. Real ModSecurity and the installed CRS
// (modsecurity-crs); requests through them: tests/integration/waf_test.cc.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "proxy/middlewares/waf_rules.h"

namespace portier::proxy::mw {
namespace {

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(WafRules, SetupDirectives) {
  struct Case {
    std::string name;
    std::function<void(config::Waf&)> edit;
    std::vector<std::string> want, not_want;
  };
  const std::vector<Case> cases = {
      {"defaults: blocking, CRS at paranoia level 1, threshold 5, 128 KiB of body",
       [](config::Waf&) {},
       {"SecRuleEngine On\n", "SecRequestBodyAccess On\n", "SecRequestBodyLimit 131072\n",
        "SecRequestBodyLimitAction ProcessPartial\n", "ctl:requestBodyProcessor=JSON", "id:200002",
        "setvar:tx.crs_setup_version=334", "setvar:tx.paranoia_level=1\"",
        "setvar:tx.inbound_anomaly_score_threshold=5\""},
       {"DetectionOnly"}},
      {"detect mode",
       [](config::Waf& w) { w.mode = "detect"; },
       {"SecRuleEngine DetectionOnly\n"},
       {"SecRuleEngine On"}},
      {"paranoia level and threshold",
       [](config::Waf& w) {
         w.paranoia_level = 3;
         w.anomaly_threshold = 12;
       },
       {"setvar:tx.paranoia_level=3\"", "setvar:tx.inbound_anomaly_score_threshold=12\""},
       {}},
      {"no body inspection",
       [](config::Waf& w) { w.request_body_limit = 0; },
       {"SecRequestBodyAccess Off\n"},
       {"SecRequestBodyAccess On"}},
      {"no CRS: no CRS settings",
       [](config::Waf& w) { w.crs = false; },
       {"SecRuleEngine On\n"},
       {"tx.paranoia_level", "SecDefaultAction", "900990"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    config::Waf w;
    c.edit(w);
    const std::string got = waf_setup_directives(w);
    for (const auto& s : c.want) EXPECT_TRUE(contains(got, s)) << s << "\n" << got;
    for (const auto& s : c.not_want) EXPECT_FALSE(contains(got, s)) << s << "\n" << got;
  }
}

TEST(WafRules, ErrorsNameTheOptionAndCarryModSecuritysMessage) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("waf_rules_test." + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "bad.conf") << "SecRule ARGS \"@rx a\" \"id:1001,phase:2,deny\"\n"
                                  << "SecRule NOSUCHVAR \"@rx a\" \"id:1002,phase:2,deny\"\n";
  std::ofstream(dir / "good.conf") << "SecRule ARGS \"@rx a\" \"id:1003,phase:2,deny\"\n";
  struct Case {
    std::string name;
    std::function<void(config::Waf&)> edit;
    std::vector<std::string> want;  // substrings of the error; empty: compiles
  };
  const std::vector<Case> cases = {
      {"the CRS and inline rules",
       [](config::Waf& w) { w.rules = "SecRuleRemoveById 920350"; },
       {}},
      {"rule files by glob",
       [&](config::Waf& w) { w.rule_files = {(dir / "go*.conf").string()}; },
       {}},
      {"inline syntax error",
       [](config::Waf& w) {
         w.crs = false;
         w.rules = "SecRule ARGS \"@rx x\" \"id:1,phase:2,nosuchaction\"";
       },
       {"waf.rules: ", "File: waf.rules. Line: 1.", "nosuchaction"}},
      {"a rule without an id",
       [](config::Waf& w) { w.rules = "SecRule ARGS \"@rx x\" \"phase:2,deny\""; },
       {"waf.rules: ", "Rules must have an ID"}},
      {"missing rule file",
       [](config::Waf& w) { w.rule_files = {"/nonexistent/waf/rules.conf"}; },
       {"waf.ruleFiles: `/nonexistent/waf/rules.conf` matches no file"}},
      {"glob matching nothing",
       [&](config::Waf& w) { w.rule_files = {(dir / "none-*.conf").string()}; },
       {"waf.ruleFiles: `", "none-*.conf` matches no file"}},
      {"syntax error in a rule file",
       [&](config::Waf& w) {
         w.crs = false;
         w.rule_files = {(dir / "bad.conf").string()};
       },
       {"waf.ruleFiles: ", "bad.conf", "Line: 2", "NOSUCHVAR"}},
      {"bad crsSetup",
       [](config::Waf& w) { w.crs_setup = "SecNoSuchDirective On"; },
       {"waf.crsSetup: "}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    config::Waf w;
    c.edit(w);
    auto r = waf_rules(w);
    if (c.want.empty()) {
      EXPECT_TRUE(r) << r.error().message;
      continue;
    }
    ASSERT_FALSE(r);
    for (const auto& s : c.want) EXPECT_TRUE(contains(r.error().message, s)) << r.error().message;
  }
  std::filesystem::remove_all(dir);
}

// Loading the CRS takes a while: an equal configuration gets the set already compiled, a
// different one its own.
TEST(WafRules, OneSetPerConfiguration) {
  config::Waf a;
  a.rules = "SecRuleRemoveById 920350";
  auto first = waf_rules(a);
  ASSERT_TRUE(first) << first.error().message;
  auto again = waf_rules(a);
  ASSERT_TRUE(again);
  EXPECT_EQ(first->get(), again->get());
  config::Waf b = a;
  b.paranoia_level = 2;
  auto other = waf_rules(b);
  ASSERT_TRUE(other);
  EXPECT_NE(first->get(), other->get());
}

}  // namespace
}  // namespace portier::proxy::mw
