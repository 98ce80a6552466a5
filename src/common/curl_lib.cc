#include "common/curl_lib.h"

#include <dlfcn.h>

#include <atomic>
#include <mutex>
#include <string>

namespace portier::curl {
namespace {

// The soname of the libcurl the headers came from (libcurl4-openssl-dev on Debian).
constexpr const char* kLibrary = "libcurl.so.4";

Api g_api{};
std::string g_error;
std::atomic<bool> g_loaded{false};

template <class F>
bool resolve(void* lib, const char* name, F& out) {
  out = reinterpret_cast<F>(dlsym(lib, name));
  if (out == nullptr) g_error = std::string(kLibrary) + ": no symbol " + name;
  return out != nullptr;
}

void load() {
  void* lib = dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* why = dlerror();
    g_error = std::string("libcurl could not be loaded: ") + (why != nullptr ? why : kLibrary);
    return;
  }
  Api a{};
  const bool ok = resolve(lib, "curl_global_init", a.global_init) &&
                  resolve(lib, "curl_easy_init", a.easy_init) &&
                  resolve(lib, "curl_easy_setopt", a.easy_setopt) &&
                  resolve(lib, "curl_easy_getinfo", a.easy_getinfo) &&
                  resolve(lib, "curl_easy_perform", a.easy_perform) &&
                  resolve(lib, "curl_easy_cleanup", a.easy_cleanup) &&
                  resolve(lib, "curl_easy_strerror", a.easy_strerror) &&
                  resolve(lib, "curl_easy_escape", a.easy_escape) &&
                  resolve(lib, "curl_slist_append", a.slist_append) &&
                  resolve(lib, "curl_slist_free_all", a.slist_free_all) &&
                  resolve(lib, "curl_free", a.free);
  if (!ok) {
    dlclose(lib);
    return;
  }
  g_api = a;  // the library stays loaded for the life of the process
  g_loaded.store(true, std::memory_order_release);
}

std::once_flag g_once;

}  // namespace

const Api* api() {
  if (!g_loaded.load(std::memory_order_acquire)) std::call_once(g_once, load);
  return g_loaded.load(std::memory_order_acquire) ? &g_api : nullptr;
}

const char* load_error() {
  api();
  return g_error.c_str();
}

bool loaded() { return g_loaded.load(std::memory_order_acquire); }

}  // namespace portier::curl
