#include "common/resident.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "support/process.h"

namespace portier::resident {
namespace {

using portier::test::TempDir;

constexpr std::size_t kSize = 4 << 20;
constexpr std::size_t kPage = 4096;

char pattern(std::size_t i) { return static_cast<char>('a' + i % 23); }

// A file of kSize bytes, opened read-only.
int make_file(const TempDir& dir, const std::string& name) {
  std::string data(kSize, '\0');
  for (std::size_t i = 0; i < kSize; ++i) data[i] = pattern(i);
  auto path = dir.write(name, data);
  return ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
}

// The Rss of the mapping that starts at `p`, in kB (-1 if not found).
long rss_kb(const void* p) {
  char want[32];
  std::snprintf(want, sizeof want, "%lx-", reinterpret_cast<unsigned long>(p));
  std::ifstream in("/proc/self/smaps");
  bool in_it = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(want, 0) == 0) {
      in_it = true;
    } else if (in_it && line.rfind("Rss:", 0) == 0) {
      return std::stol(line.substr(4));
    }
  }
  return -1;
}

// Reads a byte of every page (volatile: the reads must happen).
void touch(const char* p) {
  const volatile char* v = p;
  for (std::size_t i = 0; i < kSize; i += kPage) (void)v[i];
}

TEST(Resident, ReadOnlyFilePagesAreUnmappedAndComeBackFromTheFile) {
  TempDir dir;
  int fd = make_file(dir, "ro.bin");
  ASSERT_GE(fd, 0);
  auto* p = static_cast<const char*>(::mmap(nullptr, kSize, PROT_READ, MAP_PRIVATE, fd, 0));
  ASSERT_NE(p, MAP_FAILED);
  touch(p);
  ASSERT_EQ(rss_kb(p), static_cast<long>(kSize / 1024));

  const Released r = release_clean_file_pages();
  EXPECT_GE(r.bytes, kSize);
  EXPECT_GE(r.mappings, 1u);
  EXPECT_EQ(rss_kb(p), 0);
  for (std::size_t i = 0; i < kSize; i += 997) ASSERT_EQ(p[i], pattern(i)) << i;
  EXPECT_GT(rss_kb(p), 0);  // read back in
  ::munmap(const_cast<char*>(p), kSize);
  ::close(fd);
}

TEST(Resident, WrittenPagesStayAsWritten) {
  TempDir dir;
  int fd = make_file(dir, "rw.bin");
  ASSERT_GE(fd, 0);
  // Written, then made read-only, as the dynamic loader does with relocated data (RELRO).
  auto* relro = static_cast<char*>(
      ::mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0));
  // Still writable.
  auto* data = static_cast<char*>(
      ::mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0));
  ASSERT_NE(relro, MAP_FAILED);
  ASSERT_NE(data, MAP_FAILED);
  relro[0] = 'X';  // one page copied, the others the file's
  touch(relro);
  ASSERT_EQ(::mprotect(relro, kSize, PROT_READ), 0);
  for (std::size_t i = 0; i < kSize; i += kPage) data[i] = 'Y';
  const long relro_before = rss_kb(relro), data_before = rss_kb(data);

  release_clean_file_pages();
  EXPECT_EQ(relro[0], 'X');
  EXPECT_EQ(relro[kPage], pattern(kPage));
  for (std::size_t i = 0; i < kSize; i += kPage) ASSERT_EQ(data[i], 'Y') << i;
  EXPECT_EQ(rss_kb(relro), relro_before);
  EXPECT_EQ(rss_kb(data), data_before);
  ::munmap(relro, kSize);
  ::munmap(data, kSize);
  ::close(fd);
}

TEST(Resident, UnreadableSmapsReleasesNothing) {
  const Released r = release_clean_file_pages("/nonexistent/smaps");
  EXPECT_EQ(r.mappings, 0u);
  EXPECT_EQ(r.bytes, 0u);
}

TEST(Resident, ResidentBytesIsThisProcesssRss) {
  const std::size_t before = resident_bytes();
  ASSERT_GT(before, 0u);
  std::string big(16 << 20, 'z');  // 16 MiB written: resident
  EXPECT_GE(resident_bytes(), before + (15u << 20));
  EXPECT_EQ(big[12345], 'z');
}

}  // namespace
}  // namespace portier::resident
