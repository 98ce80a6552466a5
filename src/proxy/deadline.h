// Deadlines for connection I/O without a timer per operation.
//
// Each worker has one DeadlineWheel; connections embed Deadline nodes. Arming a deadline stores a
// time point (no syscall, no allocation, no timer-queue operation); the wheel wakes every tick
// (100 ms), walks the armed nodes and calls on_expire() for the ones past due. Accuracy is one
// tick, which is what timeouts of seconds need. Everything runs on the worker's thread; nothing
// here is thread-safe.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>

namespace portier::proxy {

using Clock = std::chrono::steady_clock;

class DeadlineWheel;

class Deadline {
 public:
  // `on_expire(ctx)` is called once when an armed deadline passes; it must not destroy the node
  // (typically it cancels or closes sockets, so pending operations complete with an error).
  using Callback = void (*)(void* ctx);
  Deadline(DeadlineWheel& wheel, Callback on_expire, void* ctx);
  ~Deadline();
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  // Arms for `d` from now; a zero or negative duration disarms (no timeout).
  void arm(std::chrono::milliseconds d);
  // Arms for a time point (time_point::max(): no timeout), as another deadline's expiry().
  void arm_until(Clock::time_point t) {
    fired_ = false;
    expires_ = t;
  }
  void disarm() { expires_ = Clock::time_point::max(); }
  Clock::time_point expiry() const { return expires_; }  // max() when disarmed
  bool expired() const { return fired_; }
  void reset_expired() { fired_ = false; }

 private:
  friend class DeadlineWheel;
  DeadlineWheel& wheel_;
  Callback on_expire_;
  void* ctx_;
  Clock::time_point expires_ = Clock::time_point::max();
  bool fired_ = false;
  Deadline* prev_ = nullptr;
  Deadline* next_ = nullptr;
};

class DeadlineWheel {
 public:
  explicit DeadlineWheel(boost::asio::any_io_executor ex,
                         std::chrono::milliseconds tick = std::chrono::milliseconds(100));
  // Stops ticking; armed deadlines no longer fire. Call before the io_context stops.
  void stop();

 private:
  friend class Deadline;
  void link(Deadline* d);
  void unlink(Deadline* d);
  void schedule();
  void on_tick();

  boost::asio::steady_timer timer_;
  std::chrono::milliseconds tick_;
  Deadline* head_ = nullptr;
  std::size_t count_ = 0;
  bool ticking_ = false;
  bool stopped_ = false;
};

}  // namespace portier::proxy
