// Host names in server URLs, resolved in the background and cached for the table builder.
//
// The builder must not block on DNS (it runs on the control thread, which also serves every
// provider, the health checks and ACME), and a name that fails once must not stay failed. So
// the builder asks lookup(): an IP address literal answers at once; a name answers from the
// cache, or, the first time, with "resolving" while Asio's resolver (getaddrinfo on its own
// thread) looks it up. Every completed lookup that changes what the builder would get (a first
// answer, a new address, a failure turning into success) calls `on_change`, which rebuilds the
// table: the same door as every other configuration change.
//
// Names are looked up again every kRefresh while some table uses them (a container's address
// behind a name may move); failures are retried after 1 s, doubling to kRefresh. A failure after
// a success keeps the last good address (a DNS hiccup must not take a service down) and logs a
// warning. Names no build asked for since the previous sweep() are forgotten.
//
// Threading: control plane only (the executor given); on_change runs there too.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>

namespace portier::proxy {

class NameCache {
 public:
  static constexpr std::chrono::seconds kRefresh{30};

  // How a name is looked up: calls `done` once, on the executor, with an address or an error.
  // The default is Asio's resolver (getaddrinfo on Asio's resolver thread); tests pass a fake
  // to make names fail (no DNS server may be asked from a test here).
  using Done = std::function<void(boost::system::error_code,
                                  std::optional<boost::asio::ip::tcp::endpoint>)>;
  using ResolveFn =
      std::function<void(const std::string& host, const std::string& port, Done done)>;

  // `refresh`: how often a resolved name is looked up again (tests shorten it).
  NameCache(boost::asio::any_io_executor ex, std::function<void()> on_change,
            ResolveFn resolve = {}, std::chrono::milliseconds refresh = kRefresh);
  ~NameCache();
  NameCache(const NameCache&) = delete;
  NameCache& operator=(const NameCache&) = delete;

  struct Answer {
    std::optional<boost::asio::ip::tcp::endpoint> endpoint;
    std::string error;  // when there is no endpoint: "resolving" or the resolver's message
  };
  // `port` is numeric. Never blocks.
  Answer lookup(const std::string& host, const std::string& port);
  // Forgets names not looked up since the last sweep (call after each build).
  void sweep();

  struct Entry;

 private:
  void start(const std::shared_ptr<Entry>& e);
  void finished(Entry& e, const boost::system::error_code& ec,
                const std::optional<boost::asio::ip::tcp::endpoint>& endpoint);

  boost::asio::any_io_executor ex_;
  std::function<void()> on_change_;
  ResolveFn resolve_;
  std::chrono::milliseconds refresh_;
  std::map<std::pair<std::string, std::string>, std::shared_ptr<Entry>> entries_;
  std::set<std::pair<std::string, std::string>> asked_;  // since the last sweep
};

}  // namespace portier::proxy
