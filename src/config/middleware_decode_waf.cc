// waf: a portier middleware type (ModSecurity v3 with the OWASP Core Rule Set). Options are
// camelCase like Traefik's; the rules themselves are checked when the middleware is built
// (proxy/middlewares/waf.cc), since only ModSecurity can parse them.
#include "config/decode_internal.h"
#include "config/middleware_decode.h"

namespace portier::config::detail {

void decode_waf(YamlMap& m, Diagnostics& d, Middleware& mw) {
  Waf& w = mw.waf.emplace();
  read_opt(m, "mode", d, w.mode);
  if (w.mode != "block" && w.mode != "detect") {
    d.add(m.get("mode").Mark(),
          "`" + m.child_path("mode") + "` must be block or detect, not `" + w.mode + "`");
  }
  read_opt(m, "crs", d, w.crs);
  read_opt(m, "paranoiaLevel", d, 1, 4, w.paranoia_level);
  read_opt(m, "anomalyThreshold", d, 1, 10000, w.anomaly_threshold);
  read_opt(m, "crsSetup", d, w.crs_setup);
  read_opt(m, "rules", d, w.rules);
  read_opt(m, "ruleFiles", d, w.rule_files);
  read_opt(m, "requestBodyLimit", d, 0, kMaxInt64, w.request_body_limit);
  read_opt(m, "inspectResponse", d, w.inspect_response);
}

}  // namespace portier::config::detail
