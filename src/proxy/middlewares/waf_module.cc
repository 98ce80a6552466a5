// portier-modsecurity.so: the calls into ModSecurity that need its C++ API, and the table of
// its C API that waf.cc uses (waf_module.h). Linked with libmodsecurity; loaded by portier
// with dlopen only when a waf middleware is configured.
#include "proxy/middlewares/waf_module.h"

#include <modsecurity/rule_message.h>

namespace portier::proxy::mw {
namespace {

WafRuleCallback g_on_rule = nullptr;

// ModSecurity's server log callback with RuleMessageLogProperty: a RuleMessage per matched
// rule that logs (the disruptive one comes in the intervention's log line instead).
void on_rule_message(void* data, const void* rule_message) {
  if (data == nullptr || rule_message == nullptr || g_on_rule == nullptr) return;
  const auto* rm = static_cast<const modsecurity::RuleMessage*>(rule_message);
  g_on_rule(data, static_cast<long>(rm->m_ruleId), rm->m_message);
}

modsecurity::ModSecurity* engine(WafRuleCallback on_rule) {
  static modsecurity::ModSecurity* const ms = [on_rule] {
    g_on_rule = on_rule;
    auto* m = modsecurity::msc_init();
    modsecurity::msc_set_connector_info(m, "portier");
    m->setServerLogCb(&on_rule_message, modsecurity::RuleMessageLogProperty);
    return m;
  }();
  return ms;
}

modsecurity::RulesSet* rules_new() { return modsecurity::msc_create_rules_set(); }

void rules_free(modsecurity::RulesSet* rs) { modsecurity::msc_rules_cleanup(rs); }

bool rules_load_text(modsecurity::RulesSet* rs, const std::string& text, const std::string& ref,
                     std::string& error) {
  if (rs->load(text.c_str(), ref) >= 0) return true;
  error = rs->getParserError();
  return false;
}

bool rules_load_file(modsecurity::RulesSet* rs, const std::string& path, std::string& error) {
  if (rs->loadFromUri(path.c_str()) >= 0) return true;
  error = rs->getParserError();
  return false;
}

const WafModule kModule{
    kWafModuleVersion,
    &engine,
    &rules_new,
    &rules_free,
    &rules_load_text,
    &rules_load_file,
    &modsecurity::msc_new_transaction_with_id,
    &modsecurity::msc_transaction_cleanup,
    &modsecurity::msc_intervention,
    &modsecurity::msc_process_connection,
    &modsecurity::msc_process_uri,
    &modsecurity::msc_add_n_request_header,
    &modsecurity::msc_process_request_headers,
    &modsecurity::msc_append_request_body,
    &modsecurity::msc_process_request_body,
    &modsecurity::msc_add_n_response_header,
    &modsecurity::msc_process_response_headers,
};

}  // namespace
}  // namespace portier::proxy::mw

extern "C" __attribute__((visibility("default"))) const portier::proxy::mw::WafModule*
portier_waf_module() {
  return &portier::proxy::mw::kModule;
}
