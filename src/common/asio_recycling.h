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
//
// Asio's per-socket states (epoll_reactor::descriptor_state) come from pages of their own, one
// after the other (allocate_socket_state below): from glibc's heap, each lands where the accept
// finds room, among the blocks of busy connections, and keeps that page resident once they are
// freed (a reactor never frees a state: it keeps it for its next socket).
#pragma once

#include <boost/asio/detail/thread_info_base.hpp>
#include <cstddef>
#include <cstdint>
#include <new>

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

// Memory for one socket state of Asio's reactor (at most kSocketState bytes, aligned to 64, so
// that two workers' states share no cache line). From a range of pages that only grows: a
// reactor keeps the states of closed sockets for its next ones and frees them when it is
// destroyed; a freed state is reused. Any thread (a mutex: taken when a reactor has more
// sockets than ever before, not for each socket). Under AddressSanitizer, from malloc.
inline constexpr std::size_t kSocketState = 192;
void* allocate_socket_state();
void free_socket_state(void* p) noexcept;
// Socket states made and not freed, all reactors together (for tests).
std::size_t socket_states_in_use() noexcept;

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

// After the specializations above: epoll_reactor.hpp brings the definitions of Asio's
// functions (header-only), which use them.
#include <boost/asio/detail/epoll_reactor.hpp>

#if defined(BOOST_ASIO_HAS_EPOLL)
namespace boost::asio::detail {

// The reactor makes and destroys its socket states through object_pool_access. These
// specializations come after epoll_reactor's definition, and the use that instantiates them is
// in a function defined by the same header (epoll_reactor.ipp, allocate_descriptor_state): a
// function template's body is instantiated at the end of the translation unit by GCC and Clang,
// where these are declared. AsioRecycling.SocketStatesComeFromTheirOwnPages checks that they
// are the ones used.
template <>
inline epoll_reactor::descriptor_state*
object_pool_access::create<epoll_reactor::descriptor_state, bool>(bool locking) {
  static_assert(sizeof(epoll_reactor::descriptor_state) <= portier::recycling::kSocketState &&
                alignof(epoll_reactor::descriptor_state) <= 64);
  void* p = portier::recycling::allocate_socket_state();
  try {
    return new (p) epoll_reactor::descriptor_state(locking);
  } catch (...) {
    portier::recycling::free_socket_state(p);
    throw;
  }
}
template <>
inline void object_pool_access::destroy<epoll_reactor::descriptor_state>(
    epoll_reactor::descriptor_state* o) {
  o->~descriptor_state();
  portier::recycling::free_socket_state(o);
}
}  // namespace boost::asio::detail
#endif
