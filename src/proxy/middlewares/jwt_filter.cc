// The jwt middleware (a portier type): verifies a bearer token (jwt_verify.h) and forwards chosen
// claims as request fields. Static keys (jwksFile, publicKeys, secret) are loaded when the table
// is built; a jwksUrl is fetched by a JwksSource (jwks_source.h), one per middleware, kept across
// reloads while the middleware's configuration is unchanged.
//
// Waiting: a request only waits for the JWKS in two bounded cases, suspending its coroutine (not
// the worker) on a timer: before the first fetch has finished (at most kFirstFetchWait, then 503)
// and after asking a refetch for an unknown kid (at most kRefetchWait, then 401).
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fstream>
#include <sstream>

#include "proxy/middlewares/filters.h"
#include "proxy/middlewares/jwks_source.h"
#include "proxy/middlewares/jwt_verify.h"

namespace portier::proxy::mw {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

constexpr auto kFirstFetchWait = 3s;
constexpr auto kRefetchWait = 2s;
constexpr std::size_t kMinSecret = 32;  // bytes; RFC 7518 §3.2: at least the hash's size

Result<std::string> read_file(const std::string& path, const std::string& option) {
  std::ifstream in(path);
  if (!in) return Error{"jwt." + option + ": cannot read " + path};
  std::stringstream ss;
  ss << in.rdbuf();
  return Result<std::string>(boost::system::in_place_value, ss.str());
}

bool iprefix(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && http::iequals(s.substr(0, p.size()), p);
}

std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

// `name`'s value in a Cookie field or a query string ("a=1; b=2" / "a=1&b=2").
std::optional<std::string_view> pair_value(std::string_view list, char sep, std::string_view name) {
  while (!list.empty()) {
    auto end = list.find(sep);
    std::string_view item = trim(list.substr(0, end));
    list = end == std::string_view::npos ? std::string_view() : list.substr(end + 1);
    auto eq = item.find('=');
    if (eq != std::string_view::npos && item.substr(0, eq) == name) return item.substr(eq + 1);
  }
  return std::nullopt;
}

// A claim's text as a field value: control characters (CR, LF...) dropped, so a claim cannot
// add fields of its own.
std::string field_value(const nlohmann::json& v) {
  std::string out;
  for (char c : jwt::claim_text(v)) {
    if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) out += c;
  }
  return out;
}

std::string quote_safe(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c != '"' && c != '\\') out += c;
  }
  return out;
}

class JwtFilter final : public Filter {
 public:
  JwtFilter(std::string name, config::Jwt c, jwt::Policy policy,
            std::shared_ptr<const jwt::KeySet> static_keys, std::shared_ptr<jwt::JwksSource> src)
      : Filter(std::move(name), kAsyncRequest),
        c_(std::move(c)),
        policy_(std::move(policy)),
        static_keys_(std::move(static_keys)),
        source_(std::move(src)),
        realm_("Bearer realm=\"" + quote_safe(c_.realm) + "\"") {}

  asio::awaitable<Verdict> on_request_async(Stream& s) const override {
    bool from_header = false;
    auto token = find_token(s, from_header);
    if (!token || token->empty()) {
      s.respond(401);
      s.local.fields.push_back({"WWW-Authenticate", realm_});
      co_return Verdict::Respond;
    }
    std::shared_ptr<const jwt::KeySet> fetched;
    if (source_) {
      fetched = source_->keys();
      if (!fetched && source_->generation() == 0) {
        co_await wait_for(0, kFirstFetchWait);
        fetched = source_->keys();
      }
      if (!fetched && !static_keys_) {
        s.respond(503);
        s.local.fields.push_back({"Retry-After", "1"});
        co_return Verdict::Respond;
      }
    }
    auto out = check(*token, fetched);
    if (out.status == jwt::Status::UnknownKid && source_) {
      const auto gen = source_->generation();
      if (source_->request_refresh()) {
        co_await wait_for(gen, kRefetchWait);
        out = check(*token, source_->keys());
      }
    }
    if (!out.ok()) co_return deny(s, out);
    for (const auto& [field, claim] : c_.forward_headers) {
      auto it = out.claims.find(claim);
      // Absent claims remove the field: a client must not choose its value.
      set_edit(s.request_edits, field, it == out.claims.end() ? "" : field_value(*it));
    }
    if (c_.remove_header && from_header) {
      set_edit(s.request_edits, c_.token_header.empty() ? "Authorization" : c_.token_header, "");
    }
    co_return Verdict::Continue;
  }

 private:
  std::optional<std::string_view> find_token(const Stream& s, bool& from_header) const {
    if (c_.token_header.empty()) {
      if (auto v = s.header("Authorization"); v && iprefix(*v, "bearer ")) {
        from_header = true;
        return trim(v->substr(7));
      }
    } else if (auto v = s.header(c_.token_header)) {
      from_header = true;
      return trim(iprefix(*v, "bearer ") ? v->substr(7) : *v);
    }
    if (!c_.token_cookie.empty()) {
      if (auto v = s.header("Cookie")) {
        if (auto t = pair_value(*v, ';', c_.token_cookie)) return t;
      }
    }
    if (!c_.token_query.empty()) return pair_value(s.query, '&', c_.token_query);
    return std::nullopt;
  }

  jwt::Outcome check(std::string_view token, const std::shared_ptr<const jwt::KeySet>& f) const {
    const jwt::KeySet* sets[] = {static_keys_.get(), f.get()};
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    return jwt::verify(token, sets, policy_, now);
  }

  // Waits until the source's generation passes `gen`, polling a timer, at most `limit`.
  asio::awaitable<void> wait_for(std::uint64_t gen, std::chrono::milliseconds limit) const {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    const auto end = std::chrono::steady_clock::now() + limit;
    while (source_->generation() <= gen && std::chrono::steady_clock::now() < end) {
      timer.expires_after(10ms);
      co_await timer.async_wait(asio::use_awaitable);
    }
  }

  Verdict deny(Stream& s, const jwt::Outcome& out) const {
    const bool scope = out.status == jwt::Status::ClaimValue;
    s.respond(scope ? 403 : 401);
    s.local.fields.push_back(
        {"WWW-Authenticate", realm_ + ", error=\"" +
                                 (scope ? "insufficient_scope" : "invalid_token") +
                                 "\", error_description=\"" + quote_safe(out.description) + "\""});
    return Verdict::Respond;
  }

  config::Jwt c_;
  jwt::Policy policy_;
  std::shared_ptr<const jwt::KeySet> static_keys_;  // null when none
  std::shared_ptr<jwt::JwksSource> source_;         // null without jwksUrl
  std::string realm_;
};

Result<jwt::Policy> policy_of(const config::Jwt& c) {
  jwt::Policy p;
  for (const auto& name : c.algorithms) {
    auto a = jwt::alg_from_name(name);
    if (!a) return Error{"jwt.algorithms: `" + name + "` is not supported (none never is)"};
    if (jwt::alg_fits(*a, jwt::KeyType::Hmac) && c.secret.empty()) {
      return Error{"jwt.algorithms: " + name + " needs jwt.secret"};
    }
    p.algorithms.push_back(*a);
  }
  if (p.algorithms.empty()) p.algorithms = jwt::asymmetric_algs();
  p.issuers = c.issuers;
  p.audiences = c.audiences;
  p.required_claims = c.required_claims;
  p.claims = c.claims;
  p.leeway = std::chrono::duration_cast<std::chrono::seconds>(c.leeway);
  return p;
}

Result<std::shared_ptr<const jwt::KeySet>> static_keys_of(const config::Jwt& c,
                                                          const jwt::Policy& p) {
  auto set = std::make_shared<jwt::KeySet>();
  if (!c.jwks_file.empty()) {
    auto text = read_file(c.jwks_file, "jwksFile");
    if (!text) return text.error();
    auto keys = jwt::parse_jwks(*text);
    if (!keys) return Error{"jwt.jwksFile: " + keys.error().message};
    set->keys = std::move(keys->keys);
  }
  for (const auto& entry : c.public_keys) {
    std::string pem = entry;
    if (entry.find("-----BEGIN") == std::string::npos) {
      auto text = read_file(entry, "publicKeys");
      if (!text) return text.error();
      pem = std::move(*text);
    }
    auto key = jwt::key_from_pem(pem);
    if (!key) return Error{"jwt.publicKeys: " + key.error().message};
    set->keys.push_back(std::move(*key));
  }
  if (!c.secret.empty()) {
    if (c.secret.size() < kMinSecret) return Error{"jwt.secret: shorter than 32 bytes"};
    bool hs = false;
    for (auto a : p.algorithms) hs = hs || jwt::alg_fits(a, jwt::KeyType::Hmac);
    if (!hs) return Error{"jwt.secret: list an HS* algorithm in jwt.algorithms to use it"};
    set->keys.push_back(jwt::hmac_key(c.secret));
  }
  if (set->keys.empty()) return std::shared_ptr<const jwt::KeySet>();
  return std::shared_ptr<const jwt::KeySet>(std::move(set));
}

}  // namespace

Built jwt(const std::string& name, const config::Middleware& m, const ChainContext& ctx) {
  const config::Jwt& c = *m.jwt;
  if (c.jwks_url.empty() && c.jwks_file.empty() && c.public_keys.empty() && c.secret.empty()) {
    return Error{"jwt: set one of jwksUrl, jwksFile, publicKeys or secret"};
  }
  if (!c.jwks_url.empty() && !c.jwks_url.starts_with("http://") &&
      !c.jwks_url.starts_with("https://")) {
    return Error{"jwt.jwksUrl: not an http:// or https:// URL"};
  }
  for (const auto& [field, claim] : c.forward_headers) {
    if (field.empty() || claim.empty()) return Error{"jwt.forwardHeaders: empty name or claim"};
  }
  auto policy = policy_of(c);
  if (!policy) return policy.error();
  auto keys = static_keys_of(c, *policy);
  if (!keys) return keys.error();
  std::shared_ptr<jwt::JwksSource> source;
  // Only a real table starts a fetcher; checking a middleware (ctx.states null) does not.
  if (!c.jwks_url.empty() && ctx.states != nullptr) {
    source = ctx.states->get<jwt::JwksSource>("jwks|" + name, m, [&] {
      jwt::JwksSource::Options o;
      o.url = c.jwks_url;
      o.refresh = std::max<std::chrono::milliseconds>(c.jwks_refresh_interval, 1s);
      o.min_refresh = c.jwks_min_refresh_interval;
      o.log_name = name;
      return jwt::JwksSource::start(std::move(o));
    });
  }
  return std::make_unique<JwtFilter>(name, c, std::move(*policy), std::move(*keys),
                                     std::move(source));
}

}  // namespace portier::proxy::mw
