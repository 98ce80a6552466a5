#include "proxy/middlewares/actions.h"

#include <algorithm>

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

void add_security_headers(const config::Headers& h, std::vector<HeaderEdit>& out) {
  if (h.sts_seconds > 0 && h.force_sts_header) {
    // Without TLS termination yet, STS is only sent when forced (Traefik: HTTPS or forced).
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

Result<bool> add(const std::string& name, const std::map<std::string, config::Middleware>& all,
                 std::vector<std::string>& stack, Actions& out) {
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
      auto r = add(inner, all, stack, out);
      if (!r) return r;
    }
  } else if (mw.redirect_scheme) {
    if (!out.redirect) {
      out.redirect = Redirect{mw.redirect_scheme->scheme, mw.redirect_scheme->port,
                              mw.redirect_scheme->permanent};
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
    add_security_headers(*mw.headers, out.response_headers);
  }
  stack.pop_back();
  return true;
}

}  // namespace

std::string middleware_error(const config::Middleware& mw) {
  if (!mw.provider_error.empty()) return mw.provider_error;
  if (mw.chain || mw.redirect_scheme || mw.strip_prefix || mw.add_prefix || mw.replace_path ||
      mw.headers) {
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
                                const std::map<std::string, config::Middleware>& all) {
  Actions out;
  std::vector<std::string> stack;
  for (const auto& n : names) {
    auto r = add(n, all, stack, out);
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
