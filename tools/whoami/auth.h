// whoami's stand-in for an authentication server (an Authelia-like /auth endpoint) and its
// /status endpoint, for forwardAuth and errors tests. Pure: the answer from the request head;
// server.cc does the I/O and records what /auth received for /last-auth.
#pragma once

#include <string>
#include <string_view>

#include "proxy/http/parser.h"

namespace whoami {

struct Answer {
  int status = 200;
  std::string extra;  // more field lines, each ending in CRLF
  std::string body;
};

// /auth: 200 with Remote-User, Remote-Groups and two cookies when the request carries
// `Authorization: Basic ...` or the cookie `session=ok`; else 302 to /login for browsers
// (Accept has text/html), else 401 with WWW-Authenticate.
Answer auth_answer(const portier::http::RequestHead& head);

// /status?code=N[&cookie=NAME]: answers N with "status N\n"; `cookie` adds
// `Set-Cookie: NAME=backend`.
Answer status_answer(std::string_view query);

}  // namespace whoami
