// One request as routing and middlewares see it, whatever the protocol it came in on: the
// request head (views the codec keeps valid for the whole exchange), what middlewares changed
// (path, request and response fields, the retry policy), a local answer when one of them
// answers, and the per-request record that access logs and metrics read.
//
// The codec (today HTTP/1.1 in entrypoints/session.cc) fills the request part, runs the route's
// filter chain over it (pipeline/filter.h), and either writes `local` or forwards. Middlewares
// never touch bytes on the wire: they read fields through header() and write edits.
//
// Threading: owned by one connection's coroutine on one worker; reused for that connection's
// requests (reset() keeps the vectors' capacity), so a request allocates nothing here once warm.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proxy/http/parser.h"

typedef struct ssl_st SSL;

namespace portier::config {
struct EntryPoint;
}

namespace portier::proxy {

class WorkerState;
struct Route;
struct ServiceTarget;
struct ServerTarget;

// A field a middleware sets (`value`), removes (empty `value`) or adds beside the others
// (`append`). For one name, the last non-append edit wins.
struct HeaderEdit {
  std::string name;
  std::string value;
  bool append = false;
};

// Sets (replacing an earlier edit of the same name) or appends an edit.
void set_edit(std::vector<HeaderEdit>& edits, std::string_view name, std::string_view value);
void add_edit(std::vector<HeaderEdit>& edits, std::string_view name, std::string_view value);
// The edit that decides this field (the last non-append one), or nullptr.
const HeaderEdit* find_edit(const std::vector<HeaderEdit>& edits, std::string_view name);
// Is this field replaced or removed by an edit (appends leave the original in place)?
bool replaces(const std::vector<HeaderEdit>& edits, std::string_view name);

// retry: up to `attempts` tries in all; before try k (k >= 2) the forwarder waits
// initial_interval * 1.5^(k-2), at most twice initial_interval. `statuses`: responses with these
// codes are retried too (their body is dropped), when the request has no body or a buffered one.
struct RetryPolicy {
  int attempts = 1;
  std::chrono::milliseconds initial_interval{100};
  std::chrono::milliseconds timeout{0};  // 0: none; else the whole retry loop's budget
  std::vector<std::pair<int, int>> statuses;  // inclusive ranges
  bool network_errors = true;                 // !disableRetryOnNetworkError
  bool any_method = false;  // retryNonIdempotentMethod: status retries for POST, PATCH, LOCK
  bool retries_status(int s) const {
    for (auto [lo, hi] : statuses) {
      if (s >= lo && s <= hi) return true;
    }
    return false;
  }
};

// An answer portier writes itself (a redirect, a 401, a 429, an error page).
struct LocalResponse {
  int status = 0;
  std::vector<HeaderEdit> fields;  // besides Content-Type and Content-Length
  // Unset: text/plain; charset=utf-8. Set and empty: no Content-Type. (Not a string with that
  // default: it is reset for every request and would allocate each time.)
  std::optional<std::string> content_type;
  std::string body;  // empty: the reason phrase and a newline, as Go's http.Error
  bool body_set = false;  // the body is exactly `body`, even empty
  bool close = false;     // the connection closes after it
  // A body shared with its owner instead of copied (a cache hit): when `body_owner` is set, the
  // body is `shared_body`, which the owner keeps alive.
  std::shared_ptr<const void> body_owner;
  std::string_view shared_body;
  std::string_view body_view() const {
    return body_owner ? shared_body : std::string_view(body);
  }
};

// What happened to one request, for access logs and metrics (issue 14 reads it).
struct RequestRecord {
  std::chrono::steady_clock::time_point start;  // the request head was read
  const Route* route = nullptr;
  const ServiceTarget* service = nullptr;  // the load balancer that answered
  const ServerTarget* server = nullptr;    // the last server tried
  int status = 0;           // the status the client got (0: none: the connection failed)
  int upstream_status = 0;  // the server's, before middlewares rewrote it
  std::uint64_t request_body_bytes = 0;   // body bytes read from the client (decoded)
  std::uint64_t response_body_bytes = 0;  // body bytes sent to the client (decoded)
  std::uint64_t upstream_body_bytes = 0;  // body bytes the server sent
  // The last try of a server: from the request's first byte written to its response's last
  // byte relayed (both unset when no server was asked, or when Stream::time_upstream is off).
  std::chrono::steady_clock::time_point upstream_start, upstream_end;
  int attempts = 0;                // tries of a server
  std::string_view answered_by;    // the middleware that answered locally, or ""
  std::string waf_rule_ids;  // rules the waf middleware matched ("942100,949110"), or ""
};

// The codec's way to read the whole request body for a middleware that needs it (buffering,
// forwardAuth's forwardBody, retrying a request with a body).
enum class BodyRead { Ok, TooLarge, Failed };
class BodyReader {
 public:
  virtual ~BodyReader() = default;
  // Reads the rest of the body (decoded) into `out`; TooLarge once more than `limit` bytes came
  // (the connection is then unusable: the codec closes it after answering).
  virtual boost::asio::awaitable<BodyRead> read_all(std::string& out, std::uint64_t limit) = 0;
};

// Copies of response fields for the access log's origin_/downstream_ headers (only when its
// header mode keeps any); their strings keep their capacity across requests.
struct HeaderCopy {
  std::vector<std::pair<std::string, std::string>> items;
  std::size_t count = 0;  // entries of `items` in use
  void add(std::string_view name, std::string_view value) {
    if (count == items.size()) items.emplace_back();
    items[count].first.assign(name);
    items[count].second.assign(value);
    ++count;
  }
};
struct ResponseCopies {
  HeaderCopy origin;      // the server's response fields, as received
  HeaderCopy downstream;  // the fields the client got (hop-by-hop left out, edits applied)
};

// A rewrite of the response body that a filter installs from its response hook (compress; the
// cache's copy of what it stores). The codec feeds it the decoded body in pieces and sends what it
// appends; the response then has no Content-Length (chunked to HTTP/1.1 clients). Transforms
// installed by inner filters run first, as their response hooks do.
class BodyTransform {
 public:
  enum class Mode {
    Write,   // more is coming
    Flush,   // the server paused: everything fed so far must come out (server-sent events)
    Finish,  // the body ended
  };
  virtual ~BodyTransform() = default;
  // Appends to `out` what `in` becomes. false: the transform failed; the response is cut short.
  virtual bool write(std::string_view in, Mode mode, std::string& out) = 0;
  // The output is the input, byte for byte (a copy kept aside): the response keeps its framing
  // and Content-Length.
  virtual bool keeps_length() const { return false; }
  // The transform carries the response's trailer fields itself (grpcWeb puts them in the body):
  // the codec hands it the trailer section's field lines ("name: value\r\n") just before Finish
  // and sends no trailer section of its own.
  virtual bool takes_trailers() const { return false; }
  virtual void set_trailers(std::string_view /*field_lines*/) {}
};

// Runs `in` through every transform in order (each one's output is the next one's input) and
// appends the last one's output to `out`. `tmp` holds the intermediate outputs.
bool run_transforms(const std::vector<std::unique_ptr<BodyTransform>>& ts, std::string_view in,
                    BodyTransform::Mode mode, std::string& out, std::string (&tmp)[2]);

struct Stream {
  // --- the request, set by the codec (views valid until the exchange ends) ---
  WorkerState* worker = nullptr;
  const config::EntryPoint* entrypoint = nullptr;
  std::string_view entrypoint_name;
  std::string_view method;
  std::string_view scheme;  // as the client used it: https on TLS, or a trusted X-Forwarded-Proto
  std::string_view host;    // the authority as sent (may carry a port)
  std::string_view path;    // after normalization, escapes as sent
  std::string_view query;   // without '?'
  const http::Fields* fields = nullptr;
  std::string_view peer_ip;
  boost::asio::ip::address peer;
  bool trusted_peer = false;  // forwardedHeaders.trustedIPs
  bool tls = false;
  SSL* ssl = nullptr;          // the client's TLS session, when tls
  bool has_body = false;       // the request has a body (any framing)
  std::optional<std::uint64_t> body_length;  // its Content-Length, when it has one
  int version_minor = 1;
  BodyReader* body_reader = nullptr;

  // --- what middlewares decide ---
  std::optional<std::string> new_path;  // the path to forward, when a middleware changed it
  std::vector<HeaderEdit> request_edits;
  std::vector<HeaderEdit> response_edits;
  const RetryPolicy* retry = nullptr;  // the retry middleware's, owned by the chain
  std::optional<std::string> body;  // the whole request body, when a middleware read it
  // Values a filter keeps from its request hook to its completion hook (inFlightReq's key): the
  // request's own fields may be gone by then (their bytes are reused for the body).
  std::vector<std::pair<const void*, std::string>> notes;
  LocalResponse local;
  int replace_by = -1;  // the filter that replaces the response (errors), or -1
  // The request head copied for a filter that reads it after a streamed body went through: the
  // views above point into the connection's buffer, which the body then reuses. The errors
  // middleware fills it (only for requests whose body is streamed) for its page request.
  struct HeadCopy {
    std::string host;
    std::string path;
    std::string query;
    std::vector<std::pair<std::string, std::string>> fields;  // as the page request sends them
  };
  std::optional<HeadCopy> head_copy;
  RequestRecord record;
  std::string user;  // the user basicAuth or digestAuth let in (the access log's ClientUsername)
  ResponseCopies* response_copies = nullptr;  // set by the codec when the access log wants them
  bool time_upstream = false;  // fill record.upstream_start/end (the access log's OriginDuration)
  // A filter's own per-request state, kept from its request hook to its response and
  // completion hooks (made only on the paths that need it: a cache miss, say).
  std::vector<std::pair<const void*, std::shared_ptr<void>>> states;
  template <typename T>
  T* state(const void* owner) const {
    for (const auto& [o, p] : states) {
      if (o == owner) return static_cast<T*>(p.get());
    }
    return nullptr;
  }
  // Response body rewrites installed by response hooks, in the order they run (see BodyTransform).
  std::vector<std::unique_ptr<BodyTransform>> transforms;

  // The path the server gets (after rewrites).
  std::string_view forward_path() const { return new_path ? std::string_view(*new_path) : path; }
  // A request field as the server will get it: an edit made by an earlier middleware, else the
  // client's first field of that name. nullopt when absent or removed.
  std::optional<std::string_view> header(std::string_view name) const;
  // Answers locally: fills `local` (fields and body may be added after).
  void respond(int status) {
    local = LocalResponse{};
    local.status = status;
  }
  std::string* note(const void* owner) {
    for (auto& [o, v] : notes) {
      if (o == owner) return &v;
    }
    return nullptr;
  }
  void reset();
};

}  // namespace portier::proxy
