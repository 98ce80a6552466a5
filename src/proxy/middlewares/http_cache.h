// The cache middleware's store and its RFC 9111 arithmetic, apart from the filter
// (cache_filter.cc), so both can be tested without sockets.
//
// One Store per cache middleware, shared by every router that uses it and by every worker: a
// hit on one worker serves the others, and the memory limit is the middleware's, not multiplied
// by the worker count. Entries are immutable once stored and handed out as shared_ptr, so a hit
// holds the store's mutex only for the lookup and the LRU update (a hash, a list splice, a
// shared_ptr copy), never while writing to a client. Misses of one key are collapsed: the first
// becomes the filler, the others wait (claim/release) until it is stored or lock_timeout passes.
//
// Threading: every public member is thread-safe.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace portier::proxy::cache {

// Seconds since the Unix epoch.
using Seconds = std::int64_t;
Seconds now_seconds();

// The Cache-Control directives a shared cache acts on, from every field of that name.
struct Directives {
  bool no_store = false;
  bool no_cache = false;  // also no-cache="field" (treated as plain no-cache)
  bool is_private = false;
  bool is_public = false;
  bool must_revalidate = false;  // or proxy-revalidate
  std::optional<Seconds> max_age;
  std::optional<Seconds> s_maxage;
  std::optional<Seconds> stale_while_revalidate;
  std::optional<Seconds> stale_if_error;
  void add(std::string_view field_value);
};

// IMF-fixdate, RFC 850 and asctime forms (RFC 9110 5.6.7); nullopt when none parses.
std::optional<Seconds> parse_http_date(std::string_view s);
std::string format_http_date(Seconds t);

// How a stored response ages (RFC 9111 4.2).
struct Freshness {
  Seconds response_time = 0;          // when it was received
  Seconds corrected_initial_age = 0;  // its Age then, corrected
  Seconds lifetime = 0;               // fresh while the current age is below this
  Seconds stale_while_revalidate = 0;
  Seconds stale_if_error = 0;
  bool must_revalidate = false;  // never served stale
  bool no_cache = false;         // always revalidated before use
  Seconds age(Seconds now) const { return corrected_initial_age + std::max<Seconds>(0, now - response_time); }
  bool fresh(Seconds now) const { return !no_cache && age(now) < lifetime; }
  // Seconds past its lifetime (negative while fresh).
  Seconds staleness(Seconds now) const { return age(now) - lifetime; }
};

// The options of one cache middleware that decide what is stored (config::Cache, in seconds).
struct Policy {
  Seconds default_ttl = 0;
  Seconds stale_while_revalidate = 0;
  Seconds stale_if_error = 0;
  bool cache_authorized = false;
};

using FieldLookup = std::function<std::optional<std::string_view>(std::string_view name)>;
using FieldList = std::vector<std::pair<std::string, std::string>>;

// Whether a response may be stored by a shared cache, and its freshness; nullopt: not stored.
// `fields`: every response field (name, value), in order. RFC 9111 3 and 4.2: no no-store or
// private, no `Vary: *`, no Set-Cookie (as nginx: a personal answer), a status that is final
// and understood, an explicit lifetime (s-maxage, max-age, Expires), else a heuristic one for
// heuristically cacheable statuses with Last-Modified (10% of its age, 1 day at most), else
// Policy::default_ttl for 200, 203, 204, 301, 404, 410; requests with Authorization only with
// public, s-maxage or must-revalidate (or cache_authorized).
std::optional<Freshness> storable(int status, const FieldList& fields, bool request_authorized,
                                  const Policy& policy, Seconds now);

struct Entry {
  int status = 200;
  FieldList fields;  // as the client gets them, less hop-by-hop fields, Age and Content-Length
  std::string body;
  // Vary: the request's values of the named fields (lower-case names; "" when absent).
  FieldList vary;
  Freshness freshness;
  std::string etag;           // "" when none
  std::string last_modified;  // "" when none
  std::size_t cost() const;
  const std::string* field(std::string_view name) const;
};

// The fields of a 304 folded into a stored entry (RFC 9111 4.3.4): same-name fields replaced,
// new ones added, Content-Length and hop-by-hop ones ignored.
FieldList merge_304(const FieldList& stored, const FieldList& fresh);

// Is this field kept in a stored entry?
bool stored_field(std::string_view name);

struct Stats {
  std::uint64_t entries = 0, bytes = 0, hits = 0, misses = 0, stores = 0, evictions = 0;
};

class DiskTier;

class Store {
 public:
  Store(std::size_t max_bytes, std::size_t max_entry_bytes)
      : max_bytes_(max_bytes), max_entry_(max_entry_bytes) {}
  std::size_t max_entry_bytes() const { return max_entry_; }

  // The disk tier (cache_disk.h), set once before the store is used: inserts are written
  // through, purges reach it, and the filter reads it back on a memory miss.
  void set_disk(std::shared_ptr<DiskTier> disk) { disk_ = std::move(disk); }
  DiskTier* disk() const { return disk_.get(); }
  // Why the disk tier could not be opened ("" when it was, or none was asked for).
  std::string disk_error;
  // A memory miss that the disk answered: counted as a hit.
  void note_disk_hit();

  // The entry stored under `key` whose Vary values match the request's (`request` gives a
  // request field's value, all its fields joined with ", "), or null. Counts a hit or a miss
  // only when `count` (a revalidation's lookup is neither).
  std::shared_ptr<const Entry> find(const std::string& key, const FieldLookup& request,
                                    bool count = true);
  // Stores `e` (replacing the variant with the same Vary values), evicting the least recently
  // used keys beyond max_bytes. Entries over max_entry_bytes are refused. `to_disk`: also
  // write it to the disk tier (not for an entry just read from there).
  bool insert(const std::string& key, std::shared_ptr<const Entry> e, bool to_disk = true);
  // Drops `key` (every variant) / every key starting with `prefix`; returns how many keys.
  std::size_t purge(const std::string& key);
  std::size_t purge_prefix(std::string_view prefix);
  Stats stats() const;

  // Collapsed misses. claim(): true when the caller fills `key` (and must release() it); false
  // when another request does. Then `make_waiter` (unless null: a caller that does not wait)
  // is called, under the store's lock, for a timer that release() cancels on its own executor.
  using MakeWaiter = std::function<std::shared_ptr<boost::asio::steady_timer>()>;
  bool claim(const std::string& key, const MakeWaiter& make_waiter);
  void release(const std::string& key);

 private:
  struct Slot {
    std::vector<std::shared_ptr<const Entry>> variants;
    std::list<std::string>::iterator lru;
    std::size_t bytes = 0;
  };
  void evict_locked();
  void erase_locked(std::unordered_map<std::string, Slot>::iterator it);

  const std::size_t max_bytes_;
  const std::size_t max_entry_;
  std::shared_ptr<DiskTier> disk_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Slot> slots_;
  std::list<std::string> lru_;  // front: most recently used
  std::size_t bytes_ = 0;
  Stats stats_;
  std::unordered_map<std::string, std::vector<std::shared_ptr<boost::asio::steady_timer>>> fills_;
};

// Every cache middleware's store, by middleware name, for the API's purge and stats.
// Stores register themselves when built and are dropped when their last user goes.
class Registry {
 public:
  static Registry& instance();
  void add(const std::string& name, const std::shared_ptr<Store>& store);
  // Calls f(name, store) for each live store (a snapshot: no lock held during f).
  void for_each(const std::function<void(const std::string&, Store&)>& f);

 private:
  std::mutex mu_;
  std::vector<std::pair<std::string, std::weak_ptr<Store>>> stores_;
};

}  // namespace portier::proxy::cache
