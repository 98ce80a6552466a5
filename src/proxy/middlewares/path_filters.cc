// redirectScheme, redirectRegex, stripPrefix, addPrefix, replacePath: filters that answer with a
// redirect or change the path the server gets.
#include <re2/re2.h>

#include "proxy/middlewares/filters.h"
#include "proxy/middlewares/url.h"

namespace portier::proxy::mw {
namespace {

std::string& writable_path(Stream& s) {
  if (!s.new_path) s.new_path.emplace(s.path);
  return *s.new_path;
}

class RedirectFilter final : public Filter {
 public:
  RedirectFilter(std::string name, Redirect r) : Filter(std::move(name), kRequest), r_(std::move(r)) {}
  Verdict on_request(Stream& s) const override {
    if (s.host.empty()) return Verdict::Continue;
    std::string location = redirect_location(r_, s.scheme, s.host, forward_target(s));
    if (location.empty()) return Verdict::Continue;
    s.respond(redirect_status(r_, s.method));
    s.local.fields.push_back({"Location", std::move(location)});
    return Verdict::Respond;
  }

 private:
  Redirect r_;
};

class StripPrefixFilter final : public Filter {
 public:
  StripPrefixFilter(std::string name, std::vector<std::string> prefixes)
      : Filter(std::move(name), kRequest), prefixes_(std::move(prefixes)) {}
  Verdict on_request(Stream& s) const override {
    std::string_view p = s.forward_path();
    for (const auto& prefix : prefixes_) {
      if (p.starts_with(prefix)) {
        std::string& w = writable_path(s);
        w.erase(0, prefix.size());
        if (w.empty() || w.front() != '/') w.insert(0, "/");
        set_edit(s.request_edits, "X-Forwarded-Prefix", prefix);
        break;
      }
    }
    return Verdict::Continue;
  }

 private:
  std::vector<std::string> prefixes_;
};

class StripPrefixRegexFilter final : public Filter {
 public:
  StripPrefixRegexFilter(std::string name, std::vector<std::unique_ptr<re2::RE2>> res)
      : Filter(std::move(name), kRequest), res_(std::move(res)) {}
  Verdict on_request(Stream& s) const override {
    // Traefik: the first expression matching at the start of the path; what it matched goes.
    std::string_view p = s.forward_path();
    for (const auto& re : res_) {
      re2::StringPiece in(p.data(), p.size()), match;
      if (re->Match(in, 0, in.size(), re2::RE2::ANCHOR_START, &match, 1)) {
        std::string prefix(match.data(), match.size());
        std::string& w = writable_path(s);
        w.erase(0, prefix.size());
        if (w.empty() || w.front() != '/') w.insert(0, "/");
        set_edit(s.request_edits, "X-Forwarded-Prefix", prefix);
        break;
      }
    }
    return Verdict::Continue;
  }

 private:
  std::vector<std::unique_ptr<re2::RE2>> res_;
};

class AddPrefixFilter final : public Filter {
 public:
  AddPrefixFilter(std::string name, std::string prefix)
      : Filter(std::move(name), kRequest), prefix_(std::move(prefix)) {}
  Verdict on_request(Stream& s) const override {
    writable_path(s).insert(0, prefix_);
    return Verdict::Continue;
  }

 private:
  std::string prefix_;
};

class ReplacePathFilter final : public Filter {
 public:
  ReplacePathFilter(std::string name, std::string path)
      : Filter(std::move(name), kRequest), path_(std::move(path)) {}
  Verdict on_request(Stream& s) const override {
    set_edit(s.request_edits, "X-Replaced-Path", s.forward_path());
    writable_path(s) = path_;
    return Verdict::Continue;
  }

 private:
  std::string path_;
};

class ReplacePathRegexFilter final : public Filter {
 public:
  ReplacePathRegexFilter(std::string name, std::unique_ptr<re2::RE2> re, std::string rewrite)
      : Filter(std::move(name), kRequest), re_(std::move(re)), rewrite_(std::move(rewrite)) {}
  Verdict on_request(Stream& s) const override {
    std::string_view p = s.forward_path();
    if (!re2::RE2::PartialMatch(re2::StringPiece(p.data(), p.size()), *re_)) {
      return Verdict::Continue;
    }
    std::string replaced(p);
    re2::RE2::GlobalReplace(&replaced, *re_, rewrite_);
    set_edit(s.request_edits, "X-Replaced-Path", p);
    writable_path(s) = std::move(replaced);
    return Verdict::Continue;
  }

 private:
  std::unique_ptr<re2::RE2> re_;
  std::string rewrite_;
};

Result<std::unique_ptr<re2::RE2>> compile(const std::string& expr, const std::string& option) {
  auto re = std::make_unique<re2::RE2>(expr, re2::RE2::Quiet);
  if (!re->ok()) return Error{option + ": " + re->error()};
  return re;
}

}  // namespace

std::string forward_target(const Stream& s) {
  std::string t(s.forward_path());
  if (!s.query.empty()) t.append("?").append(s.query);
  return t;
}

Built redirect_scheme(const std::string& name, const config::Middleware& m, const ChainContext&) {
  const auto& r = *m.redirect_scheme;
  if (r.scheme != "http" && r.scheme != "https") {
    return Error{"redirectScheme.scheme must be http or https"};
  }
  return std::make_unique<RedirectFilter>(name, Redirect{r.scheme, r.port, r.permanent});
}

Built redirect_regex(const std::string& name, const config::Middleware& m, const ChainContext&) {
  const auto& rr = *m.redirect_regex;
  auto re = compile(rr.regex, "redirectRegex.regex");
  if (!re) return re.error();
  if (rr.replacement.empty()) return Error{"redirectRegex.replacement is empty"};
  auto rewrite = rewrite_for_re2(rr.replacement, **re);
  if (!rewrite) return rewrite.error();
  Redirect r;
  r.permanent = rr.permanent;
  r.rewrite = std::move(*rewrite);
  r.regex = std::shared_ptr<const re2::RE2>(std::move(*re));
  return std::make_unique<RedirectFilter>(name, std::move(r));
}

Built strip_prefix(const std::string& name, const config::Middleware& m, const ChainContext&) {
  if (m.strip_prefix->prefixes.empty()) return Error{"stripPrefix.prefixes is empty"};
  return std::make_unique<StripPrefixFilter>(name, m.strip_prefix->prefixes);
}

Built strip_prefix_regex(const std::string& name, const config::Middleware& m,
                         const ChainContext&) {
  if (m.strip_prefix_regex->regex.empty()) return Error{"stripPrefixRegex.regex is empty"};
  std::vector<std::unique_ptr<re2::RE2>> res;
  for (const auto& expr : m.strip_prefix_regex->regex) {
    auto re = compile(expr, "stripPrefixRegex.regex");
    if (!re) return re.error();
    res.push_back(std::move(*re));
  }
  return std::make_unique<StripPrefixRegexFilter>(name, std::move(res));
}

Built add_prefix(const std::string& name, const config::Middleware& m, const ChainContext&) {
  const auto& p = m.add_prefix->prefix;
  if (p.empty() || p[0] != '/') return Error{"addPrefix.prefix must start with /"};
  return std::make_unique<AddPrefixFilter>(name, p);
}

Built replace_path(const std::string& name, const config::Middleware& m, const ChainContext&) {
  const auto& p = m.replace_path->path;
  if (p.empty() || p[0] != '/') return Error{"replacePath.path must start with /"};
  return std::make_unique<ReplacePathFilter>(name, p);
}

Built replace_path_regex(const std::string& name, const config::Middleware& m,
                         const ChainContext&) {
  const auto& r = *m.replace_path_regex;
  auto re = compile(r.regex, "replacePathRegex.regex");
  if (!re) return re.error();
  auto rewrite = rewrite_for_re2(r.replacement, **re);
  if (!rewrite) return Error{"replacePathRegex." + rewrite.error().message};
  return std::make_unique<ReplacePathRegexFilter>(name, std::move(*re), std::move(*rewrite));
}

}  // namespace portier::proxy::mw
