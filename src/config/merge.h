// Merging provider snapshots into one configuration, with Traefik's `name@provider` names.
// Pure function: no I/O, control plane only.
#pragma once

#include <map>
#include <string>

#include "config/dynamic.h"

namespace portier::config {

// `name` qualified with `provider` unless it already names one ("auth@file" stays).
std::string qualify(const std::string& name, const std::string& provider);

// Every object of every snapshot under its qualified name; references inside a snapshot
// (router.service, router.middlewares, the children of weighted, failover and mirroring
// services, chained middlewares) qualified the same way, so a reference without `@` means
// "from my own provider" and `auth@file` reaches across providers.
Configuration merge(const std::map<std::string, Configuration>& snapshots);

}  // namespace portier::config
