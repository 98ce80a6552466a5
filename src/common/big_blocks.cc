#include "common/big_blocks.h"

#include <openssl/crypto.h>
#include <sys/mman.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>

#include "common/sanitizers.h"


namespace portier::big_blocks {
namespace {

constexpr std::uint32_t kNone = UINT32_MAX;
// Under AddressSanitizer (the fuzz builds) every block comes from malloc, so that a read or a
// write past a buffer's end is caught as it is in a block of malloc's.
constexpr bool kMallocOnly = PORTIER_ASAN;
constexpr std::uint32_t kCommitStep = 32;  // slots made accessible at a time: 1 MiB

// Set once, when the range is reserved; read without a lock by in_slot(). A thread can only
// hold an address in a slot after allocate() handed it out, which reserved the range first.
std::atomic<char*> g_base{nullptr};

// A worker takes a new slot without a lock; the mutex is for the rare events: a megabyte made
// accessible, a thread's exit.
struct Region {
  char* base = nullptr;
  std::uint32_t* next = nullptr;            // the free lists' links, one per slot
  std::atomic<std::uint32_t> used{0};       // slots handed out at least once
  std::atomic<std::uint32_t> committed{0};  // slots made accessible
  std::atomic<bool> shared_any{false};      // `shared` holds slots
  std::mutex mutex;                         // guards `shared` and making slots accessible
  std::uint32_t shared = kNone;             // free slots of threads that exited
};

// The range starts at a multiple of kSlot (allocate_aligned_slot): one slot more is reserved and
// the ends beyond the aligned range are given back.
Region* make_region() {
  void* mapped = ::mmap(nullptr, (kSlots + 1) * kSlot, PROT_NONE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mapped == MAP_FAILED) return nullptr;
  const auto start = reinterpret_cast<std::uintptr_t>(mapped);
  const std::uintptr_t aligned = (start + kSlot - 1) & ~std::uintptr_t{kSlot - 1};
  if (aligned != start) ::munmap(mapped, aligned - start);
  if (aligned + kSlots * kSlot != start + (kSlots + 1) * kSlot) {
    ::munmap(reinterpret_cast<void*>(aligned + kSlots * kSlot),
             start + (kSlots + 1) * kSlot - (aligned + kSlots * kSlot));
  }
  void* base = reinterpret_cast<void*>(aligned);
  void* next = ::mmap(nullptr, kSlots * sizeof(std::uint32_t), PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (next == MAP_FAILED) {
    ::munmap(base, kSlots * kSlot);
    return nullptr;
  }
  auto* r = new Region;
  r->base = static_cast<char*>(base);
  r->next = static_cast<std::uint32_t*>(next);
  g_base.store(r->base, std::memory_order_release);
  return r;
}

// nullptr when the range could not be reserved (every block then comes from malloc).
Region* region() {
  static Region* const r = make_region();  // never freed: slots may be in use until the end
  return r;
}

// A thread's free slots. Trivially constructed and destroyed (a plain TLS access); `state`
// arranges the hand-over at the thread's exit (Handover below).
struct List {
  std::uint32_t dirty = kNone;     // freed since the last release_spare: pages may be resident
  std::uint32_t released = kNone;  // pages given back
  std::uint8_t state = 0;          // 0: nothing on it yet; 1: in use; 2: the thread is exiting
};
thread_local List tlist{};

std::uint32_t pop(std::uint32_t& head, const Region& r) {
  const std::uint32_t s = head;
  head = r.next[s];
  return s;
}

void give_to_shared(Region& r, std::uint32_t head) {
  if (head == kNone) return;
  std::uint32_t tail = head;
  while (r.next[tail] != kNone) tail = r.next[tail];
  std::lock_guard lock(r.mutex);
  r.next[tail] = r.shared;
  r.shared = head;
  r.shared_any.store(true, std::memory_order_relaxed);
}

struct Handover {
  ~Handover() {
    List& t = tlist;
    t.state = 2;  // what this thread frees from now on goes to the shared list directly
    if (Region* r = region()) {
      give_to_shared(*r, t.dirty);
      give_to_shared(*r, t.released);
    }
    t = List{.state = 2};
  }
};

void start_list(List& t) {
  static thread_local Handover handover;
  (void)handover;
  t.state = 1;
}

char* slot_address(const Region& r, std::uint32_t s) { return r.base + std::size_t{s} * kSlot; }

std::uint32_t take_slot(Region& r) {
  List& t = tlist;
  if (t.dirty != kNone) return pop(t.dirty, r);
  if (t.released != kNone) return pop(t.released, r);
  if (r.shared_any.load(std::memory_order_relaxed)) {
    std::lock_guard lock(r.mutex);
    if (r.shared != kNone) {
      const std::uint32_t s = pop(r.shared, r);
      if (r.shared == kNone) r.shared_any.store(false, std::memory_order_relaxed);
      return s;
    }
  }
  std::uint32_t s = r.used.load(std::memory_order_relaxed);
  do {
    if (s == kSlots) return kNone;
  } while (!r.used.compare_exchange_weak(s, s + 1, std::memory_order_relaxed));
  if (s >= r.committed.load(std::memory_order_acquire)) {
    std::lock_guard lock(r.mutex);
    std::uint32_t c = r.committed.load(std::memory_order_relaxed);
    while (c <= s) {  // another thread may have made it accessible meanwhile
      if (::mprotect(slot_address(r, c), std::size_t{kCommitStep} * kSlot,
                     PROT_READ | PROT_WRITE) != 0) {
        return kNone;  // slot s stays unused
      }
      c += kCommitStep;
      r.committed.store(c, std::memory_order_release);
    }
  }
  return s;
}

}  // namespace

bool in_slot(const void* p) noexcept {
  const char* base = g_base.load(std::memory_order_relaxed);
  if (base == nullptr) return false;
  const auto offset = reinterpret_cast<std::uintptr_t>(p) - reinterpret_cast<std::uintptr_t>(base);
  return offset < kSlots * kSlot;
}

namespace {

// The slot paths, apart: allocate() and deallocate() are then a test and a jump to malloc or
// free for the other blocks (OpenSSL's many small ones: about 4 per HTTPS request).
[[gnu::noinline]] void* allocate_slot(std::size_t size) {
  Region* r = region();
  if (r == nullptr) return std::malloc(size);
  List& t = tlist;
  if (t.state == 0) start_list(t);
  const std::uint32_t s = take_slot(*r);
  if (s == kNone) return std::malloc(size);
  return slot_address(*r, s);
}

[[gnu::noinline]] void free_slot(void* p) noexcept {
  Region& r = *region();
  const auto s = static_cast<std::uint32_t>((static_cast<char*>(p) - r.base) / kSlot);
  List& t = tlist;
  if (t.state == 2) {  // a thread that is exiting
    r.next[s] = kNone;
    give_to_shared(r, s);
    return;
  }
  if (t.state == 0) start_list(t);
  r.next[s] = t.dirty;
  t.dirty = s;
}

}  // namespace

void* allocate(std::size_t size) {
  if (kMallocOnly || size - kMin > kSlot - kMin) return std::malloc(size);  // not [kMin, kSlot]
  return allocate_slot(size);
}

void deallocate(void* p) noexcept {
  if (!in_slot(p)) return std::free(p);
  free_slot(p);
}

void* allocate_aligned_slot() {
  if (!kMallocOnly) {
    void* p = allocate_slot(kSlot);
    if (p == nullptr || in_slot(p)) return p;
    std::free(p);  // no slot left: malloc's block would not be aligned
  }
  return std::aligned_alloc(kSlot, kSlot);
}

Bytes make_bytes(std::size_t size) {
  void* p = allocate(size == 0 ? 1 : size);
  if (p == nullptr) throw std::bad_alloc();
  return Bytes(static_cast<char*>(p));
}

void* reallocate(void* p, std::size_t size) {
  if (p == nullptr) return allocate(size);
  if (size == 0) {
    deallocate(p);
    return nullptr;
  }
  if (!in_slot(p)) return std::realloc(p, size);
  if (size <= kSlot) return p;
  void* q = std::malloc(size);
  if (q == nullptr) return nullptr;  // p stays as it was
  std::memcpy(q, p, kSlot);
  deallocate(p);
  return q;
}

void release_spare() {
  Region* r = region();
  if (r == nullptr) return;
  List& t = tlist;
  while (t.dirty != kNone) {
    const std::uint32_t s = pop(t.dirty, *r);
    ::madvise(slot_address(*r, s), kSlot, MADV_DONTNEED);
    r->next[s] = t.released;
    t.released = s;
  }
}

Spare spare() {
  const List& t = tlist;
  const Region* r = region();
  const auto count = [r](std::uint32_t s) {
    std::size_t n = 0;
    for (; s != kNone; s = r->next[s]) ++n;
    return n;
  };
  return {count(t.dirty), count(t.released)};
}

bool route_openssl() {
  return CRYPTO_set_mem_functions(
             [](std::size_t n, const char*, int) { return allocate(n); },
             [](void* p, std::size_t n, const char*, int) { return reallocate(p, n); },
             [](void* p, const char*, int) { deallocate(p); }) == 1;
}

}  // namespace portier::big_blocks
