#include "observability/access_log.h"

#include <fcntl.h>
#include <poll.h>

#include <algorithm>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/log.h"

namespace portier::observability {
namespace {

constexpr std::size_t kDefaultSlots = 1024;
constexpr std::size_t kMinSlots = 16;
constexpr std::size_t kFlushBytes = 64 * 1024;
// The writer drains the rings every kBatchMs: lines are written in batches, and a request costs
// its worker no system call. A producer wakes the writer early (one eventfd write) only when its
// ring is half full, so a burst is drained before it overflows. Measured on the keep-alive
// benchmark, waking the writer for every line (a write(2) on the worker, a context switch and a
// write(2) per line) cost about 40 % more CPU per request than batching.
constexpr int kBatchMs = 50;

std::size_t slots_for(long long buffering_size) {
  std::size_t want = buffering_size <= 0 ? kDefaultSlots : static_cast<std::size_t>(buffering_size);
  std::size_t n = kMinSlots;
  while (n < want) n <<= 1;
  return n;
}

void reset(AccessRecord& r) {
  r.start = {};
  r.duration = r.origin_duration = std::chrono::nanoseconds{0};
  for (std::string* s :
       {&r.client_addr, &r.client_host, &r.client_port, &r.client_username, &r.request_addr,
        &r.request_host, &r.request_port, &r.request_method, &r.request_path, &r.request_protocol,
        &r.request_scheme, &r.entrypoint, &r.router_name, &r.service_name, &r.service_url,
        &r.service_addr, &r.tls_version, &r.tls_cipher, &r.tls_client_subject, &r.waf_rule_ids}) {
    s->clear();
  }
  r.request_content_size = r.origin_content_size = r.downstream_content_size = 0;
  r.origin_status = r.downstream_status = r.retry_attempts = 0;
  r.request_count = 0;
  r.request_headers.clear();
  r.origin_headers.clear();
  r.downstream_headers.clear();
}

}  // namespace

// One producer's ring. head is written by the producer only, tail by the writer only; each on
// its own cache line so the two sides do not share one.
struct AccessLog::Ring {
  std::unique_ptr<AccessRecord[]> slots;
  alignas(64) std::atomic<std::uint64_t> head{0};
  std::uint64_t cached_tail = 0;          // producer's last look at tail
  std::atomic<std::uint64_t> dropped{0};  // producer: load + store, never an RMW
  alignas(64) std::atomic<std::uint64_t> tail{0};
};

Result<std::unique_ptr<AccessLog>> AccessLog::open(const config::AccessLog& cfg, int producers,
                                                   bool start_writer) {
  if (producers < 1) return Error{"access log: at least one producer is needed"};
  std::unique_ptr<AccessLog> log(new AccessLog(cfg, producers));
  std::string error;
  if (log->event_fd_ < 0) return Error{std::string("access log: eventfd: ") + std::strerror(errno)};
  if (!log->open_output(error)) return Error{"accessLog.filePath: " + error};
  if (start_writer) log->start();
  return log;
}

AccessLog::AccessLog(const config::AccessLog& cfg, int producers)
    : cfg_(cfg), producers_(producers), formatter_(cfg) {
  wants_headers_ = cfg.fields.headers_default_mode != config::AccessLogMode::Drop;
  for (const auto& [name, mode] : cfg.fields.header_names) {
    wants_headers_ = wants_headers_ || mode != config::AccessLogMode::Drop;
  }
  const std::size_t slots = slots_for(cfg.buffering_size);
  mask_ = slots - 1;
  rings_ = std::make_unique<Ring[]>(static_cast<std::size_t>(producers));
  for (int p = 0; p < producers; ++p) rings_[p].slots = std::make_unique<AccessRecord[]>(slots);
  event_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  buf_.reserve(kFlushBytes * 2);
}

AccessLog::~AccessLog() {
  stop();
  if (fd_ > 2) ::close(fd_);
  if (event_fd_ >= 0) ::close(event_fd_);
}

bool AccessLog::open_output(std::string& error) {
  if (cfg_.file_path.empty()) {
    fd_ = STDOUT_FILENO;
    return true;
  }
  const std::filesystem::path dir = std::filesystem::path(cfg_.file_path).parent_path();
  std::error_code ec;
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  if (ec) {
    error = "cannot create " + dir.string() + ": " + ec.message();
    return false;
  }
  const int fd = ::open(cfg_.file_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = "cannot open " + cfg_.file_path + ": " + std::strerror(errno);
    return false;
  }
  if (fd_ > 2) ::close(fd_);
  fd_ = fd;
  return true;
}

bool AccessLog::keeps(int downstream_status, int retry_attempts,
                      std::chrono::nanoseconds duration) const {
  const auto& f = cfg_.filters;
  if (f.status_codes.empty() && !f.retry_attempts && f.min_duration.count() == 0) return true;
  for (const auto& r : f.status_codes) {
    if (downstream_status >= r.low && downstream_status <= r.high) return true;
  }
  if (f.retry_attempts && retry_attempts > 0) return true;
  return f.min_duration.count() > 0 && duration > f.min_duration;
}

AccessRecord* AccessLog::begin(int producer) {
  Ring& r = rings_[producer];
  const std::uint64_t h = r.head.load(std::memory_order_relaxed);
  bool full = h - r.cached_tail > mask_;
  if (full) {
    r.cached_tail = r.tail.load(std::memory_order_acquire);
    full = h - r.cached_tail > mask_;
  }
  if (full || stopped_.load(std::memory_order_relaxed)) {
    r.dropped.store(r.dropped.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return nullptr;
  }
  AccessRecord& slot = r.slots[h & mask_];
  reset(slot);
  return &slot;
}

void AccessLog::commit(int producer) {
  Ring& r = rings_[producer];
  const std::uint64_t h = r.head.load(std::memory_order_relaxed) + 1;
  r.head.store(h, std::memory_order_release);
  // Half full (as of the last tail this producer saw): wake the writer now rather than at its
  // next batch. The exchange (an RMW) happens only then.
  const std::uint64_t half = (mask_ + 1) / 2;
  if (h - r.cached_tail > half) {
    r.cached_tail = r.tail.load(std::memory_order_acquire);  // the writer may have caught up
    if (h - r.cached_tail > half && !wake_pending_.load(std::memory_order_relaxed) &&
        !wake_pending_.exchange(true)) {
      wakes_.fetch_add(1, std::memory_order_relaxed);
      wake();
    }
  }
}

std::uint64_t AccessLog::dropped() const {
  std::uint64_t n = lost_.load(std::memory_order_relaxed);
  for (int p = 0; p < producers_; ++p) n += rings_[p].dropped.load(std::memory_order_relaxed);
  return n;
}

void AccessLog::wake() {
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(event_fd_, &one, sizeof one);
}

void AccessLog::start() {
  if (writer_.joinable() || stopping_.load()) return;
  writer_ = std::thread([this] { run(); });
}

bool AccessLog::reopen(std::string& error) {
  if (cfg_.file_path.empty()) return true;
  if (!writer_.joinable()) return open_output(error);  // no writer: this thread owns fd_
  std::unique_lock lock(reopen_mu_);
  const std::uint64_t ticket = reopen_asked_.load() + 1;
  reopen_asked_.store(ticket);
  wake();
  if (!reopen_cv_.wait_for(lock, std::chrono::seconds(5), [&] { return reopen_done_ >= ticket; })) {
    error = "the access log writer did not answer within 5s";
    return false;
  }
  error = reopen_error_;
  return error.empty();
}

void AccessLog::stop() {
  stopped_.store(true);
  if (writer_.joinable()) {
    stopping_.store(true);
    wake();
    writer_.join();
    return;
  }
  if (stopping_.exchange(true)) return;
  // Never started: this thread owns the output; write what was committed.
  for (int p = 0; p < producers_; ++p) drain(rings_[p]);
  flush();
}

bool AccessLog::any_pending() const {
  for (int p = 0; p < producers_; ++p) {
    if (rings_[p].head.load(std::memory_order_relaxed) !=
        rings_[p].tail.load(std::memory_order_relaxed)) {
      return true;
    }
  }
  return false;
}

std::size_t AccessLog::drain(Ring& ring) {
  std::uint64_t t = ring.tail.load(std::memory_order_relaxed);
  const std::uint64_t h = ring.head.load(std::memory_order_acquire);
  const auto now = std::chrono::system_clock::now();
  std::size_t n = 0;
  while (t != h) {
    formatter_.append(ring.slots[t & mask_], now, buf_);
    ++t;
    ++n;
    ++buf_lines_;
    // Hand slots back as we go, so a producer waits for a ring's worth, not a batch's.
    if ((n & 63) == 0) ring.tail.store(t, std::memory_order_release);
    if (buf_.size() >= kFlushBytes) flush();
  }
  ring.tail.store(t, std::memory_order_release);
  return n;
}

void AccessLog::flush() {
  std::size_t off = 0;
  while (off < buf_.size()) {
    const ssize_t n = ::write(fd_, buf_.data() + off, buf_.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (!write_failing_) {
        log::error("cannot write the access log",
                   {{"file", cfg_.file_path.empty() ? "stdout" : cfg_.file_path},
                    {"error", n < 0 ? std::strerror(errno) : "short write"}});
      }
      write_failing_ = true;
      lost_.store(lost_.load(std::memory_order_relaxed) + buf_lines_, std::memory_order_relaxed);
      buf_.clear();
      buf_lines_ = 0;
      return;
    }
    off += static_cast<std::size_t>(n);
  }
  write_failing_ = false;
  written_.store(written_.load(std::memory_order_relaxed) + buf_lines_, std::memory_order_relaxed);
  buf_.clear();
  buf_lines_ = 0;
}

void AccessLog::run() {
  std::uint64_t reopened = 0;
  for (;;) {
    if (const std::uint64_t asked = reopen_asked_.load(); asked != reopened) {
      flush();  // lines drained so far belong to the old file
      std::string error;
      open_output(error);
      reopened = asked;
      {
        std::lock_guard lock(reopen_mu_);
        reopen_done_ = asked;
        reopen_error_ = error;
      }
      reopen_cv_.notify_all();
    }
    std::size_t most = 0;  // the most lines one ring had
    for (int p = 0; p < producers_; ++p) most = std::max(most, drain(rings_[p]));
    flush();
    if (stopping_.load()) {
      if (!any_pending()) return;
      continue;
    }
    // A ring was filling fast: drain again at once rather than after a batch interval.
    if (reopen_asked_.load() != reopened || most > (mask_ + 1) / 4) continue;
    pollfd pfd{event_fd_, POLLIN, 0};
    ::poll(&pfd, 1, kBatchMs);
    std::uint64_t value;
    [[maybe_unused]] auto r = ::read(event_fd_, &value, sizeof value);
    wake_pending_.store(false, std::memory_order_relaxed);
  }
}

}  // namespace portier::observability
