#include "proxy/middlewares/actions.h"

#include <re2/re2.h>

#include <algorithm>
#include <cctype>

namespace portier::proxy {
namespace {

constexpr int kMaxChainDepth = 16;

void set_edit(std::vector<HeaderEdit>& edits, const std::string& name, const std::string& value) {
  auto it = std::find_if(edits.begin(), edits.end(), [&](const HeaderEdit& e) {
    return e.name.size() == name.size() &&
           std::equal(e.name.begin(), e.name.end(), name.begin(), [](char a, char b) {
             return std::tolower(static_cast<unsigned char>(a)) ==
                    std::tolower(static_cast<unsigned char>(b));
           });
  });
  if (it != edits.end()) {
    it->value = value;  // a later middleware overrides an earlier one
  } else {
    edits.push_back({name, value});
  }
}

void add_security_headers(const config::Headers& h, bool tls, std::vector<HeaderEdit>& out) {
  if (h.sts_seconds > 0 && (tls || h.force_sts_header)) {
    // Traefik sends STS on HTTPS responses, and on plain ones only when forced.
    std::string v = "max-age=" + std::to_string(h.sts_seconds);
    if (h.sts_include_subdomains) v += "; includeSubDomains";
    if (h.sts_preload) v += "; preload";
    set_edit(out, "Strict-Transport-Security", v);
  }
  if (!h.custom_frame_options_value.empty()) {
    set_edit(out, "X-Frame-Options", h.custom_frame_options_value);
  } else if (h.frame_deny) {
    set_edit(out, "X-Frame-Options", "DENY");
  }
  if (h.content_type_nosniff) set_edit(out, "X-Content-Type-Options", "nosniff");
  if (h.browser_xss_filter) set_edit(out, "X-XSS-Protection", "1; mode=block");
  if (!h.content_security_policy.empty()) {
    set_edit(out, "Content-Security-Policy", h.content_security_policy);
  }
  if (!h.referrer_policy.empty()) set_edit(out, "Referrer-Policy", h.referrer_policy);
  if (!h.permissions_policy.empty()) set_edit(out, "Permissions-Policy", h.permissions_policy);
}

// Go's replacement syntax ($1, ${1}, $name, ${name}, $$) to RE2's (\1, \\), with Go's meaning:
// a name is the longest run of letters, digits and '_' ("$1x" is the group named "1x"); a
// group that does not exist expands to nothing; a '$' that starts no valid reference ("$/",
// "${}", "${x") is a literal '$'. RE2 can refer to groups 0 to 9 only, so a reference to a
// later group is refused (the middleware is reported) rather than expanded wrongly.
Result<std::string> rewrite_for_re2(const std::string& go, const re2::RE2& re) {
  std::string out;
  const auto& named = re.NamedCapturingGroups();
  const int groups = re.NumberOfCapturingGroups();
  auto is_name = [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) != 0 || ch == '_';
  };
  for (std::size_t i = 0; i < go.size(); ++i) {
    char c = go[i];
    if (c == '\\') {
      out += "\\\\";
      continue;
    }
    if (c != '$' || i + 1 == go.size()) {
      out += c;
      continue;
    }
    if (go[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    std::string name;
    std::size_t j = i + 1;
    if (go[j] == '{') {
      std::size_t close = go.find('}', j);
      if (close != std::string::npos) name = go.substr(j + 1, close - j - 1);
      if (close == std::string::npos || name.empty() ||
          !std::all_of(name.begin(), name.end(), is_name)) {
        out += '$';  // malformed: Go copies the '$' and goes on
        continue;
      }
      j = close + 1;
    } else {
      while (j < go.size() && is_name(go[j])) name += go[j++];
      if (name.empty()) {
        out += '$';
        continue;
      }
    }
    int index = -1;
    if (std::all_of(name.begin(), name.end(), ::isdigit)) {
      if (name.size() <= 4) index = std::stoi(name);
      if (index > groups) index = -1;
    } else if (auto it = named.find(name); it != named.end()) {
      index = it->second;
    }
    if (index > 9) {
      return Error{"replacement refers to group " + std::to_string(index) +
                   "; only groups 0 to 9 can be used"};
    }
    if (index >= 0) out += "\\" + std::to_string(index);  // else: expands to nothing, as in Go
    i = j - 1;
  }
  std::string why;
  if (!re.CheckRewriteString(out, &why)) return Error{"replacement: " + why};
  return Result<std::string>(boost::system::in_place_value, std::move(out));
}

Result<bool> add(const std::string& name, const std::map<std::string, config::Middleware>& all,
                 std::vector<std::string>& stack, bool tls, Actions& out) {
  auto it = all.find(name);
  if (it == all.end()) return Error{"middleware `" + name + "` does not exist"};
  if (std::find(stack.begin(), stack.end(), name) != stack.end() ||
      stack.size() >= kMaxChainDepth) {
    return Error{"middleware `" + name + "` is part of a chain cycle"};
  }
  const config::Middleware& mw = it->second;
  if (std::string e = middleware_error(mw); !e.empty()) {
    return Error{"middleware `" + name + "`: " + e};
  }
  stack.push_back(name);
  if (mw.chain) {
    for (const auto& inner : mw.chain->middlewares) {
      auto r = add(inner, all, stack, tls, out);
      if (!r) return r;
    }
  } else if (mw.redirect_scheme) {
    if (!out.redirect) {
      out.redirect = Redirect{mw.redirect_scheme->scheme, mw.redirect_scheme->port,
                              mw.redirect_scheme->permanent};
    }
  } else if (mw.redirect_regex) {
    if (!out.redirect) {
      auto re = std::make_shared<re2::RE2>(mw.redirect_regex->regex);
      auto rewrite = rewrite_for_re2(mw.redirect_regex->replacement, *re);
      if (!rewrite) return Error{"middleware `" + name + "`: " + rewrite.error().message};
      Redirect r;
      r.permanent = mw.redirect_regex->permanent;
      r.rewrite = std::move(*rewrite);
      r.regex = std::move(re);
      out.redirect = std::move(r);
    }
  } else if (mw.strip_prefix) {
    out.path_steps.push_back({PathStep::Kind::Strip, mw.strip_prefix->prefixes});
  } else if (mw.add_prefix) {
    out.path_steps.push_back({PathStep::Kind::Add, {mw.add_prefix->prefix}});
  } else if (mw.replace_path) {
    out.path_steps.push_back({PathStep::Kind::Replace, {mw.replace_path->path}});
  } else if (mw.headers) {
    for (const auto& [k, v] : mw.headers->custom_request_headers)
      set_edit(out.request_headers, k, v);
    for (const auto& [k, v] : mw.headers->custom_response_headers) {
      set_edit(out.response_headers, k, v);
    }
    add_security_headers(*mw.headers, tls, out.response_headers);
  } else if (mw.retry) {
    // Two retry middlewares on one router: the last one wins, as a later header edit does.
    out.retry = RetryPolicy{mw.retry->attempts, mw.retry->initial_interval};
  }
  stack.pop_back();
  return true;
}

}  // namespace

std::string middleware_error(const config::Middleware& mw) {
  if (!mw.provider_error.empty()) return mw.provider_error;
  if (mw.chain || mw.redirect_scheme || mw.redirect_regex || mw.strip_prefix || mw.add_prefix ||
      mw.replace_path || mw.headers || mw.retry) {
    if (mw.retry && mw.retry->attempts < 1) {
      return "retry.attempts must be at least 1 (it counts every try, the first included)";
    }
    if (mw.retry && mw.retry->initial_interval.count() < 0) {
      return "retry.initialInterval must not be negative";
    }
    if (mw.redirect_regex) {
      re2::RE2 re(mw.redirect_regex->regex, re2::RE2::Quiet);
      if (!re.ok()) return "redirectRegex.regex: " + re.error();
      if (mw.redirect_regex->replacement.empty()) return "redirectRegex.replacement is empty";
    }
    if (mw.add_prefix && (mw.add_prefix->prefix.empty() || mw.add_prefix->prefix[0] != '/')) {
      return "addPrefix.prefix must start with /";
    }
    if (mw.replace_path && (mw.replace_path->path.empty() || mw.replace_path->path[0] != '/')) {
      return "replacePath.path must start with /";
    }
    if (mw.strip_prefix && mw.strip_prefix->prefixes.empty()) {
      return "stripPrefix.prefixes is empty";
    }
    if (mw.redirect_scheme && mw.redirect_scheme->scheme != "http" &&
        mw.redirect_scheme->scheme != "https") {
      return "redirectScheme.scheme must be http or https";
    }
    return "";
  }
  if (mw.type.empty()) return "no middleware type given";
  return "type `" + mw.type + "` is not supported yet";
}

Result<Actions> compile_actions(const std::vector<std::string>& names,
                                const std::map<std::string, config::Middleware>& all, bool tls) {
  Actions out;
  std::vector<std::string> stack;
  for (const auto& n : names) {
    auto r = add(n, all, stack, tls, out);
    if (!r) return r.error();
  }
  return out;
}

void apply_path_steps(const Actions& a, std::string_view path, std::string_view query,
                      Rewrite& out) {
  std::string p(path);
  out.added.clear();
  for (const auto& step : a.path_steps) {
    switch (step.kind) {
      case PathStep::Kind::Strip:
        for (const auto& prefix : step.values) {
          if (p.compare(0, prefix.size(), prefix) == 0) {
            p.erase(0, prefix.size());
            if (p.empty() || p.front() != '/') p.insert(0, "/");
            set_edit(out.added, "X-Forwarded-Prefix", prefix);
            break;
          }
        }
        break;
      case PathStep::Kind::Add:
        p.insert(0, step.values[0]);
        break;
      case PathStep::Kind::Replace:
        set_edit(out.added, "X-Replaced-Path", p);
        p = step.values[0];
        break;
    }
  }
  out.target = std::move(p);
  if (!query.empty()) out.target.append("?").append(query);
}

std::string redirect_location(const Redirect& r, std::string_view current_scheme,
                              std::string_view host, std::string_view target) {
  if (r.regex) {
    std::string url = std::string(current_scheme) + "://" + std::string(host) + std::string(target);
    if (!re2::RE2::PartialMatch(url, *r.regex)) return "";
    std::string original = url;
    // Unchanged: no redirect (it would loop); the request goes on to the router's service, as
    // in Traefik.
    if (re2::RE2::GlobalReplace(&url, *r.regex, r.rewrite) <= 0 || url == original) return "";
    return url;
  }
  if (current_scheme == r.scheme) return "";
  std::string_view h = host;
  if (!h.empty() && h.front() == '[') {
    h = h.substr(0, h.find(']') + 1);
  } else {
    h = h.substr(0, h.rfind(':'));
  }
  std::string loc = r.scheme + "://" + std::string(h);
  bool default_port = r.port.empty() || (r.scheme == "https" && r.port == "443") ||
                      (r.scheme == "http" && r.port == "80");
  if (!default_port) loc += ":" + r.port;
  loc.append(target);
  return loc;
}

int redirect_status(const Redirect& r, std::string_view method) {
  bool safe = method == "GET" || method == "HEAD";
  if (r.permanent) return safe ? 301 : 308;
  return safe ? 302 : 307;
}

}  // namespace portier::proxy
