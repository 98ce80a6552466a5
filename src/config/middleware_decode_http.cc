// Middlewares that change requests and responses or how they are sent: headers, retry, errors,
// circuitBreaker, buffering, compress. Zero values that Traefik's constructors replace by a
// default read as that default here, so the engine sees the values Traefik would use.
#include "config/decode_internal.h"
#include "config/middleware_decode.h"
#include "config/schema.h"

namespace portier::config::detail {

void decode_headers(YamlMap& m, Diagnostics& d, Middleware& mw) {
  Headers& h = mw.headers.emplace();
  read_opt(m, "customRequestHeaders", d, h.custom_request_headers);
  read_opt(m, "customResponseHeaders", d, h.custom_response_headers);
  read_opt(m, "accessControlAllowCredentials", d, h.access_control_allow_credentials);
  read_opt(m, "accessControlAllowHeaders", d, h.access_control_allow_headers);
  read_opt(m, "accessControlAllowMethods", d, h.access_control_allow_methods);
  read_opt(m, "accessControlAllowOriginList", d, h.access_control_allow_origin_list);
  read_opt(m, "accessControlAllowOriginListRegex", d, h.access_control_allow_origin_list_regex);
  read_opt(m, "accessControlExposeHeaders", d, h.access_control_expose_headers);
  if (YAML::Node n = m.get("accessControlMaxAge"); n && !n.IsNull()) {
    long long age = 0;
    if (read_int(n, m.child_path("accessControlMaxAge"), d, -kMaxInt64, kMaxInt64, age)) {
      h.access_control_max_age = age;
    }
  }
  read_opt(m, "addVaryHeader", d, h.add_vary_header);
  read_opt(m, "allowedHosts", d, h.allowed_hosts);
  read_opt(m, "hostsProxyHeaders", d, h.hosts_proxy_headers);
  read_opt(m, "sslProxyHeaders", d, h.ssl_proxy_headers);
  read_opt(m, "stsSeconds", d, 0, 1LL << 40, h.sts_seconds);
  read_opt(m, "stsIncludeSubdomains", d, h.sts_include_subdomains);
  read_opt(m, "stsPreload", d, h.sts_preload);
  read_opt(m, "forceSTSHeader", d, h.force_sts_header);
  read_opt(m, "frameDeny", d, h.frame_deny);
  read_opt(m, "customFrameOptionsValue", d, h.custom_frame_options_value);
  read_opt(m, "contentTypeNosniff", d, h.content_type_nosniff);
  read_opt(m, "browserXssFilter", d, h.browser_xss_filter);
  read_opt(m, "customBrowserXSSValue", d, h.custom_browser_xss_value);
  read_opt(m, "contentSecurityPolicy", d, h.content_security_policy);
  read_opt(m, "contentSecurityPolicyReportOnly", d, h.content_security_policy_report_only);
  read_opt(m, "publicKey", d, h.public_key);
  read_opt(m, "referrerPolicy", d, h.referrer_policy);
  read_opt(m, "permissionsPolicy", d, h.permissions_policy);
  read_opt(m, "isDevelopment", d, h.is_development);
  read_opt(m, "featurePolicy", d, h.feature_policy);
  read_opt(m, "sslRedirect", d, h.ssl_redirect);
  read_opt(m, "sslTemporaryRedirect", d, h.ssl_temporary_redirect);
  read_opt(m, "sslHost", d, h.ssl_host);
  read_opt(m, "sslForceHost", d, h.ssl_force_host);
}

void decode_retry(YamlMap& m, Diagnostics& d, Middleware& mw) {
  Retry& r = mw.retry.emplace();
  // Negative attempts decode; the engine refuses fewer than 1 with its own message.
  read_opt(m, "attempts", d, -kMaxInt, kMaxInt, r.attempts);
  read_opt(m, "initialInterval", d, r.initial_interval);
  read_opt(m, "timeout", d, r.timeout);
  read_opt(m, "maxRequestBodyBytes", d, -1, kMaxInt64, r.max_request_body_bytes);
  read_opt(m, "status", d, r.status);
  read_opt(m, "disableRetryOnNetworkError", d, r.disable_retry_on_network_error);
  read_opt(m, "retryNonIdempotentMethod", d, r.retry_non_idempotent_method);
}

void decode_errors(YamlMap& m, Diagnostics& d, Middleware& mw) {
  ErrorPage& e = mw.errors.emplace();
  read_opt(m, "status", d, e.status);
  YAML::Node rewrites = m.get("statusRewrites");
  const std::string rp = m.child_path("statusRewrites");
  if (rewrites && rewrites.IsMap()) {
    for (const auto& kv : rewrites) {
      long long to = 0;
      if (read_int(kv.second, rp + "." + kv.first.Scalar(), d, 100, 599, to)) {
        e.status_rewrites[kv.first.Scalar()] = static_cast<int>(to);
      }
    }
  } else if (rewrites && !rewrites.IsNull()) {
    d.add(rewrites.Mark(), "`" + rp + "` must be a mapping of statuses to statuses");
  }
  read_opt(m, "service", d, e.service);
  read_opt(m, "query", d, e.query);
  read_opt(m, "errorRequestHeaders", d, e.error_request_headers);
  // Set by Traefik's ingress-nginx provider only (not a file option there).
  unsupported_keys(m, d, d, {{"nginxHeaders", "*"}}, "; the middleware is disabled");
}

void decode_circuit_breaker(YamlMap& m, Diagnostics& d, Middleware& mw) {
  CircuitBreaker& c = mw.circuit_breaker.emplace();
  const CircuitBreaker defaults;
  read_opt(m, "expression", d, c.expression);
  read_opt(m, "checkPeriod", d, c.check_period);
  read_opt(m, "fallbackDuration", d, c.fallback_duration);
  read_opt(m, "recoveryDuration", d, c.recovery_duration);
  // Traefik passes only positive durations on; the breaker keeps its defaults otherwise.
  if (c.check_period.count() == 0) c.check_period = defaults.check_period;
  if (c.fallback_duration.count() == 0) c.fallback_duration = defaults.fallback_duration;
  if (c.recovery_duration.count() == 0) c.recovery_duration = defaults.recovery_duration;
  read_opt(m, "responseCode", d, 100, 599, c.response_code);
}

void decode_buffering(YamlMap& m, Diagnostics& d, Middleware& mw) {
  Buffering& b = mw.buffering.emplace();
  const Buffering defaults;
  read_opt(m, "maxRequestBodyBytes", d, 0, kMaxInt64, b.max_request_body_bytes);
  read_opt(m, "memRequestBodyBytes", d, 0, kMaxInt64, b.mem_request_body_bytes);
  read_opt(m, "maxResponseBodyBytes", d, 0, kMaxInt64, b.max_response_body_bytes);
  read_opt(m, "memResponseBodyBytes", d, 0, kMaxInt64, b.mem_response_body_bytes);
  // 0 leaves oxy's buffers at their 1 MiB default.
  if (b.mem_request_body_bytes == 0) b.mem_request_body_bytes = defaults.mem_request_body_bytes;
  if (b.mem_response_body_bytes == 0) {
    b.mem_response_body_bytes = defaults.mem_response_body_bytes;
  }
  read_opt(m, "retryExpression", d, b.retry_expression);
  read_opt(m, "disableRequestBuffer", d, b.disable_request_buffer);
  read_opt(m, "disableResponseBuffer", d, b.disable_response_buffer);
}

void decode_compress(YamlMap& m, Diagnostics& d, Middleware& mw) {
  Compress& c = mw.compress.emplace();
  read_opt(m, "excludedContentTypes", d, c.excluded_content_types);
  read_opt(m, "includedContentTypes", d, c.included_content_types);
  read_opt(m, "minResponseBodyBytes", d, -kMaxInt64, kMaxInt64, c.min_response_body_bytes);
  if (c.min_response_body_bytes <= 0)
    c.min_response_body_bytes = Compress{}.min_response_body_bytes;
  read_opt(m, "encodings", d, c.encodings);
  read_opt(m, "defaultEncoding", d, c.default_encoding);
}

void decode_cache(YamlMap& m, Diagnostics& d, Middleware& mw) {
  Cache& c = mw.cache.emplace();
  read_opt(m, "maxMemoryBytes", d, 1, kMaxInt64, c.max_memory_bytes);
  read_opt(m, "maxEntryBytes", d, 1, kMaxInt64, c.max_entry_bytes);
  read_opt(m, "defaultTtl", d, c.default_ttl);
  read_opt(m, "staleWhileRevalidate", d, c.stale_while_revalidate);
  read_opt(m, "staleIfError", d, c.stale_if_error);
  read_opt(m, "lockTimeout", d, c.lock_timeout);
  read_opt(m, "cacheAuthorized", d, c.cache_authorized);
  read_opt(m, "diskPath", d, c.disk_path);
  read_opt(m, "maxDiskBytes", d, 1, kMaxInt64, c.max_disk_bytes);
}

}  // namespace portier::config::detail
