// src/common/record_pool.h: records of a size class packed into 32 KiB slabs, reused, empty
// slabs kept (one per class) or given back; an allocator of records for Asio's operations.
#include "common/record_pool.h"

#include <gtest/gtest.h>

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <set>
#include <vector>

#include "common/big_blocks.h"

namespace portier {
namespace {

namespace asio = boost::asio;

std::uintptr_t slab_of(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p) & ~std::uintptr_t{big_blocks::kSlot - 1};
}

TEST(RecordPool, RecordsOfAClassFillOneSlabBeforeTheNext) {
  RecordPool pool;
  const std::size_t per_slab = RecordPool::records_per_slab(400);
  EXPECT_EQ(per_slab, (big_blocks::kSlot - 64) / 416);  // 400 bytes: the 416-byte class
  std::vector<void*> records;
  for (std::size_t i = 0; i < per_slab; ++i) records.push_back(pool.allocate(400));
  EXPECT_EQ(pool.slabs(), 1u);
  EXPECT_EQ(pool.in_use(), per_slab);
  std::set<std::uintptr_t> starts;
  for (void* p : records) {
    EXPECT_EQ(slab_of(p), slab_of(records.front()));
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % RecordPool::kAlign, 0u);
    starts.insert(reinterpret_cast<std::uintptr_t>(p));
  }
  EXPECT_EQ(starts.size(), per_slab);
  // Each record's bytes are its own: fill them all, then check none was overwritten.
  for (std::size_t i = 0; i < records.size(); ++i) std::memset(records[i], int(i & 0xff), 400);
  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto* b = static_cast<const unsigned char*>(records[i]);
    EXPECT_EQ(b[0], i & 0xff);
    EXPECT_EQ(b[399], i & 0xff);
  }
  void* next = pool.allocate(400);  // the slab is full
  EXPECT_EQ(pool.slabs(), 2u);
  EXPECT_NE(slab_of(next), slab_of(records.front()));
  RecordPool::deallocate(next);
  for (void* p : records) RecordPool::deallocate(p);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(RecordPool, AFreedRecordIsTakenAgainBeforeANewOne) {
  RecordPool pool;
  void* a = pool.allocate(200);
  void* b = pool.allocate(200);
  RecordPool::deallocate(a);
  EXPECT_EQ(pool.allocate(200), a);
  void* c = pool.allocate(200);  // from the untouched part, after b
  EXPECT_EQ(reinterpret_cast<char*>(c) - reinterpret_cast<char*>(b), 224);
  for (void* p : {a, b, c}) RecordPool::deallocate(p);
}

TEST(RecordPool, SizeClassesHaveSlabsOfTheirOwn) {
  RecordPool pool;
  void* small = pool.allocate(1);
  void* mid = pool.allocate(256);
  void* large = pool.allocate(RecordPool::kMaxRecord);
  EXPECT_EQ(pool.slabs(), 3u);
  EXPECT_NE(slab_of(small), slab_of(mid));
  EXPECT_NE(slab_of(mid), slab_of(large));
  EXPECT_THROW(pool.allocate(0), std::bad_alloc);
  EXPECT_THROW(pool.allocate(RecordPool::kMaxRecord + 1), std::bad_alloc);
  for (void* p : {small, mid, large}) RecordPool::deallocate(p);
  EXPECT_EQ(pool.slabs(), 3u);  // each class keeps its empty slab
  pool.release_spare();
  EXPECT_EQ(pool.slabs(), 0u);
}

// One empty slab per class is kept for the next records (a new connection per request would
// otherwise make and free a slab each time); a second one emptied goes back at once.
TEST(RecordPool, OneEmptySlabIsKeptTheOthersGoBack) {
  RecordPool pool;
  const std::size_t per_slab = RecordPool::records_per_slab(500);
  std::vector<void*> records;
  for (std::size_t i = 0; i < 3 * per_slab; ++i) records.push_back(pool.allocate(500));
  EXPECT_EQ(pool.slabs(), 3u);
  for (std::size_t i = 0; i < per_slab; ++i) RecordPool::deallocate(records[i]);
  EXPECT_EQ(pool.slabs(), 3u);  // the first slab, empty, is the spare
  for (std::size_t i = per_slab; i < 2 * per_slab; ++i) RecordPool::deallocate(records[i]);
  EXPECT_EQ(pool.slabs(), 2u);  // the second, emptied too, went back
  // A slab with records and room serves the next record, not the spare.
  void* last = records.back();
  RecordPool::deallocate(last);
  records.back() = pool.allocate(500);
  EXPECT_EQ(records.back(), last);
  EXPECT_EQ(pool.slabs(), 2u);
  for (std::size_t i = 2 * per_slab; i < 3 * per_slab; ++i) RecordPool::deallocate(records[i]);
  EXPECT_EQ(pool.slabs(), 1u);
  EXPECT_EQ(pool.in_use(), 0u);
  // With no slab holding records, the spare serves.
  void* again = pool.allocate(500);
  EXPECT_EQ(pool.slabs(), 1u);
  RecordPool::deallocate(again);
}

// A full slab that gets a record back serves the next one again.
TEST(RecordPool, AFullSlabWithARecordBackServesAgain) {
  RecordPool pool;
  const std::size_t per_slab = RecordPool::records_per_slab(1000);
  std::vector<void*> records;
  for (std::size_t i = 0; i < per_slab; ++i) records.push_back(pool.allocate(1000));
  void* other = pool.allocate(1000);  // a second slab
  RecordPool::deallocate(records[5]);
  void* back = pool.allocate(1000);
  EXPECT_EQ(back, records[5]);
  records[5] = back;
  records.push_back(other);
  for (void* p : records) RecordPool::deallocate(p);
  EXPECT_EQ(pool.in_use(), 0u);
  EXPECT_EQ(pool.slabs(), 1u);
}

struct Counted {
  static inline int alive = 0;
  explicit Counted(int v) : value(v) { ++alive; }
  ~Counted() { --alive; }
  int value;
  char pad[300];
};

TEST(RecordPool, MakeRecordConstructsAndTheDeleterDestroys) {
  RecordPool pool;
  {
    RecordPtr<Counted> a = make_record<Counted>(pool, 7);
    EXPECT_EQ(a->value, 7);
    EXPECT_EQ(Counted::alive, 1);
    EXPECT_EQ(pool.in_use(), 1u);
  }
  EXPECT_EQ(Counted::alive, 0);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(RecordPool, TheAllocatorTakesRecordsUpToTheLargestSize) {
  RecordPool pool;
  RecordAllocator<char> chars(pool);
  char* small = chars.allocate(RecordPool::kMaxRecord);
  EXPECT_EQ(pool.in_use(), 1u);
  char* large = chars.allocate(RecordPool::kMaxRecord + 1);  // from operator new
  EXPECT_EQ(pool.in_use(), 1u);
  RecordAllocator<std::uint64_t> words(chars);  // rebound: the same pool
  EXPECT_TRUE(words == chars);
  std::uint64_t* w = words.allocate(4);
  EXPECT_EQ(pool.in_use(), 2u);
  words.deallocate(w, 4);
  chars.deallocate(large, RecordPool::kMaxRecord + 1);
  chars.deallocate(small, RecordPool::kMaxRecord);
  EXPECT_EQ(pool.in_use(), 0u);
}

// As a parked connection's wait (entrypoints/session.cc): the operation's memory is a record,
// its handler owns another record of the same pool. It completes, or the io_context is
// destroyed with it pending (the handler, destroyed then, frees its record after the
// operation's memory went back).
TEST(RecordPool, AsiosOperationsTakeRecordsThroughTheAllocator) {
  RecordPool pool;
  std::optional<asio::io_context> io(std::in_place);
  int ran = 0;
  asio::steady_timer soon(*io, std::chrono::milliseconds(1));
  auto owned = make_record<Counted>(pool, 1);
  soon.async_wait(asio::bind_allocator(
      RecordAllocator<void>(pool),
      [&ran, owned = std::move(owned)](const boost::system::error_code& ec) { ran += !ec; }));
  EXPECT_EQ(pool.in_use(), 2u);  // the handler's record and the operation
  io->run();
  EXPECT_EQ(ran, 1);
  EXPECT_EQ(pool.in_use(), 0u);
  EXPECT_EQ(Counted::alive, 0);

  io->restart();
  {
    asio::steady_timer never(*io, std::chrono::hours(1));
    never.async_wait(asio::bind_allocator(
        RecordAllocator<void>(pool),
        [&ran, owned = make_record<Counted>(pool, 2)](const boost::system::error_code&) {
          ++ran;
        }));
    EXPECT_EQ(pool.in_use(), 2u);
    io->poll();
    EXPECT_EQ(pool.in_use(), 2u);  // pending
    io->stop();
  }  // the timer's destruction cancels: the handler is queued, not run (the io_context stopped)
  io.reset();
  EXPECT_EQ(ran, 1);
  EXPECT_EQ(pool.in_use(), 0u);
  EXPECT_EQ(Counted::alive, 0);
}

}  // namespace
}  // namespace portier
