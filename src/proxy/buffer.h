// A bounded byte buffer for one connection direction: bytes are appended at the end by reads
// and consumed from the front. Single-threaded (owned by one coroutine).
//
// A buffer made with Buffer(capacity) holds its whole capacity from the start and never
// reallocates. One made with Buffer(capacity, initial) starts with `initial` bytes of room,
// allocated at the first prepare(), and grows when a read needs more: by doubling when the
// buffer is full of unread bytes (grow(), for a head that does not fit yet), to `capacity` at
// once when the last read filled all the room it was given (a sender with more to come: a
// large body). A connection's memory then follows what it carries: a small exchange keeps a
// small block, as nginx's one-page proxy_buffer_size does, while a large body is still read
// `capacity` bytes at a time. Growing copies the unread bytes to the new block; the block
// before stays allocated, bytes unchanged, until the next growth, clear(), shrink() or the
// destructor. Heads are parsed only once whole and grow() is only called before that, so
// after a head's views are made at most one growth follows (to `capacity`): views into it,
// consumed or not, never point at freed memory. Blocks of 16-32 KiB (a connection's read buffer)
// come from slots of their own (common/big_blocks.h), not from among the heap's small objects.
#pragma once

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

#include "common/big_blocks.h"

namespace portier::proxy {

class Buffer {
 public:
  explicit Buffer(std::size_t capacity) : Buffer(capacity, capacity) {
    data_ = big_blocks::make_bytes(capacity);
    cap_ = capacity;
  }
  Buffer(std::size_t capacity, std::size_t initial)
      : max_(capacity), initial_(std::min(initial, capacity)) {}

  std::string_view readable() const { return {data_.get() + begin_, end_ - begin_}; }
  std::size_t size() const { return end_ - begin_; }
  bool empty() const { return begin_ == end_; }
  // The most the buffer may hold.
  std::size_t capacity() const { return max_; }
  // The room allocated now (capacity() for a buffer that does not grow; 0 before first use).
  std::size_t allocated() const { return cap_; }
  void consume(std::size_t n) {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }
  // Room to read into; moves unread bytes to the front first when the tail is full. A growing
  // buffer allocates its first block here, and a larger one after a read filled its room.
  boost::asio::mutable_buffer prepare() {
    if (cap_ < max_ && (data_ == nullptr || filled_)) [[unlikely]] {
      grow_to(cap_ == 0 ? initial_ : max_);
    }
    if (end_ == cap_ && begin_ > 0) compact();
    room_ = cap_ - end_;
    return {data_.get() + end_, room_};
  }
  void commit(std::size_t n) {
    end_ += n;
    filled_ = n != 0 && n == room_;
  }
  // No room left and none to be made by moving bytes: a growing buffer can still grow().
  bool full() const { return begin_ == 0 && end_ == cap_ && data_ != nullptr; }
  // Doubles the room of a full growing buffer, up to its capacity; false at the capacity.
  // Views into the unread bytes are invalid afterwards: call it where they are made again.
  bool grow() {
    if (cap_ >= max_) return false;
    grow_to(cap_ * 2);
    return true;
  }
  // Frees the block of an empty buffer, fixed or growing; the next prepare() allocates the
  // initial room again. For an idle connection's buffer, while no read into it is pending.
  void release() {
    if (!empty() || data_ == nullptr) return;
    clear();
    data_.reset();
    cap_ = 0;
  }
  // A growing buffer takes its whole capacity now (bytes to put back at once).
  void reserve_capacity() {
    if (cap_ < max_) grow_to(max_);
  }
  void compact() {
    if (begin_ == 0) return;
    std::memmove(data_.get(), data_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  void clear() {
    begin_ = end_ = 0;
    filled_ = false;
    old_.reset();
  }
  // An empty growing buffer gives back a block larger than its initial room (the next read
  // starts small again). For connections put aside between exchanges.
  void shrink() {
    if (!empty()) return;
    clear();
    if (cap_ > initial_ && initial_ < max_) {
      data_.reset();
      cap_ = 0;
    }
  }

 private:
  [[gnu::cold, gnu::noinline]] void grow_to(std::size_t want) {
    const std::size_t cap = std::clamp(want, std::size_t{1}, max_);
    big_blocks::Bytes block = big_blocks::make_bytes(cap);
    if (begin_ != end_) std::memcpy(block.get(), data_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
    old_ = std::move(data_);  // see the header comment
    data_ = std::move(block);
    cap_ = cap;
    filled_ = false;
  }

  big_blocks::Bytes data_;
  big_blocks::Bytes old_;
  std::size_t cap_ = 0;
  std::size_t max_;
  std::size_t initial_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::size_t room_ = 0;
  bool filled_ = false;
};

}  // namespace portier::proxy
