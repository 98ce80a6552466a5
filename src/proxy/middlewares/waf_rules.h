// The ModSecurity side of the waf middleware: the process' one ModSecurity engine and the rule
// sets compiled from waf configurations (the generated engine settings, the OWASP Core Rule Set
// with its setup, then the user's rules and rule files).
//
// Threading: compiling (waf_rules) runs on the control plane and is serialized by a process-wide
// mutex, because ModSecurity's rule parser keeps global state (owasp-modsecurity/ModSecurity
// #2536, #3138). A compiled WafRules is read-only afterwards and shared by every worker's
// transactions (ModSecurity's supported model: one RulesSet, a Transaction per request, #3215).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "config/dynamic.h"

namespace modsecurity {
class ModSecurity;
class RulesSet;
}  // namespace modsecurity

namespace portier::proxy::mw {

struct WafModule;  // waf_module.h

// ModSecurity's module (portier-modsecurity.so), loaded on the first call; the error names
// the files tried and why each failed. Every waf_rules() call goes through it.
Result<const WafModule*> waf_module();

// Where every transaction's rule messages go (defined in waf.cc): `data` is the transaction's
// log data (its WafTx). Called on the worker running the transaction, inside process_* calls.
void waf_on_rule(void* data, long id, std::string_view message);

// A compiled rule set, with the module and the process' engine its transactions use.
class WafRules {
 public:
  WafRules(const WafModule& module, modsecurity::RulesSet* rules);
  ~WafRules();
  WafRules(const WafRules&) = delete;
  WafRules& operator=(const WafRules&) = delete;
  const WafModule& module() const { return module_; }
  modsecurity::ModSecurity* engine() const { return engine_; }
  modsecurity::RulesSet* rules() const { return rules_; }

 private:
  const WafModule& module_;
  modsecurity::ModSecurity* engine_;
  modsecurity::RulesSet* rules_;
};

// The rule set for `cfg`: the one compiled for an equal configuration while any table (or a
// recent check) still holds it, else a new one. Loading the CRS takes a few hundred
// milliseconds, so routers sharing a middleware, an unchanged middleware across reloads and the
// configuration check all reuse one. Rule files are read when the set is compiled: an edited
// file is picked up when the configuration changes or the set is no longer held.
// Errors name the option and carry ModSecurity's message.
Result<std::shared_ptr<const WafRules>> waf_rules(const config::Waf& cfg);

// The directives portier writes before the CRS (engine, body limits, body processors, the
// CRS's paranoia level and threshold); pure, for tests.
std::string waf_setup_directives(const config::Waf& cfg);

// Where the CRS rules are looked for (PORTIER_CRS_DIR at build time).
const char* waf_crs_dir();

}  // namespace portier::proxy::mw
