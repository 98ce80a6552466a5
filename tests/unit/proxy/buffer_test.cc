// proxy::Buffer: a fixed buffer holds its capacity from the start; a growing one starts small,
// grows for a full buffer (grow()) and after a read that filled its room (to its capacity at
// once), keeps the block before a growth readable until clear(), and shrink() gives a large
// block back.
#include "proxy/buffer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace portier::proxy {
namespace {

// Simulates a read of `bytes` into the room prepare() offers; returns what fitted.
std::size_t read_into(Buffer& b, std::string_view bytes) {
  auto room = b.prepare();
  const std::size_t n = std::min(room.size(), bytes.size());
  std::memcpy(room.data(), bytes.data(), n);
  b.commit(n);
  return n;
}

TEST(Buffer, AFixedBufferHoldsItsCapacityAndNeverGrows) {
  Buffer b(64);
  EXPECT_EQ(b.allocated(), 64u);
  EXPECT_EQ(read_into(b, std::string(100, 'a')), 64u);
  EXPECT_TRUE(b.full());
  EXPECT_FALSE(b.grow());
  EXPECT_EQ(b.prepare().size(), 0u);  // a filled read does not grow it either
  b.consume(10);
  EXPECT_EQ(b.prepare().size(), 10u);  // unread bytes moved to the front
  EXPECT_EQ(b.readable(), std::string(54, 'a'));
}

TEST(Buffer, AGrowingBufferAllocatesAtFirstUseAndGrowsWhenFull) {
  Buffer b(64, 8);
  EXPECT_EQ(b.allocated(), 0u);
  EXPECT_FALSE(b.full());
  EXPECT_EQ(read_into(b, "abcd"), 4u);  // a short read: no growth
  EXPECT_EQ(b.allocated(), 8u);
  EXPECT_EQ(read_into(b, "efgh"), 4u);  // fills the room that was left
  EXPECT_TRUE(b.full());
  ASSERT_TRUE(b.grow());  // a head that does not fit yet: doubled, bytes kept
  EXPECT_EQ(b.allocated(), 16u);
  EXPECT_EQ(b.readable(), "abcdefgh");
  EXPECT_EQ(read_into(b, "ijkl"), 4u);
  EXPECT_EQ(b.readable(), "abcdefghijkl");
  for (int i = 0; i < 8 && b.allocated() < 64; ++i) {
    read_into(b, std::string(64, 'x'));
    if (b.full()) {
      ASSERT_TRUE(b.grow());
    }
  }
  read_into(b, std::string(64, 'x'));
  EXPECT_EQ(b.allocated(), 64u);
  EXPECT_TRUE(b.full());
  EXPECT_FALSE(b.grow());  // at its capacity: the caller's "head too large"
  EXPECT_EQ(b.readable().substr(0, 12), "abcdefghijkl");
  EXPECT_EQ(b.size(), 64u);
}

TEST(Buffer, AReadThatFillsTheRoomGrowsToTheCapacityAtOnce) {
  Buffer b(1024, 16);
  EXPECT_EQ(read_into(b, std::string(16, 'h')), 16u);  // a head and more to come
  b.consume(10);
  const std::string_view consumed_view(b.readable().data() - 10, 10);
  auto room = b.prepare();  // a large body: the next read gets the whole capacity
  EXPECT_EQ(b.allocated(), 1024u);
  EXPECT_EQ(room.size(), 1024u - 6);
  EXPECT_EQ(b.readable(), std::string(6, 'h'));
  // The block before stays allocated and unchanged: views into consumed bytes (a parsed head's
  // fields) still read what they read (ASan would report a use after free otherwise).
  EXPECT_EQ(consumed_view, std::string(10, 'h'));
  b.commit(0);
  b.clear();
  EXPECT_EQ(b.allocated(), 1024u);
}

TEST(Buffer, ShrinkGivesALargeBlockBackWhenEmpty) {
  Buffer b(1024, 16);
  read_into(b, std::string(16, 'a'));
  b.prepare();
  ASSERT_EQ(b.allocated(), 1024u);
  b.shrink();  // not empty: kept
  EXPECT_EQ(b.allocated(), 1024u);
  b.consume(b.size());
  b.shrink();
  EXPECT_EQ(b.allocated(), 0u);
  EXPECT_EQ(read_into(b, "xy"), 2u);
  EXPECT_EQ(b.allocated(), 16u);  // starts small again
  b.consume(2);
  b.shrink();
  EXPECT_EQ(b.allocated(), 16u);  // its initial block is kept
  Buffer fixed(32);
  fixed.shrink();
  EXPECT_EQ(fixed.allocated(), 32u);
}

TEST(Buffer, ReleaseFreesAnEmptyBufferFixedOrGrowing) {
  Buffer fixed(64);
  read_into(fixed, "abc");
  fixed.release();  // not empty: kept
  EXPECT_EQ(fixed.allocated(), 64u);
  EXPECT_EQ(fixed.readable(), "abc");
  fixed.consume(3);
  fixed.release();
  EXPECT_EQ(fixed.allocated(), 0u);
  EXPECT_EQ(read_into(fixed, "de"), 2u);  // made again, whole
  EXPECT_EQ(fixed.allocated(), 64u);
  EXPECT_EQ(fixed.readable(), "de");
  Buffer growing(256, 16);
  read_into(growing, "x");
  growing.consume(1);
  growing.release();
  EXPECT_EQ(growing.allocated(), 0u);
  EXPECT_EQ(growing.prepare().size(), 16u);
}

TEST(Buffer, ReserveCapacityMakesTheWholeRoomAtOnce) {
  Buffer b(256, 16);
  b.reserve_capacity();
  EXPECT_EQ(b.prepare().size(), 256u);
  EXPECT_EQ(read_into(b, std::string(200, 's')), 200u);
  EXPECT_EQ(b.readable(), std::string(200, 's'));
}

}  // namespace
}  // namespace portier::proxy
