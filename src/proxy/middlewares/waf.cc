// waf: ModSecurity v3 with the OWASP Core Rule Set, a portier middleware type (Traefik OSS has
// no WAF). The rule set is compiled once per configuration on the control plane (waf_rules.h);
// each request gets its own ModSecurity transaction on its worker: connection, URI and the
// request fields as the server will get them (phase 1), then the body up to requestBodyLimit
// (phase 2), and with inspectResponse the response head (phase 3). ModSecurity's phase 4
// (response body) needs a response body hook the pipeline lacks, and phase 5 (logging) is not
// run: portier logs the matched rules itself.
#include <cstdio>
#include <cstdlib>

#include "common/log.h"
#include "proxy/middlewares/filters.h"
#include "proxy/middlewares/waf_module.h"
#include "proxy/middlewares/waf_rules.h"

namespace portier::proxy::mw {

// One request's transaction and what its rules reported through the log callback.
struct WafTx {
  explicit WafTx(const WafRules& rules) : ms(rules.module()) {
    // Our own id: ModSecurity's default one costs a clock read and a random number per request.
    thread_local std::uint64_t counter = 0;
    char id[40];
    std::snprintf(id, sizeof id, "%p-%llu", static_cast<void*>(&counter),
                  static_cast<unsigned long long>(++counter));
    t = ms.new_transaction(rules.engine(), rules.rules(), id, this);
  }
  ~WafTx() { ms.transaction_cleanup(t); }
  WafTx(const WafTx&) = delete;
  WafTx& operator=(const WafTx&) = delete;

  const WafModule& ms;  // ModSecurity's functions
  modsecurity::Transaction* t = nullptr;
  std::string ids;           // "942100,949110", in the order the rules matched
  std::string messages;      // "942100 SQL Injection Attack Detected via libinjection; ..."
  std::size_t reported = 0;  // bytes of `ids` already in the request record
  int status = 0;            // a response-phase intervention's status
};

namespace {

// Adds one matched rule to the transaction's ids and messages (bounded: a log line stays a line).
void note_rule(WafTx& tx, std::string_view id, std::string_view message) {
  constexpr std::size_t kMaxIds = 512, kMaxMessages = 2048;
  if (id.empty()) return;
  if (tx.ids.size() + id.size() < kMaxIds) {
    if (!tx.ids.empty()) tx.ids += ',';
    tx.ids += id;
  }
  if (tx.messages.size() < kMaxMessages) {
    if (!tx.messages.empty()) tx.messages += "; ";
    tx.messages.append(id).append(" ").append(message);
  }
}

// The value of `[key "value"]` in ModSecurity's text log line, or "".
std::string_view log_item(std::string_view log, std::string_view key) {
  const std::string open = "[" + std::string(key) + " \"";
  const auto at = log.find(open);
  if (at == std::string_view::npos) return {};
  const auto from = at + open.size();
  const auto to = log.find("\"]", from);
  return to == std::string_view::npos ? std::string_view() : log.substr(from, to - from);
}

}  // namespace

// Non-disruptive matches come here; the disruptive one (the rule that blocks) only in the
// intervention's log line (intervention() below).
void waf_on_rule(void* data, long id, std::string_view message) {
  if (data == nullptr) return;
  note_rule(*static_cast<WafTx*>(data), std::to_string(id), message);
}

namespace {

// The detect mode's ceiling for a body of unknown length (it must be held to be forwarded).
constexpr std::uint64_t kMaxHeld = 64ull << 20;

struct Decision {
  bool disrupt = false;
  int status = 403;
  std::string url;
};

Decision intervention(WafTx& tx) {
  modsecurity::ModSecurityIntervention it{};
  it.status = 200;
  Decision d;
  if (tx.ms.intervention(tx.t, &it) != 0 && it.disruptive != 0) {
    d.disrupt = true;
    if (it.url != nullptr) d.url = it.url;
    d.status = it.status;
    if (d.status < 300 || (d.status < 400 && d.url.empty()) || d.status > 599) d.status = 403;
    if (it.log != nullptr) note_rule(tx, log_item(it.log, "id"), log_item(it.log, "msg"));
  }
  std::free(it.url);
  std::free(it.log);
  return d;
}

void add_header(WafTx& tx, std::string_view name, std::string_view value, bool response) {
  const auto* n = reinterpret_cast<const unsigned char*>(name.data());
  const auto* v = reinterpret_cast<const unsigned char*>(value.data());
  if (response) {
    tx.ms.add_n_response_header(tx.t, n, name.size(), v, value.size());
  } else {
    tx.ms.add_n_request_header(tx.t, n, name.size(), v, value.size());
  }
}

// The request fields as the server will get them: the client's, less those an earlier
// middleware replaced or removed, plus the edits.
void add_request_fields(WafTx& tx, const Stream& s) {
  if (s.fields != nullptr) {
    for (const auto& f : *s.fields) {
      if (!replaces(s.request_edits, f.name)) add_header(tx, f.name, f.value, false);
    }
  }
  for (const auto& e : s.request_edits) {
    if (!e.value.empty()) add_header(tx, e.name, e.value, false);
  }
}

class WafFilter final : public Filter {
 public:
  WafFilter(std::string name, config::Waf cfg, std::shared_ptr<const WafRules> rules)
      : Filter(std::move(name),
               kAsyncRequest | (cfg.inspect_response ? unsigned{kResponse | kComplete} : 0u)),
        cfg_(std::move(cfg)),
        rules_(std::move(rules)),
        block_(cfg_.mode != "detect"),
        limit_(static_cast<std::uint64_t>(cfg_.request_body_limit)) {}

  boost::asio::awaitable<Verdict> on_request_async(Stream& s) const override {
    auto tx = std::make_unique<WafTx>(*rules_);
    const std::string peer(s.peer_ip);
    tx->ms.process_connection(tx->t, peer.c_str(), 0, "0.0.0.0", 0);
    const std::string uri = forward_target(s);
    const std::string method(s.method);
    tx->ms.process_uri(tx->t, uri.c_str(), method.c_str(), s.version_minor == 0 ? "1.0" : "1.1");
    add_request_fields(*tx, s);
    tx->ms.process_request_headers(tx->t);
    if (auto d = intervention(*tx); d.disrupt && block_) co_return answer(s, *tx, d);

    // The body is read before it is inspected, so only after the fields are (the fields' views
    // point into the buffer the body reuses).
    if (s.has_body && limit_ > 0) {
      if (!s.body && s.body_reader != nullptr) {
        if (auto v = co_await read_body(s); v) co_return *v;
      }
      if (s.body) {
        if (block_ && s.body->size() > limit_) co_return too_large(s);
        const std::size_t n = std::min<std::size_t>(s.body->size(), limit_);
        tx->ms.append_request_body(tx->t, reinterpret_cast<const unsigned char*>(s.body->data()),
                                   n);
      }
    }
    tx->ms.process_request_body(tx->t);
    if (auto d = intervention(*tx); d.disrupt && block_) co_return answer(s, *tx, d);
    report(s, *tx, nullptr);
    if (cfg_.inspect_response) park(s, std::move(tx));
    co_return Verdict::Continue;
  }

  bool on_response(Stream& s, const ResponseView& r) const override {
    WafTx* tx = parked(s);
    if (tx == nullptr) return false;
    if (r.fields != nullptr) {
      for (const auto& f : *r.fields) add_header(*tx, f.name, f.value, true);
    } else if (r.local != nullptr) {
      for (const auto& e : *r.local) add_header(*tx, e.name, e.value, true);
    }
    tx->ms.process_response_headers(tx->t, r.status, "HTTP 1.1");
    Decision d = intervention(*tx);
    report(s, *tx, d.disrupt && block_ ? &d : nullptr);
    if (!d.disrupt || !block_) return false;
    tx->status = d.status;
    return true;
  }

  boost::asio::awaitable<void> replace(Stream& s, int) const override {
    WafTx* tx = parked(s);
    s.respond(tx != nullptr && tx->status >= 400 ? tx->status : 403);
    co_return;
  }

  void on_complete(Stream& s) const override {
    auto& v = parked_list();
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (it->stream == &s && it->filter == this) {
        v.erase(it);
        return;
      }
    }
  }

 private:
  // A transaction kept from the request hook to the response hook (inspectResponse): on the
  // worker that runs the request, so a thread-local list needs no lock.
  struct Parked {
    const Stream* stream;
    const Filter* filter;
    std::unique_ptr<WafTx> tx;
  };
  static std::vector<Parked>& parked_list() {
    thread_local std::vector<Parked> v;
    return v;
  }
  void park(const Stream& s, std::unique_ptr<WafTx> tx) const {
    on_complete(const_cast<Stream&>(s));  // a stale one (a request that never completed)
    auto& v = parked_list();
    // A bound in case a session ends without its completion hook: the oldest goes first.
    constexpr std::size_t kMaxParked = 4096;
    if (v.size() >= kMaxParked) v.erase(v.begin());
    v.push_back({&s, this, std::move(tx)});
  }
  WafTx* parked(const Stream& s) const {
    for (auto& p : parked_list()) {
      if (p.stream == &s && p.filter == this) return p.tx.get();
    }
    return nullptr;
  }

  // Reads the body for inspection; a verdict when the request ends here.
  boost::asio::awaitable<std::optional<Verdict>> read_body(Stream& s) const {
    if (s.body_length && *s.body_length > limit_) {
      if (block_) co_return too_large(s);
      co_return std::nullopt;  // detect: streamed to the server uninspected
    }
    std::string body;
    switch (co_await s.body_reader->read_all(body, block_ ? limit_ : kMaxHeld)) {
      case BodyRead::Ok:
        s.body = std::move(body);
        co_return std::nullopt;
      case BodyRead::TooLarge:
        co_return too_large(s);
      case BodyRead::Failed:
        s.respond(400);
        s.local.close = true;
        co_return Verdict::Respond;
    }
    co_return std::nullopt;
  }

  Verdict too_large(Stream& s) const {
    log::warn("waf: request body over requestBodyLimit",
              {{"middleware", name()}, {"client", s.peer_ip}});
    s.respond(413);
    s.local.close = true;  // the rest of the body is not read
    return Verdict::Respond;
  }

  Verdict answer(Stream& s, WafTx& tx, const Decision& d) const {
    report(s, tx, &d);
    s.respond(d.status);
    if (!d.url.empty()) set_edit(s.local.fields, "Location", d.url);
    return Verdict::Respond;
  }

  // The matched rules into the access log record and the log: a warning when the request is
  // blocked or the mode is detect; debug when block mode lets a request under the threshold by
  // (a numeric Host alone scores 3: info would be a line per such request).
  void report(Stream& s, WafTx& tx, const Decision* blocked) const {
    if (tx.ids.size() == tx.reported) return;
    auto& ids = s.record.waf_rule_ids;
    if (!ids.empty()) ids += ',';
    ids.append(tx.ids, tx.reported == 0 ? 0 : tx.reported + 1);
    tx.reported = tx.ids.size();
    const std::string status = blocked ? std::to_string(blocked->status) : "";
    const std::string_view action = blocked ? "blocked" : block_ ? "passed" : "detected";
    const log::Fields fields = {{"middleware", name()}, {"action", action},
                                {"client", s.peer_ip},  {"status", status},
                                {"rules", tx.ids},      {"messages", tx.messages}};
    if (blocked || !block_) {
      log::warn("waf: request matched rules", fields);
    } else {
      log::debug("waf: request matched rules", fields);
    }
  }

  config::Waf cfg_;
  std::shared_ptr<const WafRules> rules_;
  bool block_;
  std::uint64_t limit_;
};

}  // namespace

Built waf(const std::string& name, const config::Middleware& m, const ChainContext&) {
  auto rules = waf_rules(*m.waf);
  if (!rules) return rules.error();
  return std::make_unique<WafFilter>(name, *m.waf, std::move(*rules));
}

}  // namespace portier::proxy::mw
