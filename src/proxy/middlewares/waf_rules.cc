#include "proxy/middlewares/waf_rules.h"

#include <glob.h>
#include <modsecurity/modsecurity.h>
#include <modsecurity/rules_set.h>

#include <chrono>
#include <deque>
#include <mutex>
#include <vector>

#include "common/log.h"

#ifndef PORTIER_CRS_DIR
#define PORTIER_CRS_DIR "/usr/share/modsecurity-crs/rules"
#endif

namespace portier::proxy::mw {
namespace {

// A compiled set or its error, for one configuration. Sets are held weakly (the tables own
// them); a few recent ones strongly, so the configuration check's set (middleware_error, built
// just before the routers) is still there when the routers are built. Errors are kept for a
// short while so a broken middleware used by many routers is not parsed once per router.
struct Entry {
  config::Waf cfg;
  std::weak_ptr<const WafRules> rules;
  std::string error;
  std::chrono::steady_clock::time_point error_at;
};
constexpr std::size_t kRecent = 4;
constexpr auto kErrorTtl = std::chrono::seconds(2);

std::mutex g_mu;  // ModSecurity's parser has global state: one compile at a time
std::vector<Entry> g_cache;
std::deque<std::shared_ptr<const WafRules>> g_recent;

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// The files a path or glob names, sorted; empty when none.
std::vector<std::string> expand(const std::string& pattern) {
  std::vector<std::string> out;
  glob_t g{};
  if (glob(pattern.c_str(), GLOB_ERR, nullptr, &g) == 0) {
    for (std::size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
  }
  globfree(&g);
  return out;
}

// `option` names the text in ModSecurity's messages ("File: waf.rules. Line: 1. ...").
Result<bool> add_text(modsecurity::RulesSet* rs, const std::string& text, const char* option) {
  const std::string ref = std::string("waf.") + option;
  if (rs->load(text.c_str(), ref) < 0) return Error{ref + ": " + trimmed(rs->getParserError())};
  return true;
}

Result<bool> add_files(modsecurity::RulesSet* rs, const std::string& pattern, const char* option) {
  auto files = expand(pattern);
  if (files.empty()) {
    return Error{std::string("waf.") + option + ": `" + pattern + "` matches no file"};
  }
  for (const auto& f : files) {
    if (rs->loadFromUri(f.c_str()) < 0) {
      return Error{std::string("waf.") + option + ": " + trimmed(rs->getParserError())};
    }
  }
  return true;
}

Result<std::shared_ptr<const WafRules>> compile(const config::Waf& cfg) {
  auto rules = std::make_shared<const WafRules>(modsecurity::msc_create_rules_set());
  modsecurity::RulesSet* rs = rules->rules();
  if (auto r = add_text(rs, waf_setup_directives(cfg), "setup"); !r) return r.error();
  if (!cfg.crs_setup.empty()) {
    if (auto r = add_text(rs, cfg.crs_setup, "crsSetup"); !r) return r.error();
  }
  if (cfg.crs) {
    const std::string dir = waf_crs_dir();
    if (expand(dir + "/REQUEST-901-INITIALIZATION.conf").empty()) {
      return Error{"waf.crs: the OWASP Core Rule Set is not installed in " + dir +
                   " (Debian: apt-get install modsecurity-crs)"};
    }
    if (auto r = add_files(rs, dir + "/*.conf", "crs"); !r) return r.error();
  }
  if (!cfg.rules.empty()) {
    if (auto r = add_text(rs, cfg.rules, "rules"); !r) return r.error();
  }
  for (const auto& f : cfg.rule_files) {
    if (auto r = add_files(rs, f, "ruleFiles"); !r) return r.error();
  }
  return std::shared_ptr<const WafRules>(std::move(rules));
}

}  // namespace

WafRules::~WafRules() { modsecurity::msc_rules_cleanup(rules_); }

const char* waf_crs_dir() { return PORTIER_CRS_DIR; }

modsecurity::ModSecurity* waf_engine() {
  static modsecurity::ModSecurity* const engine = [] {
    auto* ms = modsecurity::msc_init();
    modsecurity::msc_set_connector_info(ms, "portier");
    ms->setServerLogCb(&waf_on_rule_message, modsecurity::RuleMessageLogProperty);
    return ms;
  }();
  return engine;
}

std::string waf_setup_directives(const config::Waf& c) {
  const bool body = c.request_body_limit > 0;
  const std::string limit = std::to_string(body ? c.request_body_limit : 1);
  std::string s;
  s += c.mode == "detect" ? "SecRuleEngine DetectionOnly\n" : "SecRuleEngine On\n";
  s += body ? "SecRequestBodyAccess On\n" : "SecRequestBodyAccess Off\n";
  // portier enforces requestBodyLimit itself (waf.cc) and hands over at most that much.
  s += "SecRequestBodyLimit " + limit + "\nSecRequestBodyNoFilesLimit " + limit + "\n";
  s += "SecRequestBodyLimitAction ProcessPartial\n";
  s += "SecResponseBodyAccess Off\nSecAuditEngine Off\nSecArgumentSeparator &\n";
  s += "SecCookieFormat 0\n";
  // The body processors and body checks of ModSecurity's modsecurity.conf-recommended (same
  // ids), which the CRS expects.
  s += "SecRule REQUEST_HEADERS:Content-Type \"@rx ^(?:application(?:/soap\\+|/)|text/)xml\" "
       "\"id:200000,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=XML\"\n";
  s += "SecRule REQUEST_HEADERS:Content-Type \"@rx ^application/json\" "
       "\"id:200001,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=JSON\"\n";
  s += "SecRule REQBODY_ERROR \"!@eq 0\" \"id:200002,phase:2,t:none,log,deny,status:400,"
       "msg:'Failed to parse request body.',logdata:'%{reqbody_error_msg}',severity:2\"\n";
  s += "SecRule MULTIPART_STRICT_ERROR \"!@eq 0\" \"id:200003,phase:2,t:none,log,deny,"
       "status:400,msg:'Multipart request body failed strict validation'\"\n";
  if (c.crs) {
    // crs-setup.conf's settings (Debian's copy is not read: the options below replace it).
    s += "SecDefaultAction \"phase:1,log,auditlog,pass\"\n";
    s += "SecDefaultAction \"phase:2,log,auditlog,pass\"\n";
    s += "SecAction \"id:900990,phase:1,nolog,pass,t:none,setvar:tx.crs_setup_version=334\"\n";
    s += "SecAction \"id:900000,phase:1,nolog,pass,t:none,setvar:tx.paranoia_level=" +
         std::to_string(c.paranoia_level) + "\"\n";
    s += "SecAction \"id:900110,phase:1,nolog,pass,t:none,"
         "setvar:tx.inbound_anomaly_score_threshold=" +
         std::to_string(c.anomaly_threshold) + "\"\n";
  }
  return s;
}

Result<std::shared_ptr<const WafRules>> waf_rules(const config::Waf& cfg) {
  waf_engine();  // the callback is in place before any transaction
  std::lock_guard lock(g_mu);
  const auto now = std::chrono::steady_clock::now();
  std::erase_if(g_cache, [&](const Entry& e) {
    return e.error.empty() ? e.rules.expired() : now - e.error_at > kErrorTtl;
  });
  for (const auto& e : g_cache) {
    if (!(e.cfg == cfg)) continue;
    if (!e.error.empty()) return Error{e.error};
    if (auto held = e.rules.lock()) return held;
  }
  const auto started = std::chrono::steady_clock::now();
  auto made = compile(cfg);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  log::info("waf: rule set compiled", {{"crs", cfg.crs ? "true" : "false"},
                                       {"ms", std::to_string(ms.count())},
                                       {"ok", made ? "true" : "false"}});
  if (!made) {
    g_cache.push_back({cfg, {}, made.error().message, now});
    return made.error();
  }
  g_cache.push_back({cfg, *made, "", now});
  g_recent.push_back(*made);
  if (g_recent.size() > kRecent) g_recent.pop_front();
  return made;
}

}  // namespace portier::proxy::mw
