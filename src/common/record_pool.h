// Small records that outlive the requests around them, packed together: a worker's connection
// records and the readiness waits of its parked connections.
//
// An idle keep-alive connection holds a few small blocks: its record, made at the accept, and
// the wait that parks it, made when it goes idle. From glibc's heap, the record lies among the
// blocks of the requests it served and the wait lands in a hole the connection's own buffers
// just left; once those are freed, each page keeps one or two such blocks and stays resident
// (malloc_trim returns only pages entirely free). Measured: 0.8 KB in use, 5.9 KB resident per
// parked plain connection. Here records of one size class share slabs of 32 KiB (big_blocks
// slots, aligned to their size: a record finds its slab by rounding its address down), so idle
// connections' records sit side by side and nothing else lies between them.
// docs/performance.md, "Issue 19 (2026-12-08, 00-02 UTC)".
//
// A slab's records are handed out from its free list, else from its untouched end (so a new
// slab's pages become resident as they are used). A slab with free records is on its class's
// list; a slab whose last record comes back is kept as the class's spare if it has none, else
// given back (big_blocks::deallocate); release_spare() gives the spares back too.
//
// Threading: one thread at a time (a worker's), and a record goes back to the pool that made it
// (deallocate finds it). A pool is destroyed after every record it made is freed; a slab with
// records still out when it is destroyed is left alone (leaked, not freed under them).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <utility>

namespace portier {

class RecordPool {
 public:
  static constexpr std::size_t kGrain = 32;      // record sizes are multiples of this
  static constexpr std::size_t kMaxRecord = 1024;  // larger records: not from a pool
  static constexpr std::size_t kAlign = 16;      // every record's address is a multiple of this

  RecordPool() = default;
  ~RecordPool();
  RecordPool(const RecordPool&) = delete;
  RecordPool& operator=(const RecordPool&) = delete;

  // A record of `size` bytes (1 to kMaxRecord), aligned to kAlign. Throws std::bad_alloc when
  // no slab can be made.
  void* allocate(std::size_t size);
  // Gives back a record from allocate() to the pool that made it.
  static void deallocate(void* p) noexcept;
  // The empty slabs kept for reuse go back (a worker gone quiet).
  void release_spare() noexcept;

  // For tests: records handed out and not given back, slabs holding records or kept as spares,
  // and how many records of `size` a slab takes.
  std::size_t in_use() const noexcept { return in_use_; }
  std::size_t slabs() const noexcept { return slabs_; }
  static std::size_t records_per_slab(std::size_t size) noexcept;

 private:
  struct Slab;
  struct Class {
    Slab* partial = nullptr;  // slabs with free records (none of them empty but the spare)
    Slab* spare = nullptr;    // an empty slab kept, not on `partial`
  };
  static constexpr std::size_t kClasses = kMaxRecord / kGrain;

  Slab* make_slab(std::size_t cls);
  void unlink(Slab* s) noexcept;
  void give_back(Slab* s) noexcept;

  std::array<Class, kClasses> classes_{};
  std::size_t in_use_ = 0;
  std::size_t slabs_ = 0;
};

template <typename T>
struct RecordDelete {
  void operator()(T* p) const noexcept {
    p->~T();
    RecordPool::deallocate(p);
  }
};
template <typename T>
using RecordPtr = std::unique_ptr<T, RecordDelete<T>>;

// A T made in a record of `pool`.
template <typename T, typename... Args>
RecordPtr<T> make_record(RecordPool& pool, Args&&... args) {
  static_assert(sizeof(T) <= RecordPool::kMaxRecord && alignof(T) <= RecordPool::kAlign);
  void* p = pool.allocate(sizeof(T));
  try {
    return RecordPtr<T>(new (p) T(std::forward<Args>(args)...));
  } catch (...) {
    RecordPool::deallocate(p);
    throw;
  }
}

// An allocator of a pool's records, for an asynchronous operation's memory (Asio takes it as a
// handler's associated allocator, boost::asio::bind_allocator). Blocks larger than a record, or
// more aligned, come from operator new.
template <typename T>
struct RecordAllocator {
  using value_type = T;
  RecordPool* pool;

  explicit RecordAllocator(RecordPool& p) noexcept : pool(&p) {}
  template <typename U>
  RecordAllocator(const RecordAllocator<U>& other) noexcept : pool(other.pool) {}

  static constexpr bool fits(std::size_t n) {
    return alignof(T) <= RecordPool::kAlign && n <= RecordPool::kMaxRecord / sizeof(T);
  }
  T* allocate(std::size_t n) {
    if (fits(n)) return static_cast<T*>(pool->allocate(n * sizeof(T)));
    return std::allocator<T>{}.allocate(n);
  }
  void deallocate(T* p, std::size_t n) noexcept {
    if (fits(n)) return RecordPool::deallocate(p);
    std::allocator<T>{}.deallocate(p, n);
  }
  template <typename U>
  bool operator==(const RecordAllocator<U>& other) const noexcept {
    return pool == other.pool;
  }
};

}  // namespace portier
