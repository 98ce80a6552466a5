// http.middlewares: the implemented types decoded into the model, the others checked against
// Traefik v3's options (pkg/config/dynamic/middlewares.go) so that real Traefik files decode.
#include <algorithm>
#include <utility>

#include "config/decode_internal.h"
#include "config/schema.h"

namespace portier::config::detail {
namespace {

const std::string kIpStrategy = "ipStrategy{depth,excludedIPs,ipv6Subnet}";
const std::string kSourceCriterion =
    "sourceCriterion{" + kIpStrategy + ",requestHeaderName,requestHost}";
const std::string kClientTls = "tls{ca,cert,key,insecureSkipVerify,caOptional}";
const std::string kAuth = "users,usersFile,realm,removeHeader,headerField";
const std::string kHeaderModifier = "set{*},add{*},remove";

// Every middleware type Traefik v3 decodes, with its options. Types with a decoder below are
// implemented; the others keep only their type and a router using one is disabled.
const std::vector<std::pair<std::string, std::string>> kTypes = {
    {"addPrefix", "prefix"},
    {"basicAuth", kAuth},
    {"buffering",
     "maxRequestBodyBytes,memRequestBodyBytes,maxResponseBodyBytes,memResponseBodyBytes,"
     "retryExpression,disableRequestBuffer,disableResponseBuffer"},
    {"chain", "middlewares"},
    {"circuitBreaker", "expression,checkPeriod,fallbackDuration,recoveryDuration,responseCode"},
    {"compress",
     "excludedContentTypes,includedContentTypes,minResponseBodyBytes,encodings,defaultEncoding"},
    {"contentType", "autoDetect"},
    {"digestAuth", kAuth},
    {"encodedCharacters",
     "allowEncodedSlash,allowEncodedBackSlash,allowEncodedNullCharacter,allowEncodedSemicolon,"
     "allowEncodedPercent,allowEncodedQuestionMark,allowEncodedHash"},
    {"errors", "status,statusRewrites{*},service,query,errorRequestHeaders,nginxHeaders"},
    {"forwardAuth",
     "address," + kClientTls +
         ",trustForwardHeader,authResponseHeaders,authResponseHeadersRegex,authRequestHeaders,"
         "maxResponseBodySize,addAuthCookiesToResponse,headerField,forwardBody,maxBodySize,"
         "preserveLocationHeader,preserveRequestMethod,authSigninURL"},
    {"grpcWeb", "allowOrigins"},
    {"headers", ""},  // decoded below
    {"inFlightReq", "amount," + kSourceCriterion},
    {"ipAllowList", "sourceRange," + kIpStrategy + ",rejectStatusCode"},
    {"ipWhiteList", "sourceRange," + kIpStrategy},  // deprecated name of ipAllowList
    {"passTLSClientCert",
     "pem,info{notAfter,notBefore,sans,serialNumber,subject{country,province,locality,"
     "organization,organizationalUnit,commonName,serialNumber,domainComponent},issuer{country,"
     "province,locality,organization,commonName,serialNumber,domainComponent}}"},
    {"plugin", "*"},
    {"rateLimit",
     "average,period,burst," + kSourceCriterion +
         ",redis{endpoints,tls{ca,cert,key,insecureSkipVerify},username,password,db,poolSize,"
         "minIdleConns,maxActiveConns,readTimeout,writeTimeout,dialTimeout}"},
    {"redirectRegex", "regex,replacement,permanent"},
    {"redirectScheme", "scheme,port,permanent"},
    {"replacePath", "path"},
    {"replacePathRegex", "regex,replacement"},
    {"retry",
     "attempts,initialInterval,timeout,maxRequestBodyBytes,status,disableRetryOnNetworkError,"
     "retryNonIdempotentMethod"},
    {"stripPrefix", "prefixes,forceSlash"},
    {"stripPrefixRegex", "regex"},
    // Used by Traefik's Kubernetes Gateway and ingress-nginx providers; also decoded from files.
    {"requestHeaderModifier", kHeaderModifier},
    {"responseHeaderModifier", kHeaderModifier},
    {"requestRedirect", "scheme,hostname,port,path,pathPrefix,statusCode"},
    {"URLRewrite", "hostname,path,pathPrefix"},
    {"authTLSPassCertificateToUpstream", "clientAuthType,caFiles"},
    {"snippet",
     "serverSnippet,configurationSnippet,auth{address,method,snippet,authResponseHeaders,"
     "authSigninURL}"},
    {"rewriteTarget", "regex,replacement,xForwardedPrefix"},
    {"upstreamVHost", "vHost,vars{*}"},
    {"appRoot", "path"},
};

// headers options portier does not apply yet: the middleware is disabled when one is set.
const std::vector<KnownKey> kHeadersNotYet = {
    {"accessControlAllowCredentials", ""},
    {"accessControlAllowHeaders", ""},
    {"accessControlAllowMethods", ""},
    {"accessControlAllowOriginList", ""},
    {"accessControlAllowOriginListRegex", ""},
    {"accessControlExposeHeaders", ""},
    {"accessControlMaxAge", ""},
    {"addVaryHeader", ""},
    {"allowedHosts", ""},
    {"hostsProxyHeaders", ""},
    {"sslProxyHeaders", "*"},
    {"customBrowserXSSValue", ""},
    {"contentSecurityPolicyReportOnly", ""},
    {"publicKey", ""},
    {"isDevelopment", ""},
    {"featurePolicy", ""},
    // Deprecated in Traefik v3, still accepted there.
    {"sslRedirect", ""},
    {"sslTemporaryRedirect", ""},
    {"sslHost", ""},
    {"sslForceHost", ""},
};

void decode_headers(YamlMap& m, const std::string& p, Diagnostics& d, Headers& h) {
  read_string_map(m.get("customRequestHeaders"), p + ".customRequestHeaders", d,
                  h.custom_request_headers);
  read_string_map(m.get("customResponseHeaders"), p + ".customResponseHeaders", d,
                  h.custom_response_headers);
  read_int(m.get("stsSeconds"), p + ".stsSeconds", d, 0, 1LL << 40, h.sts_seconds);
  read_bool(m.get("stsIncludeSubdomains"), p + ".stsIncludeSubdomains", d,
            h.sts_include_subdomains);
  read_bool(m.get("stsPreload"), p + ".stsPreload", d, h.sts_preload);
  read_bool(m.get("forceSTSHeader"), p + ".forceSTSHeader", d, h.force_sts_header);
  read_bool(m.get("frameDeny"), p + ".frameDeny", d, h.frame_deny);
  read_string(m.get("customFrameOptionsValue"), p + ".customFrameOptionsValue", d,
              h.custom_frame_options_value);
  read_bool(m.get("contentTypeNosniff"), p + ".contentTypeNosniff", d, h.content_type_nosniff);
  read_bool(m.get("browserXssFilter"), p + ".browserXssFilter", d, h.browser_xss_filter);
  read_string(m.get("contentSecurityPolicy"), p + ".contentSecurityPolicy", d,
              h.content_security_policy);
  read_string(m.get("referrerPolicy"), p + ".referrerPolicy", d, h.referrer_policy);
  read_string(m.get("permissionsPolicy"), p + ".permissionsPolicy", d, h.permissions_policy);
  unsupported_keys(m, d, d, kHeadersNotYet, "; the middleware is disabled");
}

}  // namespace

void decode_middleware(const YAML::Node& node, const std::string& path, Diagnostics& d,
                       Middleware& mw) {
  if (!node.IsMap() || node.size() != 1) {
    d.add(node.Mark(), "`" + path + "` must hold exactly one middleware type, e.g. stripPrefix");
    return;
  }
  const auto kv = *node.begin();
  const std::string type = kv.first.Scalar();
  auto known = std::find_if(kTypes.begin(), kTypes.end(), [&](const auto& t) {
    return lower_ascii(t.first) == lower_ascii(type);
  });
  if (known == kTypes.end()) {
    std::vector<std::string> names;
    for (const auto& t : kTypes) names.push_back(t.first);
    std::string msg = "unknown middleware type `" + type + "` in `" + path + "`";
    if (std::string s = closest(type, names); !s.empty()) msg += "; did you mean `" + s + "`?";
    d.add(kv.first.Mark(), msg);
    return;
  }
  mw.type = known->first == "ipWhiteList" ? "ipAllowList" : known->first;
  const std::string p = path + "." + known->first;
  YamlMap m(kv.second, p, d);
  if (mw.type == "redirectScheme") {
    RedirectScheme r;
    read_string(m.get("scheme"), p + ".scheme", d, r.scheme);
    read_string(m.get("port"), p + ".port", d, r.port);
    read_bool(m.get("permanent"), p + ".permanent", d, r.permanent);
    mw.redirect_scheme = r;
  } else if (mw.type == "redirectRegex") {
    RedirectRegex r;
    read_string(m.get("regex"), p + ".regex", d, r.regex);
    read_string(m.get("replacement"), p + ".replacement", d, r.replacement);
    read_bool(m.get("permanent"), p + ".permanent", d, r.permanent);
    mw.redirect_regex = r;
  } else if (mw.type == "stripPrefix") {
    StripPrefix sp;
    read_string_list(m.get("prefixes"), p + ".prefixes", d, sp.prefixes);
    bool force_slash = true;  // deprecated in Traefik, accepted and ignored
    read_bool(m.get("forceSlash"), p + ".forceSlash", d, force_slash);
    mw.strip_prefix = sp;
  } else if (mw.type == "addPrefix") {
    AddPrefix ap;
    read_string(m.get("prefix"), p + ".prefix", d, ap.prefix);
    mw.add_prefix = ap;
  } else if (mw.type == "replacePath") {
    ReplacePath rp;
    read_string(m.get("path"), p + ".path", d, rp.path);
    mw.replace_path = rp;
  } else if (mw.type == "chain") {
    Chain c;
    read_string_list(m.get("middlewares"), p + ".middlewares", d, c.middlewares);
    mw.chain = c;
  } else if (mw.type == "retry") {
    Retry r;
    long long attempts = 0;
    read_int(m.get("attempts"), p + ".attempts", d, -(1LL << 31), (1LL << 31) - 1, attempts);
    r.attempts = static_cast<int>(attempts);
    read_duration(m.get("initialInterval"), p + ".initialInterval", d, r.initial_interval);
    unsupported_keys(m, d, d,
                     {{"timeout", ""},
                      {"maxRequestBodyBytes", ""},
                      {"status", ""},
                      {"disableRetryOnNetworkError", ""},
                      {"retryNonIdempotentMethod", ""}},
                     "; the middleware is disabled");
    mw.retry = r;
  } else if (mw.type == "headers") {
    Headers h;
    decode_headers(m, p, d, h);
    mw.headers = h;
  } else {
    // Not implemented yet: Traefik's options are checked; routers using it say it is missing.
    check_schema(kv.second, known->second, p, d);
    return;
  }
  m.finish();
}

}  // namespace portier::config::detail
