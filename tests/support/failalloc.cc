// A fault injector for the one failure the tests cannot cause for real at a chosen place:
// memory running out inside nghttp2's callbacks. Loaded into portier with LD_PRELOAD, it makes
// malloc return nullptr for sizes within [FAILALLOC_MIN, FAILALLOC_MAX] once the file named by
// FAILALLOC_ARMED exists (so that start-up allocates freely), and otherwise hands every call
// to glibc's own malloc. Only sizes in the range pay the file test.
#include <sys/stat.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>

extern "C" void* __libc_malloc(std::size_t size);

namespace {

std::size_t fail_min = 0, fail_max = 0;
const char* armed_file = nullptr;

__attribute__((constructor)) void read_settings() {
  const char* lo = std::getenv("FAILALLOC_MIN");
  const char* hi = std::getenv("FAILALLOC_MAX");
  armed_file = std::getenv("FAILALLOC_ARMED");
  if (lo != nullptr && hi != nullptr && armed_file != nullptr) {
    fail_min = std::strtoull(lo, nullptr, 10);
    fail_max = std::strtoull(hi, nullptr, 10);
  }
}

}  // namespace

extern "C" void* malloc(std::size_t size) {
  if (size >= fail_min && size <= fail_max && fail_max != 0) {
    struct stat st;
    if (::stat(armed_file, &st) == 0) {
      errno = ENOMEM;
      return nullptr;
    }
  }
  return __libc_malloc(size);
}
