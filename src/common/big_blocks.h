// Blocks of 16-32 KiB in a region of their own: the buffers a connection holds while it is busy
// and gives back when it goes idle (OpenSSL's record buffers and handshake buffer, TLS input
// room, read buffers).
//
// From glibc's heap, such a block lies between the small objects that outlive it: an idle
// connection's record, OpenSSL's SSL and cipher contexts, Asio's socket state, each made while
// other connections held their buffers. Once the buffers are freed, those objects are spread
// over the heap one or two to a page, and a page with anything on it stays resident:
// malloc_trim returns only pages entirely free. Measured (300 idle HTTPS connections, one
// request each, glibc): 18 KB in use a connection, 26-30 KB resident. Here each block has a
// slot of 32 KiB of its own in one reserved range of addresses; a freed slot goes on its
// thread's list and is reused first, and release_spare() hands the pages of the calling thread's
// free slots back to the kernel (madvise), so the heap keeps the long-lived objects closer
// together. docs/performance.md, "Issue 19 (2026-12-07, 21-23 UTC)".
//
// The range is reserved without access when the first block is asked for (kSlots slots, the
// first at a multiple of kSlot) and made accessible a megabyte at a time as slots are first
// used; past it, and for any other size, blocks come from malloc. deallocate() and
// reallocate() tell the two apart by address.
// Built with AddressSanitizer (tools/fuzz.sh), every block comes from malloc.
//
// Threading: any thread. A slot freed by one thread goes on that thread's list; a thread that
// exits hands its free slots to a shared list the others draw on. A slot is taken without a
// lock (from the thread's list, or the next never used, by an atomic counter); a mutex is
// taken only to make another megabyte accessible or to use the shared list.
#pragma once

#include <cstddef>
#include <memory>

namespace portier::big_blocks {

inline constexpr std::size_t kMin = 16 * 1024;   // smaller blocks come from malloc
inline constexpr std::size_t kSlot = 32 * 1024;  // and larger ones too
inline constexpr std::size_t kSlots = 32768;     // 1 GiB of addresses, reserved only

// A block of `size` bytes, from a slot when kMin <= size <= kSlot and one is left, else from
// malloc. nullptr when neither has room (as malloc).
void* allocate(std::size_t size);
// Frees a block from allocate() or reallocate(), or from malloc; nullptr is ignored.
void deallocate(void* p) noexcept;
// As realloc: a slot's block keeps its address up to kSlot bytes; past that its bytes move to
// a block from malloc. A block from malloc stays with malloc. Size 0 frees and returns nullptr.
void* reallocate(void* p, std::size_t size);
// kSlot bytes at an address that is a multiple of kSlot: a slot, or from aligned_alloc when
// none is left (or under AddressSanitizer). nullptr when neither has room. Freed with
// deallocate(). For memory that finds its header by rounding an address down (record_pool.h).
void* allocate_aligned_slot();
// Whether `p` lies in a slot.
bool in_slot(const void* p) noexcept;

// An array of bytes from allocate(), freed with deallocate().
struct Free {
  void operator()(char* p) const noexcept { deallocate(p); }
};
using Bytes = std::unique_ptr<char[], Free>;
// `size` bytes, not initialised. Throws std::bad_alloc when there is no room.
Bytes make_bytes(std::size_t size);

// The pages of the calling thread's free slots go back to the kernel (their next use starts
// from zero-filled pages). For a thread gone quiet, beside malloc_trim.
void release_spare();
// The free slots on the calling thread's lists (for tests).
struct Spare {
  std::size_t dirty = 0;     // freed since the last release_spare(): pages may be resident
  std::size_t released = 0;  // their pages given back
};
Spare spare();

// OpenSSL's allocations go through allocate, reallocate and deallocate
// (CRYPTO_set_mem_functions). Must be called before OpenSSL allocates anything; false when it
// is too late (OpenSSL then keeps using malloc).
bool route_openssl();

}  // namespace portier::big_blocks
