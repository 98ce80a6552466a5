// On-demand certificates for one resolver (certificatesResolvers.<name>.acme.onDemand): the
// tls::OnDemand the HTTPS entrypoints ask (tls/on_demand.h).
//
// A name no certificate covers is queued once; a thread of its own asks `ask?domain=<name>`
// (GET, 5 s timeout, no redirects): 200 allows it, anything else refuses it for a minute. An
// allowed name is ordered by the resolver's manager if the rate limit allows (at most `burst`
// orders per `interval` for the whole resolver; a name over the limit is refused until the window
// frees), and from then on it is one of the manager's name sets: failures are retried with the
// usual backoff and the certificate is renewed like the others. Handshakes wait for a name while
// it is being asked and for a minute after it is ordered; not after a refusal.
//
// Threading: want()/wait() from any worker (a mutex around a map, never I/O); set_enabled() from
// the control thread; the asking thread runs between start() and stop().
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "acme/manager.h"
#include "config/static_config.h"
#include "tls/on_demand.h"

namespace portier::app {

class OnDemandCertificates : public tls::OnDemand {
 public:
  OnDemandCertificates(std::string resolver, config::OnDemand cfg, acme::Manager& manager);
  ~OnDemandCertificates() override;
  void start();
  void stop();
  // Whether any router names the resolver; without one no name is asked for.
  void set_enabled(bool enabled) { enabled_.store(enabled, std::memory_order_relaxed); }

  bool want(std::string_view name) override;
  std::chrono::milliseconds wait() const override { return cfg_.wait; }

 private:
  enum class State { Asking, Ordered, Refused };
  struct Entry {
    State state = State::Asking;
    std::chrono::steady_clock::time_point until;  // Ordered: wait until; Refused: refuse until
  };
  void run();
  // The ask endpoint's status for `name` (0 when it could not be reached).
  long ask(const std::string& name) const;
  void decide(const std::string& name, long status);

  std::string resolver_;
  config::OnDemand cfg_;
  acme::Manager& manager_;
  std::atomic<bool> enabled_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Entry, std::less<>> entries_;
  std::deque<std::string> queue_;
  std::deque<std::chrono::steady_clock::time_point> ordered_;  // asking thread: the rate window
  bool stopping_ = false;
  std::thread thread_;
};

// A name a public CA could issue for: dot-separated labels of letters, digits and '-', no
// wildcard, no IP address, at most 253 characters. Exposed for tests.
bool plausible_host_name(std::string_view name);

}  // namespace portier::app
