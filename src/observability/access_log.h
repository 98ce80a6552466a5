// Traefik's access log (pkg/middlewares/accesslog), shaped for shared-nothing workers: each
// worker (a producer) owns a bounded single-producer/single-consumer ring of AccessRecords; one
// writer thread drains every ring, formats the lines (access_format.h) and writes them in
// batches to accessLog.filePath, or stdout when it is empty.
//
// Producer side (worker threads; no lock, no read-modify-write, no formatting, no allocation
// once the slots are warm):
//
//   if (log->keeps(status, retries, duration)) {
//     if (AccessRecord* r = log->begin(worker_id)) {   // nullptr: ring full, line dropped
//       r->request_method = ...;                       // fill; strings keep their capacity
//       if (log->wants_headers()) ...copy headers...
//       log->commit(worker_id);
//     }
//   }
//
// `producer` is the worker's index, 0 <= producer < producers(); each index must be used by one
// thread only, and begin()/commit() alternate on it. A full ring never blocks: the line is
// counted in dropped() and lost.
//
// Control side (one thread, e.g. main's): open(), reopen(), stop(), and the counters. stop()
// must come after the producers have stopped; a begin() after it returns nullptr.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/result.h"
#include "config/static_config.h"
#include "observability/access_format.h"
#include "observability/access_record.h"

namespace portier::observability {

class AccessLog {
 public:
  // Opens the output (filePath's directory is created; the file is appended to, created 0644)
  // and starts the writer thread unless `start_writer` is false (tests: start() later).
  static Result<std::unique_ptr<AccessLog>> open(const config::AccessLog& cfg, int producers,
                                                 bool start_writer = true);
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;
  ~AccessLog();  // stop()

  // --- Producer side: any worker thread; const and lock-free.
  // Traefik's filters (keepAccessLog): with none configured every line is kept; else a line is
  // kept when its status is in a statusCodes range, or retryAttempts is set and it was
  // retried, or minDuration is set and it took longer.
  bool keeps(int downstream_status, int retry_attempts, std::chrono::nanoseconds duration) const;
  // Whether any header can reach the log (some header mode is not drop): copy the request,
  // origin and downstream headers into the record only then.
  bool wants_headers() const { return wants_headers_; }
  // accessLog.addInternals: log requests answered by @internal services (api, ping, ...) too.
  bool add_internals() const { return cfg_.add_internals; }
  // The next free slot of `producer`'s ring, emptied (strings cleared, capacity kept; numbers
  // zero; header lists cleared), or nullptr when the ring is full or the log is stopped (the
  // line is counted as dropped).
  AccessRecord* begin(int producer);
  // Hands the slot returned by the last begin(producer) to the writer.
  void commit(int producer);

  // --- Any thread.
  int producers() const { return producers_; }
  std::size_t capacity() const { return mask_ + 1; }  // slots per producer
  // Lines lost: rings full (or stopped) plus lines whose write failed.
  std::uint64_t dropped() const;
  std::uint64_t written() const { return written_.load(std::memory_order_relaxed); }
  // Times a producer woke the writer early (its ring half full). Tests check it stays rare.
  std::uint64_t early_wakes() const { return wakes_.load(std::memory_order_relaxed); }

  // --- Control thread.
  void start();  // starts the writer thread (open() does unless told not to); idempotent
  // SIGUSR1: reopens filePath (after logrotate moved it); lines written after this returns go to
  // the new file. Blocks until the writer has done it (at most 5 s). False with `error` set when
  // the file cannot be opened (the old one is kept). No-op (true) when writing to stdout.
  bool reopen(std::string& error);
  // Writes every committed line, flushes, joins the writer. Idempotent.
  void stop();

 private:
  struct Ring;
  AccessLog(const config::AccessLog& cfg, int producers);
  bool open_output(std::string& error);  // into fd_
  void run();                            // the writer thread
  std::size_t drain(Ring& ring);
  void flush();
  void wake();
  bool any_pending() const;

  const config::AccessLog cfg_;
  const int producers_;
  bool wants_headers_ = false;
  std::size_t mask_ = 0;
  std::unique_ptr<Ring[]> rings_;
  std::atomic<bool> stopped_{false};      // begin() refuses from now on
  // A producer found its ring half full and woke the writer; cleared by the writer when it
  // wakes. Keeps a burst to one eventfd write.
  std::atomic<bool> wake_pending_{false};
  std::atomic<std::uint64_t> wakes_{0};
  int event_fd_ = -1;
  std::atomic<std::uint64_t> written_{0};
  std::atomic<std::uint64_t> lost_{0};  // failed writes (writer thread)

  // Writer thread only (or the control thread while no writer runs).
  int fd_ = -1;  // 1 for stdout
  AccessLogFormatter formatter_;
  std::string buf_;
  std::size_t buf_lines_ = 0;
  bool write_failing_ = false;

  std::thread writer_;
  std::atomic<bool> stopping_{false};
  std::mutex reopen_mu_;
  std::condition_variable reopen_cv_;
  std::atomic<std::uint64_t> reopen_asked_{0};
  std::uint64_t reopen_done_ = 0;  // guarded by reopen_mu_
  std::string reopen_error_;       // guarded by reopen_mu_
};

}  // namespace portier::observability
