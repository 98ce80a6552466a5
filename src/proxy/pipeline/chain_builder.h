// Compiles a router's middleware names into a filter chain: chains flattened in order, every
// middleware checked and built by its type's entry in the registry (chain_builder.cc), errors
// naming the middleware. Control plane only.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "config/dynamic.h"
#include "proxy/pipeline/filter.h"

namespace portier::proxy {

struct ServiceTarget;

// Long-lived state of stateful middlewares (rate-limit buckets, in-flight counts, breaker
// windows), kept across routing tables for as long as a middleware keeps its name and its
// configuration. Not thread-safe: the table builder's.
class FilterStates {
 public:
  // The state kept for `name` when its configuration is `mw` (made by `make` when there is none
  // or the configuration changed).
  template <typename T, typename Make>
  std::shared_ptr<T> get(const std::string& name, const config::Middleware& mw, Make make) {
    used_.push_back(name);
    auto it = states_.find(name);
    if (it != states_.end() && it->second.config == mw) {
      if (auto p = std::static_pointer_cast<T>(it->second.state)) return p;
    }
    auto p = make();
    states_[name] = {mw, p};
    return p;
  }
  // Drops the state of middlewares the last build did not use.
  void sweep();

 private:
  struct Entry {
    config::Middleware config;
    std::shared_ptr<void> state;
  };
  std::map<std::string, Entry> states_;
  std::vector<std::string> used_;
};

struct ChainContext {
  // The services of the table being built (for errors.service), or null when only checking.
  const std::map<std::string, const ServiceTarget*>* services = nullptr;
  FilterStates* states = nullptr;  // null: a throwaway state
  // The router the chain is for: stateful middlewares keep one state per router using them, as
  // Traefik builds one middleware instance per router.
  std::string router;
  // The state of stateful middleware `name` on this router (a fresh one without `states`).
  template <typename T, typename Make>
  std::shared_ptr<T> state(const std::string& name, const config::Middleware& mw,
                           Make make) const {
    if (states == nullptr) return make();
    return states->get<T>(router + "|" + name, mw, make);
  }
};

Result<Chain> compile_chain(const std::vector<std::string>& names,
                            const std::map<std::string, config::Middleware>& all,
                            const ChainContext& ctx);

// Checks one middleware on its own (for the API and the router errors): "" when it can be built.
std::string middleware_error(const config::Middleware& mw);

// One registry entry per middleware type (pipeline/registry.cc): builds the filter, or says why
// it cannot. `name` is the qualified name.
using FilterFactory = Result<std::unique_ptr<const Filter>> (*)(const std::string& name,
                                                                const config::Middleware& mw,
                                                                const ChainContext& ctx);
// The factory for the middleware's type, or null when portier does not implement it.
FilterFactory factory_for(const config::Middleware& mw);

}  // namespace portier::proxy
