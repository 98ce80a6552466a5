#include "auth.h"

#include "proxy/http/message.h"
#include "request.h"

namespace whoami {

namespace http = portier::http;

Answer auth_answer(const http::RequestHead& head) {
  bool allowed = false;
  bool browser = false;
  for (const auto& f : head.fields) {
    if (http::iequals(f.name, "authorization") && f.value.starts_with("Basic ")) allowed = true;
    if (http::iequals(f.name, "cookie")) {
      std::string_view v = f.value;
      while (!v.empty()) {
        std::size_t semi = v.find(';');
        std::string_view c = v.substr(0, semi);
        while (!c.empty() && c.front() == ' ') c.remove_prefix(1);
        if (c == "session=ok") allowed = true;
        v = semi == std::string_view::npos ? std::string_view() : v.substr(semi + 1);
      }
    }
    if (http::iequals(f.name, "accept") && f.value.find("text/html") != std::string_view::npos) {
      browser = true;
    }
  }
  Answer a;
  if (allowed) {
    a.extra =
        "Remote-User: alice\r\nRemote-Groups: admins\r\nRemote-Groups: dev\r\n"
        "X-Auth-Extra: 1\r\nSet-Cookie: auth_session=fresh; Path=/\r\n"
        "Set-Cookie: auth_other=1\r\n";
    a.body = "ok\n";
  } else if (browser) {
    a.status = 302;
    a.extra = "Location: /login?rd=back\r\n";
    a.body = "to the login page\n";
  } else {
    a.status = 401;
    a.extra = "WWW-Authenticate: Basic realm=\"whoami\"\r\n";
    a.body = "denied by whoami\n";
  }
  return a;
}

Answer status_answer(std::string_view query) {
  Answer a;
  auto code = parse_u64(query_param(query, "code").value_or("200"));
  a.status = code && *code >= 200 && *code <= 599 ? static_cast<int>(*code) : 400;
  if (auto cookie = query_param(query, "cookie"); cookie && !cookie->empty()) {
    a.extra = "Set-Cookie: " + std::string(*cookie) + "=backend\r\n";
  }
  a.body = "status " + std::to_string(a.status) + "\n";
  return a;
}

}  // namespace whoami
