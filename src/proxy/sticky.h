// Sticky sessions with a cookie (loadBalancer.sticky.cookie): the first answer sets a cookie
// naming the server that gave it; later requests carrying it go to that server while it is
// available, and are balanced again (with a fresh cookie) when it is not.
//
// The cookie value is opaque: the first 16 hex digits of HMAC-SHA256(salt, server URL), with a
// random salt per process (TableBuilder's). It does not reveal the address, and stays the same
// across reloads; a restart changes it, so clients are balanced once more after a restart.
// Pure functions; compiled on the control plane, read on the workers.
#pragma once

#include <string>
#include <string_view>

#include "config/dynamic.h"
#include "proxy/http/parser.h"

namespace portier::proxy {

struct StickyTarget {
  std::string name;        // cookie name
  std::string attributes;  // "; Path=/; Max-Age=60; HttpOnly; Secure; SameSite=Lax"
};

// The cookie name and attributes. An empty name becomes Traefik's default (derived from the
// service name); characters outside RFC 6265's token are replaced by '_', as Traefik does.
StickyTarget compile_sticky(const config::StickyCookie& cookie, const std::string& service);

// The opaque value that designates `url`.
std::string sticky_value(std::string_view salt, std::string_view url);

// A random salt (16 bytes, hex) for sticky_value.
std::string random_salt();

// The value of the first cookie called `name` in the request's Cookie fields; empty if none.
std::string_view find_cookie(const http::Fields& fields, std::string_view name);

// "Set-Cookie: <name>=<value><attributes>\r\n".
std::string set_cookie_field(const StickyTarget& sticky, std::string_view value);

}  // namespace portier::proxy
