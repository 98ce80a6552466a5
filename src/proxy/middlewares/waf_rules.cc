#include "proxy/middlewares/waf_rules.h"

#include <dlfcn.h>
#include <glob.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <vector>

#include "common/log.h"
#include "proxy/middlewares/waf_module.h"

#ifndef PORTIER_CRS_DIR
#define PORTIER_CRS_DIR "/usr/share/modsecurity-crs/rules"
#endif
#ifndef PORTIER_WAF_MODULE_INSTALL_DIR
#define PORTIER_WAF_MODULE_INSTALL_DIR ""
#endif
#ifndef PORTIER_WAF_MODULE_BUILD_DIR
#define PORTIER_WAF_MODULE_BUILD_DIR ""
#endif
#ifndef PORTIER_BUILD_ROOT
#define PORTIER_BUILD_ROOT ""
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
Result<bool> add_text(const WafRules& rules, const std::string& text, const char* option) {
  const std::string ref = std::string("waf.") + option;
  std::string error;
  if (!rules.module().rules_load_text(rules.rules(), text, ref, error)) {
    return Error{ref + ": " + trimmed(error)};
  }
  return true;
}

Result<bool> add_files(const WafRules& rules, const std::string& pattern, const char* option) {
  auto files = expand(pattern);
  if (files.empty()) {
    return Error{std::string("waf.") + option + ": `" + pattern + "` matches no file"};
  }
  for (const auto& f : files) {
    std::string error;
    if (!rules.module().rules_load_file(rules.rules(), f, error)) {
      return Error{std::string("waf.") + option + ": " + trimmed(error)};
    }
  }
  return true;
}

Result<std::shared_ptr<const WafRules>> compile(const WafModule& module, const config::Waf& cfg) {
  auto rules = std::make_shared<const WafRules>(module, module.rules_new());
  const WafRules& rs = *rules;
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

WafRules::WafRules(const WafModule& module, modsecurity::RulesSet* rules)
    : module_(module), engine_(module.engine(&waf_on_rule)), rules_(rules) {}

WafRules::~WafRules() { module_.rules_free(rules_); }

const char* waf_crs_dir() { return PORTIER_CRS_DIR; }

namespace {

// The directory of the running executable, "" when /proc/self/exe cannot be read.
std::string executable_dir() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return {};
  std::string path(buf, static_cast<std::size_t>(n));
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

Result<const WafModule*> load_module() {
  std::vector<std::string> dirs;
  // Beside the executable; the build tree, for an executable inside it (an installed portier
  // never loads code from a path that only existed where it was built); where `cmake
  // --install` puts it (found also without /proc, in a chroot say).
  const std::string exe = executable_dir();
  if (!exe.empty()) dirs.push_back(exe + "/../lib/portier");
  std::string build_root;  // resolved like /proc/self/exe (the build may sit behind a symlink)
  if (char* real = realpath(PORTIER_BUILD_ROOT, nullptr); real != nullptr) {
    build_root = real;
    std::free(real);
  }
  if (!exe.empty() && !build_root.empty() && exe.starts_with(build_root + "/")) {
    dirs.emplace_back(PORTIER_WAF_MODULE_BUILD_DIR);
  }
  if (const std::string installed = PORTIER_WAF_MODULE_INSTALL_DIR;
      !installed.empty() && std::find(dirs.begin(), dirs.end(), installed) == dirs.end()) {
    dirs.push_back(installed);
  }
  std::string why;
  for (const auto& dir : dirs) {
    const std::string path = dir + "/" + kWafModuleFile;
    if (!why.empty()) why += "; ";
    if (access(path.c_str(), F_OK) != 0) {
      why += path + ": no such file";
      continue;
    }
    void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
      const char* e = dlerror();  // a library it needs is missing, say
      why += e != nullptr ? e : path;
      continue;
    }
    using Entry = const WafModule* (*)();
    auto entry = reinterpret_cast<Entry>(dlsym(lib, kWafModuleEntry));
    const WafModule* m = entry != nullptr ? entry() : nullptr;
    if (m == nullptr || m->version != kWafModuleVersion) {
      why += path + ": not this portier's module";
      dlclose(lib);
      continue;
    }
    log::info("waf: ModSecurity module loaded", {{"path", path}});
    return m;
  }
  return Error{std::string("waf: ModSecurity's module ") + kWafModuleFile + " cannot be loaded (" +
               why + "); it is installed as <prefix>/lib/portier/" + kWafModuleFile +
               " for <prefix>/bin/portier"};
}

}  // namespace

Result<const WafModule*> waf_module() {
  static const Result<const WafModule*> module = load_module();
  return module;
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
  auto module = waf_module();
  if (!module) return module.error();
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
  auto made = compile(**module, cfg);
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
