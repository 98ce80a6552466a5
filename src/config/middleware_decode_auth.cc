// Middlewares that decide who gets through: basicAuth, digestAuth, forwardAuth, ipAllowList,
// rateLimit, inFlightReq, passTLSClientCert. Values are checked for their type only (a CIDR, a
// regex or a URL is the engine's to judge when it builds the middleware).
#include "config/middleware_decode.h"
#include "config/schema.h"

namespace portier::config::detail {
namespace {

template <typename Auth>
void decode_users(YamlMap& m, Diagnostics& d, Auth& a) {
  read_opt(m, "users", d, a.users);
  read_opt(m, "usersFile", d, a.users_file);
  read_opt(m, "realm", d, a.realm);
  if (a.realm.empty()) a.realm = "traefik";  // Traefik's default realm
  read_opt(m, "headerField", d, a.header_field);
  read_opt(m, "removeHeader", d, a.remove_header);
}

void decode_ip_strategy(YamlMap& parent, Diagnostics& d, std::optional<IpStrategy>& out) {
  YAML::Node n = read_section(parent, "ipStrategy");
  if (!n) return;
  IpStrategy& s = out.emplace();
  YamlMap m(n, parent.child_path("ipStrategy"), d);
  read_opt(m, "depth", d, 0, kMaxInt, s.depth);
  read_opt(m, "excludedIPs", d, s.excluded_ips);
  // Traefik refuses a set ipv6Subnet outside 1..128 when it builds the strategy.
  read_opt(m, "ipv6Subnet", d, 1, 128, s.ipv6_subnet);
  m.finish();
}

void decode_source_criterion(YamlMap& parent, Diagnostics& d, std::optional<SourceCriterion>& out) {
  YAML::Node n = read_section(parent, "sourceCriterion");
  if (!n) return;
  SourceCriterion& c = out.emplace();
  YamlMap m(n, parent.child_path("sourceCriterion"), d);
  decode_ip_strategy(m, d, c.ip_strategy);
  read_opt(m, "requestHeaderName", d, c.request_header_name);
  read_opt(m, "requestHost", d, c.request_host);
  m.finish();
}

void decode_ip_list(YamlMap& m, Diagnostics& d, Middleware& mw, bool allow_list) {
  IpAllowList& a = mw.ip_allow_list.emplace();
  read_opt(m, "sourceRange", d, a.source_range);
  decode_ip_strategy(m, d, a.ip_strategy);
  if (allow_list) {  // ipWhiteList has no rejectStatusCode
    read_opt(m, "rejectStatusCode", d, 0, 599, a.reject_status_code);
    if (a.reject_status_code == 0) a.reject_status_code = 403;
  }
}

// subject (with organizationalUnit) or issuer (without) of passTLSClientCert.info.
void decode_dn(YamlMap& parent, std::string_view key, bool subject, Diagnostics& d,
               std::optional<TlsClientCertificateDnInfo>& out) {
  YAML::Node n = read_section(parent, key);
  if (!n) return;
  TlsClientCertificateDnInfo& dn = out.emplace();
  YamlMap m(n, parent.child_path(key), d);
  read_opt(m, "country", d, dn.country);
  read_opt(m, "province", d, dn.province);
  read_opt(m, "locality", d, dn.locality);
  read_opt(m, "organization", d, dn.organization);
  if (subject) read_opt(m, "organizationalUnit", d, dn.organizational_unit);
  read_opt(m, "commonName", d, dn.common_name);
  read_opt(m, "serialNumber", d, dn.serial_number);
  read_opt(m, "domainComponent", d, dn.domain_component);
  m.finish();
}

}  // namespace

void decode_basic_auth(YamlMap& m, Diagnostics& d, Middleware& mw) {
  decode_users(m, d, mw.basic_auth.emplace());
}

void decode_digest_auth(YamlMap& m, Diagnostics& d, Middleware& mw) {
  decode_users(m, d, mw.digest_auth.emplace());
}

void decode_forward_auth(YamlMap& m, Diagnostics& d, Middleware& mw) {
  ForwardAuth& f = mw.forward_auth.emplace();
  read_opt(m, "address", d, f.address);
  if (YAML::Node n = read_section(m, "tls")) {
    ForwardAuthTls& t = f.tls.emplace();
    YamlMap tm(n, m.child_path("tls"), d);
    read_opt(tm, "ca", d, t.ca);
    read_opt(tm, "cert", d, t.cert);
    read_opt(tm, "key", d, t.key);
    read_opt(tm, "insecureSkipVerify", d, t.insecure_skip_verify);
    read_opt(tm, "caOptional", d, t.ca_optional);
    tm.finish();
  }
  if (YAML::Node n = m.get("trustForwardHeader"); n && !n.IsNull()) {
    bool trust = false;
    if (read_bool(n, m.child_path("trustForwardHeader"), d, trust)) f.trust_forward_header = trust;
  }
  read_opt(m, "authResponseHeaders", d, f.auth_response_headers);
  read_opt(m, "authResponseHeadersRegex", d, f.auth_response_headers_regex);
  read_opt(m, "authRequestHeaders", d, f.auth_request_headers);
  read_opt(m, "addAuthCookiesToResponse", d, f.add_auth_cookies_to_response);
  read_opt(m, "headerField", d, f.header_field);
  read_opt(m, "forwardBody", d, f.forward_body);
  read_opt(m, "maxBodySize", d, -1, kMaxInt64, f.max_body_size);
  read_opt(m, "maxResponseBodySize", d, -1, kMaxInt64, f.max_response_body_size);
  read_opt(m, "preserveLocationHeader", d, f.preserve_location_header);
  read_opt(m, "preserveRequestMethod", d, f.preserve_request_method);
  read_opt(m, "authSigninURL", d, f.auth_signin_url);
}

void decode_ip_allow_list(YamlMap& m, Diagnostics& d, Middleware& mw) {
  decode_ip_list(m, d, mw, true);
}

void decode_ip_white_list(YamlMap& m, Diagnostics& d, Middleware& mw) {
  decode_ip_list(m, d, mw, false);
}

void decode_rate_limit(YamlMap& m, Diagnostics& d, Middleware& mw) {
  RateLimit& r = mw.rate_limit.emplace();
  read_opt(m, "average", d, 0, kMaxInt64, r.average);
  read_opt(m, "period", d, r.period);
  if (r.period.count() == 0) r.period = std::chrono::seconds(1);  // as Traefik's rate limiter
  read_opt(m, "burst", d, -kMaxInt64, kMaxInt64, r.burst);
  if (r.burst < 1) r.burst = 1;  // Traefik: max(burst, 1)
  decode_source_criterion(m, d, r.source_criterion);
  // Traefik's distributed limits: a limit asked to hold across instances must not silently
  // become one per instance, so the middleware is disabled.
  YAML::Node redis = m.get("redis");
  check_schema(redis,
               "endpoints,tls{ca,cert,key,insecureSkipVerify},username,password,db,poolSize,"
               "minIdleConns,maxActiveConns,readTimeout,writeTimeout,dialTimeout",
               m.child_path("redis"), d);
  if (!section_off(redis)) {
    d.add(redis.Mark(), "`" + m.child_path("redis") +
                            "` is not supported (portier keeps rate limits in memory); the "
                            "middleware is disabled");
  }
}

void decode_in_flight_req(YamlMap& m, Diagnostics& d, Middleware& mw) {
  InFlightReq& f = mw.in_flight_req.emplace();
  read_opt(m, "amount", d, 0, kMaxInt64, f.amount);
  decode_source_criterion(m, d, f.source_criterion);
}

void decode_pass_tls_client_cert(YamlMap& m, Diagnostics& d, Middleware& mw) {
  PassTlsClientCert& p = mw.pass_tls_client_cert.emplace();
  read_opt(m, "pem", d, p.pem);
  YAML::Node n = read_section(m, "info");
  if (!n) return;
  TlsClientCertificateInfo& info = p.info.emplace();
  YamlMap im(n, m.child_path("info"), d);
  read_opt(im, "notAfter", d, info.not_after);
  read_opt(im, "notBefore", d, info.not_before);
  read_opt(im, "sans", d, info.sans);
  read_opt(im, "serialNumber", d, info.serial_number);
  decode_dn(im, "subject", true, d, info.subject);
  decode_dn(im, "issuer", false, d, info.issuer);
  im.finish();
}

}  // namespace portier::config::detail
