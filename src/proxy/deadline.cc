#include "proxy/deadline.h"

namespace portier::proxy {

Deadline::Deadline(DeadlineWheel& wheel, Callback on_expire, void* ctx)
    : wheel_(wheel), on_expire_(on_expire), ctx_(ctx) {
  wheel_.link(this);
}

Deadline::~Deadline() { wheel_.unlink(this); }

void Deadline::arm(std::chrono::milliseconds d) {
  fired_ = false;
  expires_ = d.count() > 0 ? Clock::now() + d : Clock::time_point::max();
}

DeadlineWheel::DeadlineWheel(boost::asio::any_io_executor ex, std::chrono::milliseconds tick)
    : timer_(ex), tick_(tick) {}

void DeadlineWheel::stop() {
  stopped_ = true;
  timer_.cancel();
}

void DeadlineWheel::link(Deadline* d) {
  d->next_ = head_;
  if (head_ != nullptr) head_->prev_ = d;
  head_ = d;
  ++count_;
  if (!ticking_ && !stopped_) schedule();
}

void DeadlineWheel::unlink(Deadline* d) {
  if (d->prev_ != nullptr) d->prev_->next_ = d->next_;
  if (d->next_ != nullptr) d->next_->prev_ = d->prev_;
  if (head_ == d) head_ = d->next_;
  d->prev_ = d->next_ = nullptr;
  --count_;
}

void DeadlineWheel::schedule() {
  ticking_ = true;
  timer_.expires_after(tick_);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    ticking_ = false;
    if (ec || stopped_) return;
    on_tick();
  });
}

void DeadlineWheel::on_tick() {
  const auto now = Clock::now();
  for (Deadline* d = head_; d != nullptr; d = d->next_) {
    if (d->expires_ <= now) {
      d->expires_ = Clock::time_point::max();
      d->fired_ = true;
      d->on_expire_(d->ctx_);
    }
  }
  // Keep ticking only while someone could need it, so an idle worker sleeps.
  if (count_ > 0 && !stopped_) schedule();
}

}  // namespace portier::proxy
