// `portier healthcheck`: asks this configuration's ping endpoint whether portier is up, for
// Docker's HEALTHCHECK (Traefik's `traefik healthcheck`). Blocking, with a 5 s bound; runs
// instead of a start.
#pragma once

#include <ostream>

#include "config/static_config.h"

namespace portier::app {

// GET /ping on `ping.entryPoint`'s address (an unspecified host means loopback). Returns the
// exit code: 0 when it answers 200, 1 otherwise (or without `ping`); says which on `out`.
int run_healthcheck(const config::StaticConfig& cfg, std::ostream& out);

}  // namespace portier::app
