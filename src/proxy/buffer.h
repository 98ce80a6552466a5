// A fixed-capacity byte buffer for one connection direction: bytes are appended at the end by
// reads and consumed from the front. Never grows, so a connection's memory is bounded by its
// capacity. Single-threaded (owned by one coroutine).
#pragma once

#include <boost/asio/buffer.hpp>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace portier::proxy {

class Buffer {
 public:
  explicit Buffer(std::size_t capacity)
      : data_(std::make_unique_for_overwrite<char[]>(capacity)), cap_(capacity) {}

  std::string_view readable() const { return {data_.get() + begin_, end_ - begin_}; }
  std::size_t size() const { return end_ - begin_; }
  bool empty() const { return begin_ == end_; }
  std::size_t capacity() const { return cap_; }
  void consume(std::size_t n) {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }
  // Room to read into; moves unread bytes to the front first when the tail is full.
  boost::asio::mutable_buffer prepare() {
    if (end_ == cap_ && begin_ > 0) compact();
    return {data_.get() + end_, cap_ - end_};
  }
  void commit(std::size_t n) { end_ += n; }
  bool full() const { return begin_ == 0 && end_ == cap_; }
  void compact() {
    if (begin_ == 0) return;
    std::memmove(data_.get(), data_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  void clear() { begin_ = end_ = 0; }

 private:
  std::unique_ptr<char[]> data_;
  std::size_t cap_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

}  // namespace portier::proxy
