// src/common/asio_recycling.h: Asio's coroutine frames and posted functions come from per-thread
// lists by size class. Each test runs in a thread of its own, whose lists start empty.
#include <gtest/gtest.h>
#include <malloc.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdint>
#include <optional>
#include <thread>
#include <vector>

#include "common/sanitizers.h"

namespace portier::recycling {
namespace {

namespace asio = boost::asio;

template <typename F>
void in_new_thread(F f) {
  std::thread t(f);
  t.join();
}

std::size_t kept_blocks() {
  std::size_t n = 0;
  for (std::size_t k = 0; k < kClasses; ++k) n += cache.count[k];
  return n;
}

TEST(AsioRecycling, AFreedBlockServesTheNextRequestOfItsClass) {
  in_new_thread([] {
    void* p = allocate(1000, 16);
    deallocate(p, 1000);
    EXPECT_EQ(cache.count[7], 1u);  // 1000 bytes: the 1024-byte class
    void* q = allocate(900, 16);    // the same class
    EXPECT_EQ(p, q);
    EXPECT_EQ(cache.count[7], 0u);
    void* r = allocate(1025, 16);  // the next class: a new block
    EXPECT_NE(r, p);
    deallocate(q, 900);
    deallocate(r, 1025);
    EXPECT_EQ(kept_blocks(), 2u);
    EXPECT_EQ(cache.bytes, 1024u + 1152u);
  });
}

// An over-aligned block is made with its class's whole size too, since once freed it serves
// any request of its class.
TEST(AsioRecycling, AnOverAlignedBlockServesItsWholeClass) {
  in_new_thread([] {
    void* p = allocate(130, 64);  // the 256-byte class
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 64, 0u);
    deallocate(p, 130);
    void* q = allocate(250, 16);
    EXPECT_EQ(p, q);
    EXPECT_GE(malloc_usable_size(q), 256u);
    deallocate(q, 250);
  });
}

TEST(AsioRecycling, KeepsNoMoreThanItsLimits) {
  in_new_thread([] {
    std::vector<void*> blocks;
    for (int i = 0; i < 300; ++i) blocks.push_back(allocate(200, 16));
    for (void* p : blocks) deallocate(p, 200);
    ASSERT_GT(cache.max_count, 0u);
    ASSERT_LT(cache.max_count, 300u);
    EXPECT_EQ(cache.count[1], cache.max_count);
    void* big = allocate(kClasses * kGrain + 1, 16);  // past the largest class
    deallocate(big, kClasses * kGrain + 1);
    EXPECT_EQ(kept_blocks(), cache.max_count);
    blocks.clear();
    for (int i = 0; i < 200; ++i) blocks.push_back(allocate(8000, 16));
    for (void* p : blocks) deallocate(p, 8000);
    EXPECT_LE(cache.bytes, cache.max_bytes);
    EXPECT_GT(cache.bytes, cache.max_bytes - 8192);
  });
}

asio::awaitable<int> leaf(int i) {
  co_await asio::post(asio::use_awaitable);
  co_return i;
}
asio::awaitable<void> chain(int& sum) {
  for (int i = 0; i < 10; ++i) sum += co_await leaf(i);
}

// The force-included header is in effect: coroutine frames and posted functions go through
// these lists (Asio's own cache would leave them empty).
TEST(AsioRecycling, CoroutineFramesComeFromTheLists) {
  in_new_thread([] {
    asio::io_context io;
    int sum = 0;
    asio::co_spawn(io, chain(sum), asio::detached);
    io.run();
    EXPECT_EQ(sum, 45);
    EXPECT_GT(kept_blocks(), 0u);
  });
}

// The reactor's socket states come from allocate_socket_state (asio_recycling.h): the
// specializations of object_pool_access are the ones Asio's code uses. A closed socket's state
// stays with its reactor for the next socket; the reactor's end frees them.
TEST(AsioRecycling, SocketStatesComeFromTheirOwnPages) {
#if PORTIER_ASAN
  GTEST_SKIP() << "from malloc under AddressSanitizer";
#endif
  const std::size_t before = socket_states_in_use();
  std::optional<asio::io_context> io(std::in_place);
  std::vector<asio::ip::tcp::socket> sockets;
  for (int i = 0; i < 3; ++i) {
    sockets.emplace_back(*io);
    sockets.back().open(asio::ip::tcp::v4());
  }
  EXPECT_EQ(socket_states_in_use(), before + 3);
  sockets.clear();  // closed: their states wait in the reactor's pool
  EXPECT_EQ(socket_states_in_use(), before + 3);
  {
    asio::ip::tcp::socket again(*io);
    again.open(asio::ip::tcp::v4());  // takes one of them
    EXPECT_EQ(socket_states_in_use(), before + 3);
  }
  io.reset();
  EXPECT_EQ(socket_states_in_use(), before);
}

}  // namespace
}  // namespace portier::recycling
