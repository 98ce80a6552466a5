// src/common/big_blocks.h: blocks of 16-32 KiB from slots of their own, reused per thread,
// their pages given back by release_spare(). Each test that looks at a thread's lists runs in a
// thread of its own, whose lists start empty.
#include "common/big_blocks.h"

#include <gtest/gtest.h>
#include <openssl/crypto.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace portier::big_blocks {
namespace {

template <typename F>
void in_new_thread(F f) {
  std::thread t(f);
  t.join();
}

// Pages of [p, p + n) that are resident.
std::size_t resident_pages(void* p, std::size_t n) {
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> v((n + page - 1) / page);
  if (::mincore(p, n, v.data()) != 0) return SIZE_MAX;
  return static_cast<std::size_t>(
      std::count_if(v.begin(), v.end(), [](unsigned char c) { return (c & 1) != 0; }));
}

// A whole slot at a multiple of its size (record_pool.h finds a slab's header by rounding an
// address down): the range starts aligned, so every slot is.
TEST(BigBlocks, AlignedSlotsStartAtAMultipleOfTheirSize) {
  std::vector<void*> slots;
  for (int i = 0; i < 3; ++i) {
    void* p = allocate_aligned_slot();
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % kSlot, 0u);
    EXPECT_TRUE(in_slot(p));
    std::memset(p, 0x5a, kSlot);
    slots.push_back(p);
  }
  void* block = allocate(kMin);  // an ordinary block's slot is aligned as well
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(block) % kSlot, 0u);
  deallocate(block);
  for (void* p : slots) deallocate(p);
}

TEST(BigBlocks, SizesFrom16To32KiBComeFromSlotsOthersFromMalloc) {
  const std::size_t sizes[] = {1, 4096, kMin - 1, kMin, 17 * 1024, kSlot, kSlot + 1, 1 << 20};
  for (std::size_t size : sizes) {
    void* p = allocate(size);
    ASSERT_NE(p, nullptr) << size;
    EXPECT_EQ(in_slot(p), size >= kMin && size <= kSlot) << size;
    std::memset(p, 0x5a, size);  // all of it is usable
    deallocate(p);
  }
  deallocate(nullptr);  // as free(nullptr)
  int on_stack = 0;
  EXPECT_FALSE(in_slot(&on_stack));
}

TEST(BigBlocks, AFreedSlotServesTheThreadsNextBlockFirst) {
  in_new_thread([] {
    void* a = allocate(20000);
    void* b = allocate(kMin);
    ASSERT_TRUE(in_slot(a) && in_slot(b));
    EXPECT_NE(a, b);
    deallocate(a);
    deallocate(b);
    EXPECT_EQ(spare().dirty, 2u);
    EXPECT_EQ(allocate(kSlot), b);  // the last freed first
    EXPECT_EQ(allocate(17 * 1024), a);
    EXPECT_EQ(spare().dirty, 0u);
    deallocate(a);
    deallocate(b);
  });
}

TEST(BigBlocks, ReallocateKeepsASlotUpToItsSizeAndMovesTheBytesBeyond) {
  in_new_thread([] {
    char* p = static_cast<char*>(reallocate(nullptr, kMin));  // as allocate
    ASSERT_TRUE(in_slot(p));
    for (std::size_t i = 0; i < kMin; ++i) p[i] = static_cast<char>(i * 7);
    EXPECT_EQ(reallocate(p, kSlot), p);
    EXPECT_EQ(reallocate(p, 100), p);
    char* q = static_cast<char*>(reallocate(p, kSlot + 1));
    ASSERT_NE(q, nullptr);
    EXPECT_FALSE(in_slot(q));
    for (std::size_t i = 0; i < kMin; ++i) {
      ASSERT_EQ(q[i], static_cast<char>(i * 7)) << i;
    }
    EXPECT_EQ(spare().dirty, 1u);  // the slot went back
    // A block from malloc stays with malloc, even at a slot's size.
    char* m = static_cast<char*>(reallocate(q, 20000));
    EXPECT_FALSE(in_slot(m));
    EXPECT_EQ(m[kMin - 1], static_cast<char>((kMin - 1) * 7));
    EXPECT_EQ(reallocate(m, 0), nullptr);  // frees
    void* s = allocate(kMin);
    EXPECT_EQ(reallocate(s, 0), nullptr);
    EXPECT_EQ(spare().dirty, 1u);
  });
}

TEST(BigBlocks, ReleasedSlotsGiveTheirPagesBackAndStartZeroed) {
  in_new_thread([] {
    char* p = static_cast<char*>(allocate(kSlot));
    ASSERT_TRUE(in_slot(p));
    std::memset(p, 0xff, kSlot);
    EXPECT_EQ(resident_pages(p, kSlot), kSlot / static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)));
    deallocate(p);
    EXPECT_EQ(resident_pages(p, kSlot), kSlot / static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)))
        << "a freed slot keeps its pages until release_spare";
    release_spare();
    EXPECT_EQ(resident_pages(p, kSlot), 0u);
    EXPECT_EQ(spare().dirty, 0u);
    EXPECT_EQ(spare().released, 1u);
    char* again = static_cast<char*>(allocate(kSlot));
    EXPECT_EQ(again, p);
    EXPECT_EQ(spare().released, 0u);
    EXPECT_TRUE(std::all_of(again, again + kSlot, [](char c) { return c == 0; }));
    deallocate(again);
  });
}

TEST(BigBlocks, AnExitedThreadsFreeSlotsServeOtherThreads) {
  std::vector<void*> freed;
  in_new_thread([&] {
    for (int i = 0; i < 3; ++i) freed.push_back(allocate(kMin));
    for (void* p : freed) deallocate(p);
  });
  std::vector<void*> taken;
  in_new_thread([&] {
    for (int i = 0; i < 3; ++i) taken.push_back(allocate(kMin));
    for (void* p : taken) deallocate(p);
  });
  std::sort(freed.begin(), freed.end());
  std::sort(taken.begin(), taken.end());
  EXPECT_EQ(freed, taken);
}

// Threads taking and giving back slots at once (new ones by the atomic counter, freed ones
// from their own lists) never hold the same slot: each writes its mark over its whole block
// and finds it intact when it frees it.
TEST(BigBlocks, ThreadsAtOnceNeverShareASlot) {
  auto work = [](char mark) {
    std::vector<char*> live;
    bool intact = true;
    for (int i = 0; i < 3000; ++i) {
      if (live.size() < 40 && (i % 3 != 2 || live.empty())) {
        char* p = static_cast<char*>(allocate(kMin + static_cast<std::size_t>(i % 7) * 1000));
        std::memset(p, mark, kMin);
        live.push_back(p);
      } else {
        char* p = live[static_cast<std::size_t>(i) % live.size()];
        intact = intact && std::all_of(p, p + kMin, [&](char c) { return c == mark; });
        live.erase(std::find(live.begin(), live.end(), p));
        deallocate(p);
      }
    }
    for (char* p : live) {
      intact = intact && std::all_of(p, p + kMin, [&](char c) { return c == mark; });
      deallocate(p);
    }
    return intact;
  };
  bool a = false, b = false, c = false;
  std::thread ta([&] { a = work('a'); });
  std::thread tb([&] { b = work('b'); });
  std::thread tc([&] { c = work('c'); });
  ta.join();
  tb.join();
  tc.join();
  EXPECT_TRUE(a);
  EXPECT_TRUE(b);
  EXPECT_TRUE(c);
}

// OpenSSL's allocations of a slot's size go to slots once route_openssl() is called, which has
// to come before OpenSSL's first allocation: so in a process of its own (a death test's child
// in the "threadsafe" style runs this test alone in a new process), where nothing else used
// OpenSSL yet.
TEST(BigBlocksDeathTest, OpenSslsBlocksOfASlotsSizeComeFromSlots) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        bool ok = route_openssl();
        void* big = OPENSSL_malloc(20000);
        void* small = OPENSSL_zalloc(100);
        ok = ok && in_slot(big) && !in_slot(small);
        void* grown = OPENSSL_realloc(big, 40000);  // past a slot: to malloc, bytes kept
        ok = ok && grown != nullptr && !in_slot(grown);
        OPENSSL_free(grown);
        OPENSSL_free(small);
        std::_Exit(ok ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(BigBlocks, MakeBytesGivesAnArrayTheSlotsTakeBack) {
  in_new_thread([] {
    char* raw = nullptr;
    {
      Bytes b = make_bytes(17 * 1024);
      raw = b.get();
      EXPECT_TRUE(in_slot(raw));
    }
    EXPECT_EQ(spare().dirty, 1u);
    Bytes small = make_bytes(0);  // from malloc, and not null
    EXPECT_NE(small.get(), nullptr);
    EXPECT_FALSE(in_slot(small.get()));
  });
}

}  // namespace
}  // namespace portier::big_blocks
