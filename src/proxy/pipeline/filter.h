// A router's middlewares as an ordered chain of filters, compiled once per routing table
// (pipeline/chain_builder.h) and shared read-only by every worker.
//
// Order is Traefik's: request hooks run first to last; response hooks run last to first (the
// first middleware wraps all the others, so its edits are applied last and win); a filter that
// answers locally stops the request there, and only the filters before it see that answer.
// State that must outlive a request (rate-limit buckets, in-flight counts, breaker windows) is
// held by the filter through a shared_ptr the chain builder hands over to the next table when
// the middleware's configuration did not change, so a reload does not reset limits.
//
// Threading: hooks are const and called on any worker concurrently; filters keep mutable state
// only in objects made for that (atomics, or a mutex held for a few instructions).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/pipeline/stream.h"

namespace portier::proxy {

enum class Verdict {
  Continue,  // go on to the next filter (and then the service)
  Respond,   // answer with stream.local; nothing is forwarded
};

// A response head as filters see it: the server's fields, or a local answer's.
struct ResponseView {
  int status = 0;
  const http::Fields* fields = nullptr;       // the server's, or null
  const std::vector<HeaderEdit>* local = nullptr;  // a local answer's fields, or null
  std::optional<std::string_view> header(std::string_view name) const;
};

class Filter {
 public:
  enum Hooks : unsigned {
    kRequest = 1,
    kAsyncRequest = 2,  // on_request_async instead of on_request
    kResponse = 4,
    kComplete = 8,
  };
  Filter(std::string name, unsigned hooks) : name_(std::move(name)), hooks_(hooks) {}
  virtual ~Filter() = default;
  Filter(const Filter&) = delete;
  Filter& operator=(const Filter&) = delete;

  // The middleware's qualified name ("auth@docker").
  const std::string& name() const { return name_; }
  unsigned hooks() const { return hooks_; }

  // The request head: edit the stream, or fill stream.local (Stream::respond) and say Respond.
  virtual Verdict on_request(Stream&) const { return Verdict::Continue; }
  // The same for filters that wait (an auth server, a token bucket, a password hash): suspends
  // the request's coroutine, never the worker.
  virtual boost::asio::awaitable<Verdict> on_request_async(Stream& s) const;
  // A response head before it is written: add response edits. Returning true asks to replace
  // the response (the errors middleware): its body is dropped and replace() makes the new one.
  virtual bool on_response(Stream&, const ResponseView&) const { return false; }
  // Fills stream.local with the replacement of a response with status `status`.
  virtual boost::asio::awaitable<void> replace(Stream& s, int status) const;
  // After the exchange, whatever its end, for each filter whose request hook ran.
  virtual void on_complete(Stream&) const {}

 private:
  std::string name_;
  unsigned hooks_;
};

struct Chain {
  std::vector<std::unique_ptr<const Filter>> filters;
  unsigned hooks = 0;  // the union of the filters' hooks
  bool empty() const { return filters.empty(); }
  std::size_t size() const { return filters.size(); }
};

// Runs the request hooks in order. Returns how many ran (the last one answered when the verdict
// is Respond; stream.record.answered_by names it).
struct RequestResult {
  Verdict verdict = Verdict::Continue;
  std::size_t ran = 0;
};
boost::asio::awaitable<RequestResult> run_request(const Chain& chain, Stream& s);
// Runs the response hooks of filters [0, upto) from last to first. Returns the index of a filter
// that asks to replace the response (the hooks after it in running order are not called), or -1.
int run_response(const Chain& chain, std::size_t upto, Stream& s, const ResponseView& view);
void run_complete(const Chain& chain, std::size_t upto, Stream& s);

}  // namespace portier::proxy
