// The boundary between portier and its ModSecurity module, portier-modsecurity.so.
//
// libmodsecurity pulls about thirty shared libraries into a process (libcurl-gnutls, GnuTLS,
// ICU, libxml2, Lua, GeoIP, OpenLDAP, Kerberos...), 6 MB of resident memory that a portier
// without a waf middleware has no use for. So the code that calls ModSecurity lives in a
// module of its own, which portier loads with dlopen the first time a waf middleware is
// compiled (waf_rules.cc); the rest of the middleware (waf.cc) calls ModSecurity through the
// table below. The module and portier come from one build: the table is C++ (std::string),
// not a stable plugin interface, and its version is checked when the module is loaded.
//
// Where the module is looked for: <directory of the portier executable>/../lib/portier/ (an
// installed layout, the image's /usr/local/lib/portier), then the build tree it was built in.
#pragma once

#include <cstddef>
#include <cstdlib>
// (intervention.h uses NULL and free without including their headers)
#include <modsecurity/intervention.h>
#include <modsecurity/modsecurity.h>
#include <modsecurity/rules_set.h>
#include <modsecurity/transaction.h>

#include <string>
#include <string_view>

namespace portier::proxy::mw {

// Bumped whenever WafModule changes.
inline constexpr int kWafModuleVersion = 1;

// The module's file name and the name of its one exported function (extern "C", returning
// the table).
inline constexpr const char* kWafModuleFile = "portier-modsecurity.so";
inline constexpr const char* kWafModuleEntry = "portier_waf_module";

// A rule message: the transaction's log data (the pointer given to new_transaction), the
// rule's id and its message. Called on the worker running the transaction, inside process_*.
using WafRuleCallback = void (*)(void* data, long id, std::string_view message);

struct WafModule {
  int version;  // kWafModuleVersion of the build that made the module

  // The process' engine, made on the first call with `on_rule` as its rule-message callback
  // (later calls return it and ignore the argument); never freed.
  modsecurity::ModSecurity* (*engine)(WafRuleCallback on_rule);

  modsecurity::RulesSet* (*rules_new)();
  void (*rules_free)(modsecurity::RulesSet*);
  // Rules as text; `ref` names the text in ModSecurity's messages ("File: <ref>. Line: 1.").
  // false with the parser's message in `error`.
  bool (*rules_load_text)(modsecurity::RulesSet*, const std::string& text, const std::string& ref,
                          std::string& error);
  bool (*rules_load_file)(modsecurity::RulesSet*, const std::string& path, std::string& error);

  // ModSecurity's C API for transactions, as is.
  decltype(&modsecurity::msc_new_transaction_with_id) new_transaction;
  decltype(&modsecurity::msc_transaction_cleanup) transaction_cleanup;
  decltype(&modsecurity::msc_intervention) intervention;
  decltype(&modsecurity::msc_process_connection) process_connection;
  decltype(&modsecurity::msc_process_uri) process_uri;
  decltype(&modsecurity::msc_add_n_request_header) add_n_request_header;
  decltype(&modsecurity::msc_process_request_headers) process_request_headers;
  decltype(&modsecurity::msc_append_request_body) append_request_body;
  decltype(&modsecurity::msc_process_request_body) process_request_body;
  decltype(&modsecurity::msc_add_n_response_header) add_n_response_header;
  decltype(&modsecurity::msc_process_response_headers) process_response_headers;
};

}  // namespace portier::proxy::mw
