#include "config/acme_decode.h"

#include "common/redis_url.h"

namespace portier::config {

void decode_acme_portier(YamlMap& m, Diagnostics& d, AcmeResolver& r) {
  if (is_redis_url(r.storage)) {
    if (auto ep = parse_redis_url(r.storage); !ep) {
      d.add(m.get("storage").Mark(), "`" + m.child_path("storage") + "`: " + ep.error().message);
    }
  }
  YAML::Node node = m.get("onDemand");
  if (!node || node.IsNull()) return;
  OnDemand od;
  YamlMap o(node, m.child_path("onDemand"), d);
  read_string(o.get("ask"), o.child_path("ask"), d, od.ask);
  read_duration(o.get("interval"), o.child_path("interval"), d, od.interval);
  long long burst = od.burst;
  read_int(o.get("burst"), o.child_path("burst"), d, 1, 1000000, burst);
  od.burst = static_cast<int>(burst);
  read_duration(o.get("wait"), o.child_path("wait"), d, od.wait);
  o.finish();
  if (!od.ask.starts_with("http://") && !od.ask.starts_with("https://")) {
    // Without an ask endpoint anyone who points a name at portier could make it order
    // certificates for that name until the CA's rate limits stop it (Caddy requires it too).
    d.add(node.Mark(), "`" + o.child_path("ask") + "` is required: an http:// or https:// URL");
  }
  if (od.interval.count() <= 0 || od.wait.count() <= 0) {
    d.add(node.Mark(), "`" + o.child_path("interval") + "` and `" + o.child_path("wait") +
                           "` must be greater than zero");
  }
  r.on_demand = std::move(od);
}

}  // namespace portier::config
