// URL helpers the redirect and path middlewares share: redirect targets and statuses as
// Traefik computes them, and Go's regexp replacement syntax translated to RE2's.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace re2 {
class RE2;
}

namespace portier::proxy {

struct Redirect {
  std::string scheme;
  std::string port;
  bool permanent = false;
  // redirectRegex: when set, the Location is the request URL rewritten by this (scheme and port
  // are unused); no match, no redirect.
  std::shared_ptr<const re2::RE2> regex;
  std::string rewrite;  // the replacement in RE2's \N form
};

// The Location of a redirect for this request, or "" when there is none: a scheme redirect when
// the request already uses the scheme, a regex redirect when the URL does not match.
// `host` is the Host field as sent; the port is replaced by the redirect's (none for the
// scheme's default port).
std::string redirect_location(const Redirect& r, std::string_view current_scheme,
                              std::string_view host, std::string_view target);
// 301/302 for GET and HEAD, 308/307 otherwise (permanent/not), as Traefik v3.
int redirect_status(const Redirect& r, std::string_view method);

// Go's replacement syntax ($1, ${1}, $name, ${name}, $$) in RE2's (\1, \\), for `re`. Errors:
// a reference past group 9 (RE2's limit), or a rewrite RE2 refuses.
Result<std::string> rewrite_for_re2(const std::string& go, const re2::RE2& re);

// Go's url.QueryEscape: letters, digits and -_.~ as they are, ' ' as '+', every other byte %XX.
std::string query_escape(std::string_view s);

}  // namespace portier::proxy
