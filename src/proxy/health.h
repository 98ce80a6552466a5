// See common/server_health.h: the shared health flag of one server.
#pragma once

#include "common/server_health.h"

namespace portier::proxy {

using portier::ServerHealth;

}  // namespace portier::proxy
