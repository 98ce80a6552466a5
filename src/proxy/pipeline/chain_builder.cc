#include "proxy/pipeline/chain_builder.h"

#include <algorithm>
#include <set>

#include "proxy/middlewares/filters.h"

namespace portier::proxy {
namespace {

constexpr std::size_t kMaxChainDepth = 16;

struct Entry {
  const char* type;
  FilterFactory factory;
};

// One entry per implemented middleware type (Traefik's names).
constexpr Entry kRegistry[] = {
    {"addPrefix", mw::add_prefix},
    {"apiKey", mw::api_key},
    {"basicAuth", mw::basic_auth},
    {"buffering", mw::buffering},
    {"cache", mw::cache},
    {"circuitBreaker", mw::circuit_breaker},
    {"compress", mw::compress},
    {"contentType", mw::content_type},
    {"digestAuth", mw::digest_auth},
    {"errors", mw::errors},
    {"forwardAuth", mw::forward_auth},
    {"grpcWeb", mw::grpc_web},
    {"headers", mw::headers},
    {"inFlightReq", mw::in_flight_req},
    {"ipAllowList", mw::ip_allow_list},
    {"jwt", mw::jwt},
    {"passTLSClientCert", mw::pass_tls_client_cert},
    {"rateLimit", mw::rate_limit},
    {"redirectRegex", mw::redirect_regex},
    {"redirectScheme", mw::redirect_scheme},
    {"replacePath", mw::replace_path},
    {"replacePathRegex", mw::replace_path_regex},
    {"retry", mw::retry},
    {"stripPrefix", mw::strip_prefix},
    {"stripPrefixRegex", mw::strip_prefix_regex},
    {"waf", mw::waf},  // a portier type
};

Result<bool> add(const std::string& name, const std::map<std::string, config::Middleware>& all,
                 const ChainContext& ctx, std::vector<std::string>& stack, Chain& out) {
  auto it = all.find(name);
  if (it == all.end()) return Error{"middleware `" + name + "` does not exist"};
  if (std::find(stack.begin(), stack.end(), name) != stack.end() ||
      stack.size() >= kMaxChainDepth) {
    return Error{"middleware `" + name + "` is part of a chain cycle"};
  }
  const config::Middleware& m = it->second;
  if (!m.provider_error.empty()) return Error{"middleware `" + name + "`: " + m.provider_error};
  stack.push_back(name);
  if (m.chain) {
    for (const auto& inner : m.chain->middlewares) {
      auto r = add(inner, all, ctx, stack, out);
      if (!r) return r;
    }
  } else {
    FilterFactory f = factory_for(m);
    if (f == nullptr) {
      return Error{"middleware `" + name + "`: " + middleware_error(m)};
    }
    auto filter = f(name, m, ctx);
    if (!filter) return Error{"middleware `" + name + "`: " + filter.error().message};
    if (*filter) {  // some middlewares need no filter at all (an empty headers, say)
      out.hooks |= (*filter)->hooks();
      out.filters.push_back(std::move(*filter));
    }
  }
  stack.pop_back();
  return true;
}

}  // namespace

void FilterStates::sweep() {
  std::set<std::string> used(used_.begin(), used_.end());
  for (auto it = states_.begin(); it != states_.end();) {
    it = used.count(it->first) ? std::next(it) : states_.erase(it);
  }
  used_.clear();
}

FilterFactory factory_for(const config::Middleware& m) {
  for (const auto& e : kRegistry) {
    if (m.type == e.type) return e.factory;
  }
  return nullptr;
}

std::string middleware_error(const config::Middleware& m) {
  if (!m.provider_error.empty()) return m.provider_error;
  if (m.chain) return "";
  if (m.type.empty()) return "no middleware type given";
  FilterFactory f = factory_for(m);
  if (f == nullptr) return "type `" + m.type + "` is not supported yet";
  auto r = f("check", m, ChainContext{});
  return r ? "" : r.error().message;
}

Result<Chain> compile_chain(const std::vector<std::string>& names,
                            const std::map<std::string, config::Middleware>& all,
                            const ChainContext& ctx) {
  Chain out;
  std::vector<std::string> stack;
  for (const auto& n : names) {
    auto r = add(n, all, ctx, stack, out);
    if (!r) return r.error();
  }
  return out;
}

}  // namespace portier::proxy
