#include "proxy/name_cache.h"

#include <algorithm>

#include "common/log.h"

namespace portier::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Callbacks hold the entry weakly: an entry swept away (or the cache destroyed, which destroys
// its entries) turns late answers and timers into no-ops.
struct NameCache::Entry {
  explicit Entry(const asio::any_io_executor& ex) : timer(ex) {}
  std::string host, port;
  asio::steady_timer timer;
  std::optional<tcp::endpoint> endpoint;  // last good answer
  std::string error;                      // last failure, while there is no good answer
  std::chrono::milliseconds retry{1000};  // next wait after a failure
};

NameCache::NameCache(asio::any_io_executor ex, std::function<void()> on_change, ResolveFn resolve,
                     std::chrono::milliseconds refresh)
    : ex_(std::move(ex)),
      on_change_(std::move(on_change)),
      resolve_(std::move(resolve)),
      refresh_(refresh) {
  if (!resolve_) {
    resolve_ = [ex = ex_](const std::string& host, const std::string& port, Done done) {
      auto resolver = std::make_shared<tcp::resolver>(ex);
      resolver->async_resolve(
          host, port, tcp::resolver::numeric_service,
          [resolver, done = std::move(done)](const boost::system::error_code& ec,
                                             const tcp::resolver::results_type& r) {
            if (ec || r.empty()) {
              done(ec ? ec : asio::error::host_not_found, std::nullopt);
              return;
            }
            // IPv4 first when there is one: backends usually listen on it, and localhost's
            // ::1 is often not where they listen.
            std::optional<tcp::endpoint> pick;
            for (const auto& e : r) {
              if (e.endpoint().address().is_v4()) {
                pick = e.endpoint();
                break;
              }
            }
            done({}, pick ? pick : std::optional<tcp::endpoint>(r.begin()->endpoint()));
          });
    };
  }
}

NameCache::~NameCache() = default;

NameCache::Answer NameCache::lookup(const std::string& host, const std::string& port) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  const auto p = static_cast<unsigned short>(std::stoul(port));
  if (!ec) return {tcp::endpoint(address, p), {}};
  auto key = std::make_pair(host, port);
  asked_.insert(key);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    auto e = std::make_shared<Entry>(ex_);
    e->host = host;
    e->port = port;
    e->error = "resolving `" + host + "` (the service starts when the name resolves)";
    entries_.emplace(key, e);
    start(e);
    return {std::nullopt, e->error};
  }
  const Entry& e = *it->second;
  if (e.endpoint) return {e.endpoint, {}};
  return {std::nullopt, e.error};
}

void NameCache::start(const std::shared_ptr<Entry>& e) {
  std::weak_ptr<Entry> weak = e;
  resolve_(e->host, e->port,
           [this, weak](boost::system::error_code ec, std::optional<tcp::endpoint> endpoint) {
             if (auto entry = weak.lock()) finished(*entry, ec, endpoint);
           });
}

void NameCache::finished(Entry& e, const boost::system::error_code& ec,
                         const std::optional<tcp::endpoint>& endpoint) {
  bool changed = false;
  std::chrono::milliseconds next = refresh_;
  if (ec || !endpoint) {
    const std::string why = ec ? ec.message() : "no address";
    if (e.endpoint) {
      log::warn("server name did not resolve; keeping its last address",
                {{"host", e.host}, {"error", why}});
    } else {
      const std::string error = "cannot resolve `" + e.host + "`: " + why + " (retrying)";
      changed = error != e.error;
      e.error = error;
      log::warn("server name did not resolve",
                {{"host", e.host}, {"error", why}, {"retry_in", std::to_string(e.retry.count()) + "ms"}});
    }
    next = e.retry;
    e.retry = std::min<std::chrono::milliseconds>(e.retry * 2, refresh_);
  } else {
    changed = !e.endpoint || *e.endpoint != *endpoint;
    if (changed && e.endpoint) {
      log::info("server name resolves to a new address",
                {{"host", e.host}, {"address", endpoint->address().to_string()}});
    }
    e.endpoint = endpoint;
    e.error.clear();
    e.retry = std::chrono::milliseconds(1000);
  }
  auto key = std::make_pair(e.host, e.port);
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    std::weak_ptr<Entry> weak = it->second;
    e.timer.expires_after(next);
    e.timer.async_wait([this, weak](const boost::system::error_code& tec) {
      if (tec) return;
      if (auto entry = weak.lock()) start(entry);
    });
  }
  if (changed && on_change_) on_change_();
}

void NameCache::sweep() {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (asked_.count(it->first)) {
      ++it;
      continue;
    }
    it = entries_.erase(it);  // its timer is cancelled; a pending answer finds no entry
  }
  asked_.clear();
}

}  // namespace portier::proxy
