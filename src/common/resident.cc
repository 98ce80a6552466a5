#include "common/resident.h"

#include <elf.h>
#include <link.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>

namespace portier::resident {

namespace {

// DT_TEXTREL, or DF_TEXTREL in DT_FLAGS: loading wrote relocations into this object's
// "read-only" segments, whose pages are then the process's own copies, not the file's.
bool has_text_relocations(const dl_phdr_info& info) {
  for (int i = 0; i < info.dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info.dlpi_phdr[i];
    if (ph.p_type != PT_DYNAMIC) continue;
    for (auto* d = reinterpret_cast<const ElfW(Dyn)*>(info.dlpi_addr + ph.p_vaddr);
         d->d_tag != DT_NULL; ++d) {
      if (d->d_tag == DT_TEXTREL) return true;
      if (d->d_tag == DT_FLAGS && (d->d_un.d_val & DF_TEXTREL) != 0) return true;
    }
  }
  return false;
}

int release_object(dl_phdr_info* info, std::size_t, void* data) {
  auto& out = *static_cast<Released*>(data);
  // The vDSO is the kernel's, not a file's.
  if (info->dlpi_name != nullptr && std::strstr(info->dlpi_name, "linux-vdso") != nullptr) {
    return 0;
  }
  if (has_text_relocations(*info)) return 0;
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || (ph.p_flags & PF_W) != 0) continue;
    // Whole pages inside the segment only: a page it shares with a writable neighbour belongs
    // to that neighbour's mapping.
    const std::uintptr_t begin = info->dlpi_addr + ph.p_vaddr;
    const std::uintptr_t first = (begin + page - 1) & ~(page - 1);
    const std::uintptr_t last = (begin + ph.p_memsz) & ~(page - 1);
    if (last <= first) continue;
    if (::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED) == 0) {
      ++out.segments;
      out.bytes += last - first;
    }
  }
  return 0;
}

}  // namespace

Released release_loaded_code_pages() {
  Released out;
  ::dl_iterate_phdr(release_object, &out);
  return out;
}

std::size_t resident_bytes() {
  std::ifstream in("/proc/self/smaps_rollup");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("Rss:", 0) == 0) {
      std::size_t kb = 0;
      for (char c : line) {
        if (c >= '0' && c <= '9') kb = kb * 10 + static_cast<std::size_t>(c - '0');
      }
      return kb * 1024;
    }
  }
  return 0;
}

}  // namespace portier::resident
