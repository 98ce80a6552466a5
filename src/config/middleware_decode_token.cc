// Token middlewares, portier types (Traefik OSS has neither; option names follow Traefik Hub's
// JWT middleware where it has one): jwt and apiKey. Values are checked for their type here;
// keys, hashes and URLs are the engine's to judge when it builds the middleware.
#include "config/middleware_decode.h"

namespace portier::config::detail {

void decode_jwt(YamlMap& m, Diagnostics& d, Middleware& mw) {
  Jwt& j = mw.jwt.emplace();
  read_opt(m, "jwksUrl", d, j.jwks_url);
  read_opt(m, "jwksFile", d, j.jwks_file);
  read_opt(m, "publicKeys", d, j.public_keys);
  read_opt(m, "secret", d, j.secret);
  read_opt(m, "algorithms", d, j.algorithms);
  read_opt(m, "issuers", d, j.issuers);
  read_opt(m, "audiences", d, j.audiences);
  read_opt(m, "requiredClaims", d, j.required_claims);
  read_opt(m, "claims", d, j.claims);
  read_opt(m, "forwardHeaders", d, j.forward_headers);
  read_opt(m, "leeway", d, j.leeway);
  read_opt(m, "tokenHeader", d, j.token_header);
  read_opt(m, "tokenCookie", d, j.token_cookie);
  read_opt(m, "tokenQuery", d, j.token_query);
  read_opt(m, "removeHeader", d, j.remove_header);
  read_opt(m, "realm", d, j.realm);
  if (j.realm.empty()) j.realm = "portier";
  read_opt(m, "jwksRefreshInterval", d, j.jwks_refresh_interval);
  read_opt(m, "jwksMinRefreshInterval", d, j.jwks_min_refresh_interval);
}

void decode_api_key(YamlMap& m, Diagnostics& d, Middleware& mw) {
  ApiKey& a = mw.api_key.emplace();
  read_opt(m, "keys", d, a.keys);
  read_opt(m, "keysFile", d, a.keys_file);
  read_opt(m, "keyHeader", d, a.key_header);
  read_opt(m, "keyQuery", d, a.key_query);
  read_opt(m, "bearer", d, a.bearer);
  read_opt(m, "nameHeader", d, a.name_header);
  read_opt(m, "keepKey", d, a.keep_key);
}

}  // namespace portier::config::detail
