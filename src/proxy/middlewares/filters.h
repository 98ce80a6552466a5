// The registry's factories: one per middleware type, each in the file of its filter. A factory
// checks the middleware's options (errors name the option) and builds its filter; it may return
// a null filter when the middleware does nothing.
#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "config/dynamic.h"
#include "proxy/pipeline/chain_builder.h"
#include "proxy/pipeline/filter.h"

namespace portier::proxy::mw {

using Built = Result<std::unique_ptr<const Filter>>;
#define PORTIER_FILTER_FACTORY(f) \
  Built f(const std::string& name, const config::Middleware& m, const ChainContext& ctx)

// path_filters.cc
PORTIER_FILTER_FACTORY(redirect_scheme);
PORTIER_FILTER_FACTORY(redirect_regex);
PORTIER_FILTER_FACTORY(strip_prefix);
PORTIER_FILTER_FACTORY(strip_prefix_regex);
PORTIER_FILTER_FACTORY(add_prefix);
PORTIER_FILTER_FACTORY(replace_path);
PORTIER_FILTER_FACTORY(replace_path_regex);
// headers_filter.cc
PORTIER_FILTER_FACTORY(headers);
// retry_filter.cc
PORTIER_FILTER_FACTORY(retry);
// auth_filters.cc
PORTIER_FILTER_FACTORY(basic_auth);
PORTIER_FILTER_FACTORY(digest_auth);
// forward_auth.cc
PORTIER_FILTER_FACTORY(forward_auth);
// traffic_filters.cc
PORTIER_FILTER_FACTORY(ip_allow_list);
PORTIER_FILTER_FACTORY(rate_limit);
PORTIER_FILTER_FACTORY(in_flight_req);
PORTIER_FILTER_FACTORY(circuit_breaker);
// errors_filter.cc
PORTIER_FILTER_FACTORY(errors);
// body_filters.cc
PORTIER_FILTER_FACTORY(buffering);
PORTIER_FILTER_FACTORY(content_type);
// compress_filter.cc
PORTIER_FILTER_FACTORY(compress);
// cache_filter.cc
PORTIER_FILTER_FACTORY(cache);
// pass_tls_client_cert.cc
PORTIER_FILTER_FACTORY(pass_tls_client_cert);
// jwt_filter.cc, api_key_filter.cc (portier types)
PORTIER_FILTER_FACTORY(jwt);
PORTIER_FILTER_FACTORY(api_key);
// grpc_web_filter.cc
PORTIER_FILTER_FACTORY(grpc_web);
// waf.cc
PORTIER_FILTER_FACTORY(waf);

#undef PORTIER_FILTER_FACTORY

// The request URL's path and query as the server will get them ("/p?q").
std::string forward_target(const Stream& s);

}  // namespace portier::proxy::mw
