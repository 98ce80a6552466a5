#include "common/record_pool.h"

#include <cstdint>

#include "common/big_blocks.h"

namespace portier {

// At the start of its slab (a big_blocks slot); the records follow from kHeader on.
struct RecordPool::Slab {
  RecordPool* pool;
  Slab* prev = nullptr;  // on the class's partial list
  Slab* next = nullptr;
  void* free = nullptr;  // records given back; each holds the next one's address
  std::uint32_t used = 0;
  std::uint32_t bump;  // the offset of the first record never handed out
  std::uint32_t size;  // a record's size
  std::uint32_t capacity;
  std::uint32_t cls;
};

namespace {

constexpr std::size_t kSlab = big_blocks::kSlot;
constexpr std::size_t kHeader = 64;

std::size_t rounded(std::size_t size) {
  return (size + RecordPool::kGrain - 1) / RecordPool::kGrain * RecordPool::kGrain;
}

}  // namespace

static_assert(sizeof(void*) <= RecordPool::kGrain);  // a free record holds a link

RecordPool::~RecordPool() { release_spare(); }

std::size_t RecordPool::records_per_slab(std::size_t size) noexcept {
  return (kSlab - kHeader) / rounded(size);
}

RecordPool::Slab* RecordPool::make_slab(std::size_t cls) {
  void* p = big_blocks::allocate_aligned_slot();
  if (p == nullptr) throw std::bad_alloc();
  static_assert(sizeof(Slab) <= kHeader);
  auto* s = new (p) Slab{.pool = this};
  s->size = static_cast<std::uint32_t>((cls + 1) * kGrain);
  s->bump = kHeader;
  s->capacity = static_cast<std::uint32_t>((kSlab - kHeader) / s->size);
  s->cls = static_cast<std::uint32_t>(cls);
  ++slabs_;
  return s;
}

void RecordPool::unlink(Slab* s) noexcept {
  if (s->prev != nullptr) {
    s->prev->next = s->next;
  } else {
    classes_[s->cls].partial = s->next;
  }
  if (s->next != nullptr) s->next->prev = s->prev;
  s->prev = s->next = nullptr;
}

void RecordPool::give_back(Slab* s) noexcept {
  --slabs_;
  big_blocks::deallocate(s);
}

void* RecordPool::allocate(std::size_t size) {
  const std::size_t cls = (size + kGrain - 1) / kGrain - 1;
  if (size == 0 || cls >= kClasses) throw std::bad_alloc();
  Class& c = classes_[cls];
  Slab* s = c.partial;
  if (s == nullptr) {
    if (c.spare != nullptr) {
      s = std::exchange(c.spare, nullptr);
    } else {
      s = make_slab(cls);
    }
    c.partial = s;
  }
  void* p;
  if (s->free != nullptr) {
    p = s->free;
    s->free = *static_cast<void**>(p);
  } else {
    p = reinterpret_cast<char*>(s) + s->bump;
    s->bump += s->size;
  }
  if (++s->used == s->capacity) unlink(s);  // full: off the list until a record comes back
  ++in_use_;
  return p;
}

void RecordPool::deallocate(void* p) noexcept {
  auto* s = reinterpret_cast<Slab*>(reinterpret_cast<std::uintptr_t>(p) &
                                    ~std::uintptr_t{kSlab - 1});
  RecordPool& pool = *s->pool;
  Class& c = pool.classes_[s->cls];
  --pool.in_use_;
  *static_cast<void**>(p) = s->free;
  s->free = p;
  if (s->used-- == s->capacity) {  // it was full: back on the list, first
    s->next = c.partial;
    if (c.partial != nullptr) c.partial->prev = s;
    c.partial = s;
  }
  if (s->used == 0) {
    pool.unlink(s);
    if (c.spare == nullptr) {
      c.spare = s;
    } else {
      pool.give_back(s);
    }
  }
}

void RecordPool::release_spare() noexcept {
  for (Class& c : classes_) {
    if (c.spare != nullptr) give_back(std::exchange(c.spare, nullptr));
  }
}

}  // namespace portier
