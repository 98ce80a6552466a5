// The helper thread of a JwksSource. The thread holds its own reference to the shared state and
// never to the JwksSource, so destroying the source is a flag and a notify, not a join: the
// last reference may be dropped on a worker, which must not wait for a transfer.
#include "proxy/middlewares/jwks_source.h"

#include "common/curl_lib.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "common/log.h"

namespace portier::proxy::jwt {

using Clock = std::chrono::steady_clock;

struct JwksSource::Shared {
  Options options;
  std::atomic<std::shared_ptr<const KeySet>> keys;
  std::atomic<std::uint64_t> generation{0};
  std::mutex mu;  // guards the fields below (never taken by keys() or generation())
  std::condition_variable cv;
  bool stop = false;
  bool asked = false;
  Clock::time_point last_start{};  // of the last fetch, for the rate limit on asks
};

namespace {

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* out = static_cast<std::string*>(user);
  if (out->size() + size * n > 1024 * 1024) return 0;  // a JWKS is a few KiB
  out->append(data, size * n);
  return size * n;
}

void fetch_once(JwksSource::Shared& s) {
  auto body = fetch_url(s.options.url, s.options.timeout);
  Result<KeySet> set = body ? Result<KeySet>(Error{}) : Result<KeySet>(body.error());
  std::vector<std::string> skipped;
  if (body) set = parse_jwks(*body, &skipped);
  if (set) {
    const auto n = set->keys.size();
    s.keys.store(std::make_shared<const KeySet>(std::move(*set)));
    log::debug("jwt: JWKS fetched", {{"middleware", s.options.log_name},
                                     {"url", s.options.url},
                                     {"keys", std::to_string(n)},
                                     {"skipped", std::to_string(skipped.size())}});
  } else {
    log::warn("jwt: JWKS fetch failed; the last good keys stay in use",
              {{"middleware", s.options.log_name},
               {"url", s.options.url},
               {"error", set.error().message}});
  }
}

void run(std::shared_ptr<JwksSource::Shared> s) {
  auto backoff = std::chrono::milliseconds(1000);
  std::unique_lock lock(s->mu);
  while (!s->stop) {
    s->asked = false;
    s->last_start = Clock::now();
    lock.unlock();
    fetch_once(*s);
    const bool good = s->keys.load() != nullptr;
    s->generation.fetch_add(1);
    lock.lock();
    // Until the first good fetch, retry soon (1s, 2s, 4s... at most `refresh`).
    auto wait = good ? s->options.refresh : std::min(backoff, s->options.refresh);
    if (!good) backoff *= 2;
    s->cv.wait_for(lock, wait, [&] { return s->stop || s->asked; });
  }
}

}  // namespace

Result<std::string> fetch_url(const std::string& url, std::chrono::milliseconds timeout) {
  static std::once_flag once;
  std::call_once(once, [] { curl::global_init(CURL_GLOBAL_DEFAULT); });
  CURL* h = curl::easy_init();
  if (h == nullptr) return Error{"cannot create a curl handle"};
  std::string body;
  curl::easy_setopt(h, CURLOPT_URL, url.c_str());
  curl::easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl::easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout.count()));
  curl::easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl::easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https,http");
  curl::easy_setopt(h, CURLOPT_USERAGENT, "portier-jwt");
  curl::easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl::easy_setopt(h, CURLOPT_WRITEDATA, &body);
  CURLcode rc = curl::easy_perform(h);
  long status = 0;
  curl::easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl::easy_cleanup(h);
  if (rc != CURLE_OK) return Error{curl::easy_strerror(rc)};
  if (status != 200) return Error{"status " + std::to_string(status)};
  return Result<std::string>(boost::system::in_place_value, std::move(body));
}

std::shared_ptr<JwksSource> JwksSource::start(Options o) {
  auto shared = std::make_shared<Shared>();
  shared->options = std::move(o);
  std::thread(run, shared).detach();
  return std::shared_ptr<JwksSource>(new JwksSource(std::move(shared)));
}

JwksSource::~JwksSource() {
  {
    std::lock_guard lock(shared_->mu);
    shared_->stop = true;
  }
  shared_->cv.notify_all();
}

std::shared_ptr<const KeySet> JwksSource::keys() const { return shared_->keys.load(); }

std::uint64_t JwksSource::generation() const { return shared_->generation.load(); }

bool JwksSource::request_refresh() {
  // try_lock: a worker never waits for the helper thread (it holds the lock only briefly, but a
  // worker that finds it busy just skips this ask; the next unknown kid will ask again).
  std::unique_lock lock(shared_->mu, std::try_to_lock);
  if (!lock.owns_lock()) return false;
  if (shared_->asked) return true;  // already asked: the caller may wait for it too
  if (Clock::now() - shared_->last_start < shared_->options.min_refresh) return false;
  shared_->asked = true;
  shared_->last_start = Clock::now();  // counts as a start for the rate limit
  lock.unlock();
  shared_->cv.notify_all();
  return true;
}

}  // namespace portier::proxy::jwt
