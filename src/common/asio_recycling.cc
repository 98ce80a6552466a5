#include "common/asio_recycling.h"

#include <cstdlib>
#include <new>

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

}  // namespace

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
