#include "common/resident.h"

#include <sys/mman.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string_view>

namespace portier::resident {

namespace {

struct Mapping {
  unsigned long start = 0, end = 0;
  bool eligible = false;  // private, not writable, a file
  std::size_t rss_kb = 0;
  std::size_t anonymous_kb = 0;
  bool locked = false;
};

// "Rss:   1234 kB" -> 1234.
std::size_t kb_field(std::string_view line) {
  std::size_t v = 0;
  for (char c : line) {
    if (c >= '0' && c <= '9') v = v * 10 + static_cast<std::size_t>(c - '0');
  }
  return v;
}

void release(const Mapping& m, Released& out) {
  // Anonymous pages are the mapping's own copies of written pages: unmapping them would turn
  // them back into the file's bytes. Locked pages cannot be unmapped.
  if (!m.eligible || m.anonymous_kb != 0 || m.rss_kb == 0 || m.locked) return;
  if (::madvise(reinterpret_cast<void*>(m.start), m.end - m.start, MADV_DONTNEED) == 0) {
    ++out.mappings;
    out.bytes += m.rss_kb * 1024;
  }
}

}  // namespace

Released release_clean_file_pages(const std::string& smaps) {
  Released out;
  std::ifstream in(smaps);
  if (!in) return out;
  Mapping cur;
  bool have = false;
  for (std::string line; std::getline(in, line);) {
    unsigned long start = 0, end = 0;
    char perms[5] = {};
    int path_at = 0;
    // A mapping's first line: "start-end perms offset dev inode   path".
    if (std::sscanf(line.c_str(), "%lx-%lx %4s %*x %*s %*u %n", &start, &end, perms, &path_at) ==
            3 &&
        path_at > 0) {
      if (have) release(cur, out);
      cur = Mapping{};
      have = true;
      cur.start = start;
      cur.end = end;
      const std::string_view path = std::string_view(line).substr(static_cast<std::size_t>(path_at));
      // "/..." is a file; "[heap]", "[stack]", "[vdso]" and anonymous mappings are not.
      cur.eligible = perms[1] != 'w' && perms[3] == 'p' && !path.empty() && path[0] == '/';
      continue;
    }
    if (!have) continue;
    if (line.rfind("Rss:", 0) == 0) {
      cur.rss_kb = kb_field(line);
    } else if (line.rfind("Anonymous:", 0) == 0) {
      cur.anonymous_kb = kb_field(line);
    } else if (line.rfind("VmFlags:", 0) == 0) {
      cur.locked = line.find(" lo") != std::string::npos;
    }
  }
  if (have) release(cur, out);
  return out;
}

std::size_t resident_bytes() {
  std::ifstream in("/proc/self/smaps_rollup");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("Rss:", 0) == 0) return kb_field(line) * 1024;
  }
  return 0;
}

}  // namespace portier::resident
