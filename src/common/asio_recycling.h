// Recycling of coroutine frames and posted functions (Asio's awaitable_frame_tag and
// executor_function_tag allocations) by size class, per thread.
//
// Asio keeps a few freed blocks per thread in a short array (BOOST_ASIO_RECYCLING_ALLOCATOR_CACHE_SIZE)
// and reuses the first one large enough, of at most 1020 bytes. Most of portier's coroutine
// frames are larger, and an HTTP/2 connection has many in flight, so most allocations missed:
// 4.4 malloc + free pairs per keep-alive request, 15.3 per HTTP/2 request, each through glibc's
// slower paths (its own per-thread cache takes blocks of up to 1032 bytes only).
// docs/performance.md, "Issue 19 (2026-12-07, 16-18 UTC)".
//
// This file is included ahead of every translation unit (CMakeLists.txt, portier_flags:
// `-include`), because an explicit specialization must be seen before any use of the function
// it specializes: a unit that used Asio's own version would hand its blocks to this one's lists
// or the reverse. Only these two purposes are replaced; Asio's header uses default_tag itself,
// so that one cannot be specialized here.
#pragma once

#include <boost/asio/detail/thread_info_base.hpp>
#include <cstddef>
#include <cstdint>

namespace portier::recycling {

// Blocks are malloc'd with their class's size (a multiple of kGrain), so any block of a class
// serves any request of that class, and a block that is not kept is simply freed.
inline constexpr std::size_t kGrain = 128;
inline constexpr std::size_t kClasses = 64;  // up to 8 KiB; larger blocks are not kept

struct Free {
  Free* next;
};

// Trivially constructed and destroyed, so a thread's access is a plain TLS load. The limits
// start at 0: a thread's first block to keep takes the slow path (asio_recycling.cc), which sets
// them and arranges for the blocks to be freed when the thread exits.
struct Cache {
  Free* head[kClasses];
  std::uint32_t count[kClasses];
  std::size_t bytes;
  std::size_t max_bytes;      // what the thread may keep, all classes together
  std::uint32_t max_count;    // blocks kept per class
  std::uint8_t state;         // 0: keeps nothing yet; 1: keeps blocks; 2: its exit freed them
};
inline thread_local Cache cache{};

void* allocate_new(std::size_t size, std::size_t align);  // malloc, or aligned_alloc
void keep_or_free(void* p, std::size_t size);             // the first block, or past a limit
// Frees the blocks the calling thread keeps (a worker gone quiet, before its malloc_trim: kept
// blocks would hold the burst's pages).
void release_kept();

inline void* allocate(std::size_t size, std::size_t align) {
  const std::size_t k = (size + kGrain - 1) / kGrain;
  if (k - 1 < kClasses && align <= alignof(std::max_align_t)) {
    Cache& c = cache;
    if (Free* f = c.head[k - 1]) {
      c.head[k - 1] = f->next;
      --c.count[k - 1];
      c.bytes -= k * kGrain;
      return f;
    }
  }
  return allocate_new(size, align);
}

inline void deallocate(void* p, std::size_t size) {
  const std::size_t k = (size + kGrain - 1) / kGrain;
  Cache& c = cache;
  if (k - 1 < kClasses && c.count[k - 1] < c.max_count && c.bytes + k * kGrain <= c.max_bytes) {
    Free* f = static_cast<Free*>(p);
    f->next = c.head[k - 1];
    c.head[k - 1] = f;
    ++c.count[k - 1];
    c.bytes += k * kGrain;
    return;
  }
  keep_or_free(p, size);
}

}  // namespace portier::recycling

namespace boost::asio::detail {

template <>
inline void* thread_info_base::allocate(thread_info_base::awaitable_frame_tag, thread_info_base*,
                                        std::size_t size, std::size_t align) {
  return portier::recycling::allocate(size, align);
}
template <>
inline void thread_info_base::deallocate(thread_info_base::awaitable_frame_tag, thread_info_base*,
                                         void* pointer, std::size_t size) {
  portier::recycling::deallocate(pointer, size);
}
template <>
inline void* thread_info_base::allocate(thread_info_base::executor_function_tag, thread_info_base*,
                                        std::size_t size, std::size_t align) {
  return portier::recycling::allocate(size, align);
}
template <>
inline void thread_info_base::deallocate(thread_info_base::executor_function_tag,
                                         thread_info_base*, void* pointer, std::size_t size) {
  portier::recycling::deallocate(pointer, size);
}

}  // namespace boost::asio::detail
