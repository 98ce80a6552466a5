#include "common/asio_recycling.h"

#include <sys/mman.h>

#include <cstdlib>
#include <mutex>
#include <new>

#include "common/sanitizers.h"

namespace portier::recycling {
namespace {

// What a thread keeps at most. An HTTP/2 connection with 100 streams in flight has about 1.5k
// frames and functions alive at its peak; the lists need to hold what one burst of completed
// streams frees until the next burst allocates it again.
constexpr std::uint32_t kMaxCount = 256;
constexpr std::size_t kMaxBytes = 1024 * 1024;

void release_all(Cache& c) {
  for (std::size_t k = 0; k < kClasses; ++k) {
    while (Free* f = c.head[k]) {
      c.head[k] = f->next;
      std::free(f);
    }
    c.count[k] = 0;
  }
  c.bytes = 0;
}

struct Release {
  ~Release() {
    Cache& c = cache;
    release_all(c);
    c.max_bytes = 0;  // what this thread frees after this goes straight back to malloc
    c.max_count = 0;
    c.state = 2;
  }
};

// Socket states: chunks of pages mapped as needed (a page becomes resident when a state on it is
// first made), never unmapped; freed states on a list.
constexpr std::size_t kStatesChunk = 256 * 1024;
struct SocketStates {
  std::mutex mutex;
  Free* free = nullptr;
  std::size_t in_use = 0;
  char* next = nullptr;
  char* end = nullptr;
};
SocketStates& socket_states() {
  static auto* const s = new SocketStates;  // never destroyed: a reactor may outlive statics
  return *s;
}

}  // namespace

void* allocate_socket_state() {
  if (PORTIER_ASAN) {
    if (void* p = std::aligned_alloc(64, kSocketState)) return p;
    throw std::bad_alloc();
  }
  SocketStates& s = socket_states();
  std::lock_guard lock(s.mutex);
  ++s.in_use;
  if (Free* f = s.free) {
    s.free = f->next;
    return f;
  }
  if (static_cast<std::size_t>(s.end - s.next) < kSocketState) {
    void* chunk = ::mmap(nullptr, kStatesChunk, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (chunk == MAP_FAILED) {
      --s.in_use;
      throw std::bad_alloc();
    }
    s.next = static_cast<char*>(chunk);
    s.end = s.next + kStatesChunk;
  }
  void* p = s.next;
  s.next += kSocketState;
  return p;
}

void free_socket_state(void* p) noexcept {
  if (PORTIER_ASAN) return std::free(p);
  SocketStates& s = socket_states();
  std::lock_guard lock(s.mutex);
  --s.in_use;
  Free* f = static_cast<Free*>(p);
  f->next = s.free;
  s.free = f;
}

std::size_t socket_states_in_use() noexcept {
  if (PORTIER_ASAN) return 0;
  SocketStates& s = socket_states();
  std::lock_guard lock(s.mutex);
  return s.in_use;
}

// A block of a class is made with the class's whole size, so that once freed it can serve any
// size of its class (an over-aligned one too: deallocate knows sizes, not alignments).
void* allocate_new(std::size_t size, std::size_t align) {
  const std::size_t k = (size + kGrain - 1) / kGrain;
  if (k - 1 < kClasses) size = k * kGrain;
  void* p = nullptr;
  if (align <= alignof(std::max_align_t)) {
    p = std::malloc(size == 0 ? 1 : size);
  } else {
    p = std::aligned_alloc(align, (size + align - 1) / align * align);
  }
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

void release_kept() { release_all(cache); }

void keep_or_free(void* p, std::size_t size) {
  Cache& c = cache;
  if (c.state == 0) {
    static thread_local Release release;  // frees the thread's blocks at its exit
    (void)release;
    c.state = 1;
    c.max_count = kMaxCount;
    c.max_bytes = kMaxBytes;
    deallocate(p, size);  // now within the limits (or freed by them)
    return;
  }
  std::free(p);
}

}  // namespace portier::recycling
