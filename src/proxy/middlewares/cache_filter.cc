// cache: portier's shared HTTP cache (RFC 9111) as a middleware. http_cache.h holds the store
// and the arithmetic; this file decides, per request, between a hit (answered here), a stale hit
// (stale-while-revalidate: answered here, refreshed in the background), a revalidation (the
// request goes on with If-None-Match / If-Modified-Since, and a 304 is turned back into the
// stored response), and a miss (the response is copied aside as it streams, and stored at its
// end). Every answer says which in a Cache-Status field (RFC 9211).
//
// The key is the request's Host, path and query; GET and HEAD share entries (HEAD never fills
// one). Other methods pass through, and a successful unsafe one (POST, PUT, DELETE, PATCH)
// drops the entries of its URL (RFC 9111 4.4).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/as_tuple.hpp>

#include "common/log.h"
#include "proxy/http/message.h"
#include "proxy/middlewares/filters.h"
#include "proxy/middlewares/cache_disk.h"
#include "proxy/middlewares/http_cache.h"
#include "proxy/routing_table.h"
#include "proxy/subrequest.h"
#include "proxy/upstream_tls.h"
#include "proxy/worker_state.h"

namespace portier::proxy::mw {
namespace {

namespace asio = boost::asio;
using cache::Entry;
using cache::FieldList;
using cache::Seconds;

constexpr std::string_view kName = "portier";

// What a request that did not end as a hit needs in its response and completion hooks.
struct RequestState {
  // A filler whose request ends without its completion hook (the connection torn down) still
  // lets the waiters go.
  ~RequestState() {
    if (filler) owner->release(key);
  }
  std::shared_ptr<cache::Store> owner;
  std::string key;
  std::shared_ptr<const Entry> stale;  // the entry being revalidated (or served on error)
  std::shared_ptr<const Entry> serve;  // what replace() answers with
  std::string status;                  // Cache-Status of the answer
  bool filler = false;                 // this request fills the key: release() at the end
  bool conditional = false;            // portier added the validators
  bool store = true;                   // the request allows storing (no no-store)
  bool unsafe = false;                 // POST, PUT, DELETE...: invalidates the key
  bool authorized = false;
};

// Copies the response body aside as it goes through; stores the entry at its end.
class Tee final : public BodyTransform {
 public:
  Tee(std::shared_ptr<cache::Store> store, std::string key, std::shared_ptr<Entry> entry)
      : store_(std::move(store)), key_(std::move(key)), entry_(std::move(entry)) {}
  bool write(std::string_view in, Mode mode, std::string& out) override {
    out.append(in);
    if (!overflow_) {
      if (entry_->body.size() + in.size() > store_->max_entry_bytes()) {
        overflow_ = true;
        std::string().swap(entry_->body);
      } else {
        entry_->body.append(in);
      }
    }
    if (mode == Mode::Finish && !overflow_) store_->insert(key_, std::move(entry_));
    return true;
  }
  bool keeps_length() const override { return true; }

 private:
  std::shared_ptr<cache::Store> store_;
  std::string key_;
  std::shared_ptr<Entry> entry_;
  bool overflow_ = false;
};

std::string request_value(const Stream& s, std::string_view name) {
  std::string v;
  if (s.fields == nullptr) return v;
  for (const auto& f : *s.fields) {
    if (http::iequals(f.name, name)) {
      if (!v.empty()) v.append(", ");
      v.append(f.value);
    }
  }
  return v;
}

bool has_field(const Stream& s, std::string_view name) {
  return s.fields != nullptr && s.fields->find(name) != nullptr;
}

// Does the client's validator match the entry (RFC 9110 13.1.2, weak comparison)? The client's
// own fields: not the validators portier adds to revalidate.
bool not_modified(const Stream& s, const Entry& e) {
  auto strip = [](std::string_view t) { return t.starts_with("W/") ? t.substr(2) : t; };
  auto client = [&](std::string_view name) -> std::optional<std::string_view> {
    const http::Field* f = s.fields != nullptr ? s.fields->find(name) : nullptr;
    if (f == nullptr) return std::nullopt;
    return f->value;
  };
  if (auto inm = client("If-None-Match")) {
    if (e.etag.empty()) return false;
    bool match = false;
    http::for_each_token(*inm, [&](std::string_view t) {
      match = match || t == "*" || strip(t) == strip(e.etag);
    });
    return match;
  }
  if (auto ims = client("If-Modified-Since"); ims && !e.last_modified.empty()) {
    auto since = cache::parse_http_date(*ims);
    auto lm = cache::parse_http_date(e.last_modified);
    return since && lm && *lm <= *since;
  }
  return false;
}

class CacheFilter final : public Filter {
 public:
  CacheFilter(std::string name, std::shared_ptr<cache::Store> store, cache::Policy policy,
              std::chrono::milliseconds lock_timeout)
      : Filter(std::move(name), kAsyncRequest | kResponse | kComplete),
        store_(std::move(store)),
        policy_(policy),
        lock_timeout_(lock_timeout) {}

  asio::awaitable<Verdict> on_request_async(Stream& s) const override {
    const bool get = s.method == "GET", head = s.method == "HEAD";
    if (!get && !head) {
      if (s.method != "OPTIONS" && s.method != "TRACE" && s.method != "CONNECT") {
        auto st = make_state(s);
        st->unsafe = true;
      }
      co_return Verdict::Continue;
    }
    cache::Directives req;
    for (const auto& f : *s.fields) {
      if (http::iequals(f.name, "cache-control")) req.add(f.value);
    }
    const bool pragma_no_cache = !s.header("Cache-Control") && s.header("Pragma") &&
                                 http::iequals(*s.header("Pragma"), "no-cache");
    if (req.no_store) {
      auto st = make_state(s);
      st->store = false;
      st->status = std::string(kName) + "; fwd=bypass";
      co_return Verdict::Continue;
    }
    const bool must_ask = req.no_cache || pragma_no_cache || (req.max_age && *req.max_age == 0);
    const std::string key = key_of(s);
    auto lookup = [&](bool count) {
      return store_->find(key, [&](std::string_view n) -> std::optional<std::string_view> {
        return scratch_value(s, n);
      }, count);
    };
    std::shared_ptr<const Entry> e = lookup(true);
    std::string detail;
    if (!e && store_->disk() != nullptr) {
      // Evicted from memory, or stored before a restart: read back off the worker.
      e = co_await store_->disk()->read(
          key, [&](std::string_view n) -> std::optional<std::string_view> {
            return scratch_value(s, n);
          });
      if (e) {
        store_->insert(key, e, false);
        store_->note_disk_hit();
        detail = "; detail=disk";
      }
    }
    const Seconds now = cache::now_seconds();
    if (e && !must_ask) {
      if (e->freshness.fresh(now)) co_return answer(s, *e, e, hit_status(*e, now) + detail);
      const Seconds late = e->freshness.staleness(now);
      if (!e->freshness.no_cache && !e->freshness.must_revalidate &&
          late < e->freshness.stale_while_revalidate) {
        // Served stale now; one background request refreshes it (unless one already does).
        if (store_->claim(key, nullptr)) revalidate(s, key, e);
        co_return answer(s, *e, e,
                         std::string(kName) + "; hit; ttl=" + std::to_string(-late) +
                             "; detail=stale-while-revalidate");
      }
    }
    auto st = make_state(s);
    st->key = key;
    st->authorized = has_field(s, "authorization");
    if (e) {
      // Stale (or the client asks to check): ask the server whether it changed.
      st->stale = e;
      if (!has_field(s, "if-none-match") && !has_field(s, "if-modified-since") &&
          (!e->etag.empty() || !e->last_modified.empty())) {
        if (!e->etag.empty()) set_edit(s.request_edits, "If-None-Match", e->etag);
        if (!e->last_modified.empty()) {
          set_edit(s.request_edits, "If-Modified-Since", e->last_modified);
        }
        st->conditional = true;
      }
    }
    if (head) co_return Verdict::Continue;  // a HEAD never fills
    // Collapsed misses: one request fills the key, the others wait for it. The timer is made
    // only for a request that waits (the filler, the common case, allocates none).
    std::shared_ptr<asio::steady_timer> timer;
    if (store_->claim(key, [&] {
          timer = std::make_shared<asio::steady_timer>(s.worker->executor(), lock_timeout_);
          return timer;
        })) {
      st->filler = true;
      co_return Verdict::Continue;
    }
    co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
    if (!must_ask) {
      if (auto again = lookup(false); again && again->freshness.fresh(cache::now_seconds())) {
        s.states.pop_back();  // the state made above: a hit needs none
        co_return answer(s, *again, again, hit_status(*again, now) + "; collapsed");
      }
    }
    co_return Verdict::Continue;  // the filler's answer was not stored: ask the server too
  }

  bool on_response(Stream& s, const ResponseView& view) const override {
    RequestState* st = s.state<RequestState>(this);
    if (st == nullptr) return false;
    if (st->unsafe) {
      if (view.status < 400) {
        store_->purge(key_of(s));
      }
      return false;
    }
    const Seconds now = cache::now_seconds();
    if (st->stale && view.local == nullptr && view.status == 304 && st->conditional) {
      // Not modified: the stored response, refreshed by the 304's fields.
      FieldList fresh;
      for (const auto& f : *view.fields) fresh.emplace_back(f.name, f.value);
      auto e = std::make_shared<Entry>(*st->stale);
      e->fields = cache::merge_304(st->stale->fields, fresh);
      auto f = cache::storable(e->status, e->fields, st->authorized, policy_, now);
      if (f) {
        e->freshness = *f;
        fill_validators(*e);
        store_->insert(st->key, e);
      }
      st->serve = std::move(e);
      st->status = std::string(kName) + "; fwd=stale; fwd-status=304";
      return true;
    }
    if (st->stale && (view.status == 500 || view.status == 502 || view.status == 503 ||
                      view.status == 504) &&
        !st->stale->freshness.must_revalidate &&
        st->stale->freshness.staleness(now) < st->stale->freshness.stale_if_error) {
      st->serve = st->stale;
      st->status = std::string(kName) + "; fwd=stale; fwd-status=" +
                   std::to_string(view.status) + "; detail=stale-if-error";
      return true;
    }
    std::string status = st->status.empty()
                             ? std::string(kName) + (st->stale ? "; fwd=stale" : "; fwd=miss")
                             : st->status;
    if (view.local == nullptr && st->store && !st->key.empty() && s.method == "GET" &&
        (!s.has_body || s.body)) {
      if (auto entry = make_entry(s, view, *st, now)) {
        status += "; stored";
        if (view.status == 204 || view.status == 304) {
          store_->insert(st->key, std::move(entry));
        } else {
          s.transforms.push_back(std::make_unique<Tee>(store_, st->key, std::move(entry)));
        }
      }
    }
    set_edit(s.response_edits, "Cache-Status", status);
    return false;
  }

  asio::awaitable<void> replace(Stream& s, int) const override {
    RequestState* st = s.state<RequestState>(this);
    if (st != nullptr && st->serve) {
      auto e = st->serve;
      (void)answer(s, *e, e, st->status);
    } else {
      s.respond(502);
    }
    co_return;
  }

  void on_complete(Stream& s) const override {
    RequestState* st = s.state<RequestState>(this);
    if (st != nullptr && st->filler) {
      st->filler = false;
      store_->release(st->key);
    }
  }

 private:
  RequestState* make_state(Stream& s) const {
    auto st = std::make_shared<RequestState>();
    st->owner = store_;
    RequestState* p = st.get();
    s.states.emplace_back(this, std::move(st));
    return p;
  }

  static std::string key_of(const Stream& s) {
    std::string key;
    key.reserve(s.host.size() + s.path.size() + s.query.size() + 1);
    for (char c : s.host) key.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    key.append(s.path);
    if (!s.query.empty()) key.append("?").append(s.query);
    return key;
  }

  // A request field's value for Vary matching: every field of that name joined. Kept in a
  // per-thread string so a lookup allocates nothing once warm.
  static std::optional<std::string_view> scratch_value(const Stream& s, std::string_view name) {
    thread_local std::string v;
    v = request_value(s, name);
    return std::string_view(v);
  }

  static std::string hit_status(const Entry& e, Seconds now) {
    return std::string(kName) + "; hit; ttl=" +
           std::to_string(e.freshness.lifetime - e.freshness.age(now));
  }

  static void fill_validators(Entry& e) {
    const std::string* etag = e.field("etag");
    const std::string* lm = e.field("last-modified");
    e.etag = etag ? *etag : "";
    e.last_modified = lm ? *lm : "";
  }

  // Answers from a stored entry (a 304 when the client's validators match).
  Verdict answer(Stream& s, const Entry& e, std::shared_ptr<const Entry> keep,
                 std::string status) const {
    const Seconds now = cache::now_seconds();
    const bool conditional_hit = (s.method == "GET" || s.method == "HEAD") && not_modified(s, e);
    s.respond(conditional_hit ? 304 : e.status);
    LocalResponse& l = s.local;
    l.content_type = std::string();
    for (const auto& [n, v] : e.fields) {
      if (http::iequals(n, "content-type")) {
        if (!conditional_hit) l.content_type = v;
        continue;
      }
      l.fields.push_back(HeaderEdit{n, v, true});
    }
    l.fields.push_back(HeaderEdit{"Age", std::to_string(e.freshness.age(now)), false});
    l.fields.push_back(HeaderEdit{"Cache-Status", std::move(status), false});
    if (conditional_hit) {
      l.body_set = true;
    } else {
      l.shared_body = e.body;
      l.body_owner = std::move(keep);
      l.body_set = true;
    }
    return Verdict::Respond;
  }

  // The entry a response makes, or null when it may not be stored.
  std::shared_ptr<Entry> make_entry(const Stream& s, const ResponseView& view,
                                    const RequestState& st, Seconds now) const {
    // The response as the client gets it from here: the server's fields less those inner
    // middlewares replaced, then their edits.
    FieldList fields;
    const auto& edits = s.response_edits;
    const http::HopByHop hop(*view.fields);
    for (const auto& f : *view.fields) {
      if (hop(f.name) || replaces(edits, f.name)) continue;
      fields.emplace_back(f.name, f.value);
    }
    for (const auto& e : edits) {
      if (e.value.empty() || (!e.append && find_edit(edits, e.name) != &e)) continue;
      fields.emplace_back(e.name, e.value);
    }
    if (auto cl = view.header("Content-Length"); cl && !replaces(edits, "content-length")) {
      std::uint64_t n = 0;
      for (char c : *cl) n = n * 10 + static_cast<std::uint64_t>(c - '0');
      if (n > store_->max_entry_bytes()) return nullptr;
    }
    auto f = cache::storable(view.status, fields, st.authorized, policy_, now);
    if (!f) return nullptr;
    auto e = std::make_shared<Entry>();
    e->status = view.status;
    e->freshness = *f;
    for (auto& fl : fields) {
      if (cache::stored_field(fl.first)) e->fields.push_back(std::move(fl));
    }
    fill_validators(*e);
    if (const std::string* vary = e->field("vary")) {
      http::for_each_token(*vary, [&](std::string_view t) {
        std::string name(t);
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        e->vary.emplace_back(name, request_value(s, name));
      });
    }
    return e;
  }

  // stale-while-revalidate: asks a server of the route's service in the background, with the
  // entry's validators, and stores what comes back. The request path, Host and the fields the
  // entry varies on are sent; middlewares' request edits are not (nobody is waiting to see
  // them). The key stays claimed until it ends, so one refresh runs at a time.
  void revalidate(Stream& s, const std::string& key, std::shared_ptr<const Entry> e) const {
    const ServerTarget* server = nullptr;
    if (s.record.route != nullptr && s.record.route->service != nullptr) {
      WorkerState::PickRequest pr{s.peer_ip, s.fields, nullptr};
      std::string cookies;
      if (const ServiceTarget* lb = s.worker->resolve(*s.record.route->service, pr, cookies);
          lb != nullptr && lb->kind == ServiceKind::LoadBalancer) {
        server = s.worker->pick(*lb, pr).server;
      }
    }
    if (server == nullptr) {
      store_->release(key);
      return;
    }
    SubTarget target;
    target.host = server->endpoint.address().to_string();
    target.port = std::to_string(server->endpoint.port());
    target.endpoint = server->endpoint;
    set_upstream_tls(*server, target);
    std::string head = "GET " + std::string(s.path) + (s.query.empty() ? "" : "?") +
                       std::string(s.query) + " HTTP/1.1\r\nHost: " + std::string(s.host) + "\r\n";
    for (const auto& [n, v] : e->vary) {
      if (!v.empty()) head += n + ": " + v + "\r\n";
    }
    if (!e->etag.empty()) head += "If-None-Match: " + e->etag + "\r\n";
    if (!e->last_modified.empty()) head += "If-Modified-Since: " + e->last_modified + "\r\n";
    asio::co_spawn(
        s.worker->executor(),
        [worker = s.worker, store = store_, policy = policy_, key, e, target = std::move(target),
         head = std::move(head), name = name()]() -> asio::awaitable<void> {
          SubRequest req;
          req.method = "GET";
          req.head = head;
          req.max_body = store->max_entry_bytes();
          SubResult r = co_await send_subrequest(*worker, target, req);
          const Seconds now = cache::now_seconds();
          if (r.error != SubError::None) {
            log::warn("cache: background revalidation failed",
                      {{"middleware", name}, {"key", key}, {"error", describe(r.error)}});
          } else if (r.response.status == 304) {
            auto fresh = std::make_shared<Entry>(*e);
            fresh->fields = cache::merge_304(e->fields, r.response.fields);
            if (auto f = cache::storable(fresh->status, fresh->fields, false, policy, now)) {
              fresh->freshness = *f;
              store->insert(key, std::move(fresh));
            }
          } else {
            FieldList fields;
            for (auto& fl : r.response.fields) {
              if (cache::stored_field(fl.first)) fields.push_back(fl);
            }
            if (auto f = cache::storable(r.response.status, r.response.fields, false, policy, now)) {
              auto fresh = std::make_shared<Entry>();
              fresh->status = r.response.status;
              fresh->fields = std::move(fields);
              fresh->body = std::move(r.response.body);
              fresh->freshness = *f;
              fresh->vary = e->vary;
              const std::string* etag = fresh->field("etag");
              const std::string* lm = fresh->field("last-modified");
              fresh->etag = etag ? *etag : "";
              fresh->last_modified = lm ? *lm : "";
              store->insert(key, std::move(fresh));
            } else {
              store->purge(key);  // no longer cacheable: do not serve the old one
            }
          }
          store->release(key);
        },
        log::Escaped{"cache: background revalidation failed: internal error"});
  }

  std::shared_ptr<cache::Store> store_;
  cache::Policy policy_;
  std::chrono::milliseconds lock_timeout_;
};

Seconds seconds(std::chrono::milliseconds d) {
  return std::chrono::duration_cast<std::chrono::seconds>(d).count();
}

}  // namespace

Built cache(const std::string& name, const config::Middleware& m, const ChainContext& ctx) {
  const config::Cache& c = *m.cache;
  if (c.max_memory_bytes <= 0 || c.max_entry_bytes <= 0) {
    return Error{"cache: maxMemoryBytes and maxEntryBytes must be positive"};
  }
  if (c.default_ttl.count() < 0 || c.stale_while_revalidate.count() < 0 ||
      c.stale_if_error.count() < 0 || c.lock_timeout.count() < 0) {
    return Error{"cache: durations must not be negative"};
  }
  if (!c.disk_path.empty() && c.disk_path.front() != '/') {
    return Error{"cache.diskPath must be an absolute path"};
  }
  if (c.max_disk_bytes <= 0) return Error{"cache.maxDiskBytes must be positive"};
  auto make = [&] {
    auto s = std::make_shared<cache::Store>(static_cast<std::size_t>(c.max_memory_bytes),
                                            static_cast<std::size_t>(c.max_entry_bytes));
    if (!c.disk_path.empty()) {
      auto disk = cache::DiskTier::open(c.disk_path, static_cast<std::size_t>(c.max_disk_bytes));
      if (disk) {
        s->set_disk(std::move(*disk));
      } else {
        s->disk_error = disk.error().message;
      }
    }
    cache::Registry::instance().add(name, s);
    return s;
  };
  // One store per middleware, shared by every router that uses it (not one per router as the
  // rate limiters are): the memory limit is the middleware's.
  std::shared_ptr<cache::Store> store =
      ctx.states != nullptr ? ctx.states->get<cache::Store>("cache|" + name, m, make)
                            : std::make_shared<cache::Store>(1, 1);
  if (!store->disk_error.empty()) return Error{store->disk_error};
  cache::Policy policy{seconds(c.default_ttl), seconds(c.stale_while_revalidate),
                       seconds(c.stale_if_error), c.cache_authorized};
  return std::make_unique<CacheFilter>(name, std::move(store), policy, c.lock_timeout);
}

}  // namespace portier::proxy::mw
