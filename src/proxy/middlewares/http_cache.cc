#include "proxy/middlewares/http_cache.h"

#include <boost/asio/post.hpp>
#include <charconv>
#include <ctime>

#include "proxy/http/message.h"
#include "proxy/middlewares/cache_disk.h"
#include "proxy/http/parser.h"

namespace portier::proxy::cache {
namespace {

// Heuristic freshness (RFC 9111 4.2.2): a tenth of the time since Last-Modified, at most a day.
constexpr Seconds kMaxHeuristic = 24 * 3600;
// A stored response's bookkeeping, counted in its cost besides its bytes.
constexpr std::size_t kEntryOverhead = 256;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<Seconds> parse_seconds(std::string_view v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  if (v.empty()) return std::nullopt;
  Seconds n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    if (n > (Seconds{1} << 40)) return n;  // huge: saturate rather than overflow
    n = n * 10 + (c - '0');
  }
  return n;
}

const std::string* find(const FieldList& fields, std::string_view name) {
  for (const auto& [n, v] : fields) {
    if (http::iequals(n, name)) return &v;
  }
  return nullptr;
}

int month_index(std::string_view m) {
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int i = 0; i < 12; ++i) {
    if (m == kMonths[i]) return i;
  }
  return -1;
}

bool number(std::string_view s, int& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool hms(std::string_view s, std::tm& tm) {
  return s.size() == 8 && s[2] == ':' && s[5] == ':' && number(s.substr(0, 2), tm.tm_hour) &&
         number(s.substr(3, 2), tm.tm_min) && number(s.substr(6, 2), tm.tm_sec);
}

}  // namespace

Seconds now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void Directives::add(std::string_view value) {
  http::for_each_token(value, [&](std::string_view t) {
    std::string_view name = t, arg;
    if (auto eq = t.find('='); eq != std::string_view::npos) {
      name = trim(t.substr(0, eq));
      arg = trim(t.substr(eq + 1));
    }
    if (http::iequals(name, "no-store")) {
      no_store = true;
    } else if (http::iequals(name, "no-cache")) {
      no_cache = true;
    } else if (http::iequals(name, "private")) {
      is_private = true;
    } else if (http::iequals(name, "public")) {
      is_public = true;
    } else if (http::iequals(name, "must-revalidate") || http::iequals(name, "proxy-revalidate")) {
      must_revalidate = true;
    } else if (http::iequals(name, "max-age")) {
      // A malformed value makes the response stale (RFC 9111 4.2.1: treat as invalid).
      max_age = parse_seconds(arg).value_or(0);
    } else if (http::iequals(name, "s-maxage")) {
      s_maxage = parse_seconds(arg).value_or(0);
    } else if (http::iequals(name, "stale-while-revalidate")) {
      stale_while_revalidate = parse_seconds(arg);
    } else if (http::iequals(name, "stale-if-error")) {
      stale_if_error = parse_seconds(arg);
    }
  });
}

std::optional<Seconds> parse_http_date(std::string_view s) {
  s = trim(s);
  std::tm tm{};
  int day = 0, year = 0;
  const std::size_t comma = s.find(',');
  if (comma == 3 && s.size() == 29 && s.substr(25) == " GMT") {
    // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
    if (!number(s.substr(5, 2), day) || (tm.tm_mon = month_index(s.substr(8, 3))) < 0 ||
        !number(s.substr(12, 4), year) || !hms(s.substr(17, 8), tm)) {
      return std::nullopt;
    }
  } else if (comma != std::string_view::npos && comma > 3 && s.ends_with(" GMT")) {
    // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
    std::string_view rest = s.substr(comma + 2);
    if (rest.size() != 22 || rest[2] != '-' || rest[6] != '-' || !number(rest.substr(0, 2), day) ||
        (tm.tm_mon = month_index(rest.substr(3, 3))) < 0 || !number(rest.substr(7, 2), year) ||
        !hms(rest.substr(10, 8), tm)) {
      return std::nullopt;
    }
    year += year < 70 ? 2000 : 1900;
  } else if (s.size() == 24) {
    // asctime: "Sun Nov  6 08:49:37 1994"
    std::string_view d = trim(s.substr(8, 2));
    if ((tm.tm_mon = month_index(s.substr(4, 3))) < 0 || !number(d, day) ||
        !hms(s.substr(11, 8), tm) || !number(s.substr(20, 4), year)) {
      return std::nullopt;
    }
  } else {
    return std::nullopt;
  }
  if (day < 1 || day > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60) {
    return std::nullopt;
  }
  tm.tm_mday = day;
  tm.tm_year = year - 1900;
  return static_cast<Seconds>(timegm(&tm));
}

std::string format_http_date(Seconds t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

bool stored_field(std::string_view name) {
  static constexpr std::string_view kDropped[] = {
      "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
      "upgrade", "age", "content-length", "cache-status", "set-cookie"};
  for (auto d : kDropped) {
    if (http::iequals(name, d)) return false;
  }
  return true;
}

std::optional<Freshness> storable(int status, const FieldList& fields, bool request_authorized,
                                  const Policy& policy, Seconds now) {
  // Final statuses a cache understands (RFC 9110 15); 206 needs range merging: not stored.
  static constexpr int kUnderstood[] = {200, 203, 204, 300, 301, 302, 303, 307, 308,
                                        400, 403, 404, 405, 410, 414, 451, 500, 501, 502, 503, 504};
  static constexpr int kHeuristic[] = {200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501};
  if (std::find(std::begin(kUnderstood), std::end(kUnderstood), status) == std::end(kUnderstood)) {
    return std::nullopt;
  }
  Directives cc;
  for (const auto& [n, v] : fields) {
    if (http::iequals(n, "cache-control")) cc.add(v);
    if (http::iequals(n, "set-cookie")) return std::nullopt;
    if (http::iequals(n, "vary")) {
      bool star = false;
      http::for_each_token(v, [&](std::string_view t) { star = star || t == "*"; });
      if (star) return std::nullopt;
    }
  }
  if (cc.no_store || cc.is_private) return std::nullopt;
  if (request_authorized && !policy.cache_authorized && !cc.is_public && !cc.s_maxage &&
      !cc.must_revalidate) {
    return std::nullopt;
  }
  Freshness f;
  f.response_time = now;
  const std::string* date_field = find(fields, "date");
  // The Date field, or now (GCC 12 misreads std::optional here: -Wmaybe-uninitialized).
  const std::optional<Seconds> parsed_date =
      date_field ? parse_http_date(*date_field) : std::nullopt;
  const bool has_date = parsed_date.has_value();
  const Seconds date_or_now = has_date ? *parsed_date : now;
  // RFC 9111 4.2.3, with request time = response time (the exchange is short next to seconds).
  Seconds age_value = 0;
  if (const std::string* a = find(fields, "age")) age_value = parse_seconds(*a).value_or(0);
  const Seconds apparent_age = has_date ? std::max<Seconds>(0, now - date_or_now) : 0;
  f.corrected_initial_age = std::max(apparent_age, age_value);
  bool explicit_lifetime = true;
  if (cc.s_maxage) {
    f.lifetime = *cc.s_maxage;
  } else if (cc.max_age) {
    f.lifetime = *cc.max_age;
  } else if (const std::string* e = find(fields, "expires")) {
    auto expires = parse_http_date(*e);
    f.lifetime = expires ? std::max<Seconds>(0, *expires - date_or_now) : 0;
  } else {
    explicit_lifetime = false;
  }
  if (!explicit_lifetime) {
    const bool heuristic =
        cc.is_public ||
        std::find(std::begin(kHeuristic), std::end(kHeuristic), status) != std::end(kHeuristic);
    const std::string* lm = find(fields, "last-modified");
    const auto last_modified = lm ? parse_http_date(*lm) : std::nullopt;
    if (heuristic && last_modified && *last_modified < date_or_now) {
      f.lifetime = std::min(kMaxHeuristic, (date_or_now - *last_modified) / 10);
    } else if (policy.default_ttl > 0 && heuristic) {
      f.lifetime = policy.default_ttl;
    } else if (!cc.no_cache || (!lm && !find(fields, "etag"))) {
      return std::nullopt;  // nothing says how long, and no validator to ask again with
    }
  }
  f.no_cache = cc.no_cache;
  f.must_revalidate = cc.must_revalidate || cc.s_maxage.has_value();
  f.stale_while_revalidate = cc.stale_while_revalidate.value_or(policy.stale_while_revalidate);
  f.stale_if_error = cc.stale_if_error.value_or(policy.stale_if_error);
  return f;
}

std::size_t Entry::cost() const {
  std::size_t n = kEntryOverhead + body.size();
  for (const auto& [k, v] : fields) n += k.size() + v.size() + 32;
  for (const auto& [k, v] : vary) n += k.size() + v.size() + 32;
  return n;
}

const std::string* Entry::field(std::string_view name) const { return find(fields, name); }

FieldList merge_304(const FieldList& stored, const FieldList& fresh) {
  FieldList out;
  auto updated = [&](std::string_view name) {
    for (const auto& [n, v] : fresh) {
      if (http::iequals(n, name) && stored_field(n)) return true;
    }
    return false;
  };
  for (const auto& f : stored) {
    if (!updated(f.first)) out.push_back(f);
  }
  for (const auto& f : fresh) {
    if (stored_field(f.first)) out.push_back(f);
  }
  return out;
}

std::shared_ptr<const Entry> Store::find(const std::string& key, const FieldLookup& request,
                                         bool count) {
  std::lock_guard l(mu_);
  auto it = slots_.find(key);
  if (it != slots_.end()) {
    for (const auto& e : it->second.variants) {
      bool match = true;
      for (const auto& [name, value] : e->vary) {
        auto got = request(name);
        if (got.value_or("") != value) {
          match = false;
          break;
        }
      }
      if (match) {
        lru_.splice(lru_.begin(), lru_, it->second.lru);
        if (count) ++stats_.hits;
        return e;
      }
    }
  }
  if (count) ++stats_.misses;
  return nullptr;
}

void Store::note_disk_hit() {
  std::lock_guard l(mu_);
  if (stats_.misses > 0) --stats_.misses;
  ++stats_.hits;
}

bool Store::insert(const std::string& key, std::shared_ptr<const Entry> e, bool to_disk) {
  const std::size_t cost = e->cost();
  if (cost > max_entry_ + kEntryOverhead * 4 || cost > max_bytes_) return false;
  if (disk_ && to_disk) disk_->write(key, e);
  std::lock_guard l(mu_);
  auto [it, fresh] = slots_.try_emplace(key);
  Slot& slot = it->second;
  if (fresh) {
    lru_.push_front(key);
    slot.lru = lru_.begin();
  } else {
    lru_.splice(lru_.begin(), lru_, slot.lru);
  }
  bool replaced = false;
  for (auto& v : slot.variants) {
    if (v->vary == e->vary) {
      slot.bytes -= v->cost();
      bytes_ -= v->cost();
      v = e;
      replaced = true;
      break;
    }
  }
  if (!replaced) slot.variants.push_back(e);
  slot.bytes += cost;
  bytes_ += cost;
  ++stats_.stores;
  evict_locked();
  return true;
}

void Store::erase_locked(std::unordered_map<std::string, Slot>::iterator it) {
  bytes_ -= it->second.bytes;
  lru_.erase(it->second.lru);
  slots_.erase(it);
}

void Store::evict_locked() {
  while (bytes_ > max_bytes_ && !lru_.empty()) {
    auto it = slots_.find(lru_.back());
    erase_locked(it);
    ++stats_.evictions;
  }
}

std::size_t Store::purge(const std::string& key) {
  const std::size_t on_disk = disk_ ? disk_->purge(key) : 0;
  std::lock_guard l(mu_);
  auto it = slots_.find(key);
  if (it == slots_.end()) return on_disk;
  erase_locked(it);
  return 1;
}

std::size_t Store::purge_prefix(std::string_view prefix) {
  const std::size_t on_disk = disk_ ? disk_->purge_prefix(prefix) : 0;
  std::lock_guard l(mu_);
  std::size_t n = 0;
  for (auto it = slots_.begin(); it != slots_.end();) {
    auto next = std::next(it);
    if (std::string_view(it->first).starts_with(prefix)) {
      erase_locked(it);
      ++n;
    }
    it = next;
  }
  return std::max(n, on_disk);
}

Stats Store::stats() const {
  std::lock_guard l(mu_);
  Stats s = stats_;
  s.entries = slots_.size();
  s.bytes = bytes_;
  return s;
}

bool Store::claim(const std::string& key, const MakeWaiter& make_waiter) {
  std::lock_guard l(mu_);
  auto [it, fresh] = fills_.try_emplace(key);
  if (fresh) return true;
  if (make_waiter) it->second.push_back(make_waiter());
  return false;
}

void Store::release(const std::string& key) {
  std::vector<std::shared_ptr<boost::asio::steady_timer>> waiters;
  {
    std::lock_guard l(mu_);
    auto it = fills_.find(key);
    if (it == fills_.end()) return;
    waiters = std::move(it->second);
    fills_.erase(it);
  }
  for (auto& t : waiters) {
    // Each waiter's timer belongs to its worker: cancel it there.
    boost::asio::post(t->get_executor(), [t] { t->cancel(); });
  }
}

Registry& Registry::instance() {
  static Registry r;
  return r;
}

void Registry::add(const std::string& name, const std::shared_ptr<Store>& store) {
  std::lock_guard l(mu_);
  std::erase_if(stores_, [](const auto& p) { return p.second.expired(); });
  stores_.emplace_back(name, store);
}

void Registry::for_each(const std::function<void(const std::string&, Store&)>& f) {
  std::vector<std::pair<std::string, std::shared_ptr<Store>>> live;
  {
    std::lock_guard l(mu_);
    for (const auto& [n, w] : stores_) {
      if (auto s = w.lock()) live.emplace_back(n, std::move(s));
    }
  }
  for (auto& [n, s] : live) f(n, *s);
}

}  // namespace portier::proxy::cache
