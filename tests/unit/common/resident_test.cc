#include "common/resident.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "support/process.h"

namespace portier::resident {
namespace {

using portier::test::TempDir;

// Rss in kB of this process's mappings with these permissions: of `path` when given, else of
// the one starting at `start`.
long rss_kb(const std::string& perms, const std::string& path, const void* start = nullptr) {
  char want[32] = {};
  if (start != nullptr) {
    std::snprintf(want, sizeof want, "%lx-", reinterpret_cast<unsigned long>(start));
  }
  std::ifstream in("/proc/self/smaps");
  long total = -1;
  bool in_it = false;
  for (std::string line; std::getline(in, line);) {
    const bool header = line.find('-') < line.find(' ') && line.find(':') > line.find(' ');
    if (header) {
      in_it = line.find(" " + perms + " ") != std::string::npos &&
              (start != nullptr ? line.rfind(want, 0) == 0
                                : line.size() >= path.size() &&
                                      line.compare(line.size() - path.size(), path.size(),
                                                   path) == 0);
    } else if (in_it && line.rfind("Rss:", 0) == 0) {
      total = std::max(total, 0L) + std::stol(line.substr(4));
    }
  }
  return total;
}

const std::string& self_path() {
  static const std::string p = std::filesystem::canonical("/proc/self/exe").string();
  return p;
}

// Initialised in the file, then written: a writable segment (volatile: really read back).
volatile int g_written = 7;
// A pointer the loader relocates (volatile puts it in .data; a plain const one would be in
// RELRO, read-only once loaded): its bytes are the process's own, in a writable segment.
const char* const volatile g_relocated = "relocated";

TEST(Resident, LoadedCodeIsUnmappedAndRunsOn) {
  const long before = rss_kb("r-xp", self_path());
  ASSERT_GT(before, 256) << "this test binary's code should be resident after start";
  const Released r = release_loaded_code_pages();
  EXPECT_GE(r.segments, 2u);  // at least this program's and libc's code
  EXPECT_GT(r.bytes, 0u);
  const long after = rss_kb("r-xp", self_path());
  EXPECT_LT(after, before / 2) << "before " << before << " kB";
  // Code keeps running: it is mapped back from the file as it is used.
  EXPECT_EQ(std::string(g_relocated), "relocated");
  EXPECT_GT(rss_kb("r-xp", self_path()), 0);
}

TEST(Resident, WritableAndRelocatedDataKeepTheirBytes) {
  g_written = 42;
  release_loaded_code_pages();
  EXPECT_EQ(g_written, 42);               // not the file's 7
  EXPECT_STREQ(g_relocated, "relocated");  // the relocated pointer still points right
}

TEST(Resident, OtherFileMappingsAreLeftAlone) {
  TempDir dir;
  constexpr std::size_t kSize = 1 << 20;
  auto path = dir.write("data.bin", std::string(kSize, 'd'));
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  auto* p = static_cast<const char*>(::mmap(nullptr, kSize, PROT_READ, MAP_PRIVATE, fd, 0));
  ASSERT_NE(p, MAP_FAILED);
  const volatile char* v = p;
  for (std::size_t i = 0; i < kSize; i += 4096) (void)v[i];
  const long before = rss_kb("r--p", "", p);
  ASSERT_EQ(before, static_cast<long>(kSize / 1024));
  release_loaded_code_pages();
  EXPECT_EQ(rss_kb("r--p", "", p), before);  // not a loaded object's segment
  ::munmap(const_cast<char*>(p), kSize);
  ::close(fd);
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
