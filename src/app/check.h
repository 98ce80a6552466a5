// `portier check`: reads the static configuration (already decoded by main), every dynamic file,
// and optionally the labels of the containers the Docker Engine runs (and of its Swarm services,
// with providers.swarm), compiles them as a start would (rules, middlewares, services, TLS
// options and certificates), and prints every error and warning with its file and line, or
// container or service, without serving anything. Traefik has no such command.
//
// Output: one line per problem, `error: <where>: <message>` or `warning: ...`, then a summary.
// Exit code: 0 when there is no error (warnings allowed), 1 otherwise. Nothing is listened on;
// no CA is contacted; the Docker Engine is read only with `with_containers`.
#pragma once

#include <ostream>
#include <string>

#include "config/static_config.h"

namespace portier::app {

int run_check(const config::StaticConfig& cfg, const std::string& config_file,
              bool with_containers, std::ostream& out);

}  // namespace portier::app
