// portier's own options of an ACME resolver (certificatesResolvers.<name>.acme): a redis://
// storage URL is checked here, and onDemand is read. Kept apart from decode_resolver (Traefik's
// options) so each can grow alone.
#pragma once

#include "config/static_config.h"
#include "config/yaml_reader.h"

namespace portier::config {

// `m` is the resolver's `acme` map; reads its portier-only keys and checks `r.storage`.
void decode_acme_portier(YamlMap& m, Diagnostics& d, AcmeResolver& r);

}  // namespace portier::config
