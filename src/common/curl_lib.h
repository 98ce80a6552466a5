// libcurl, loaded at run time on first use instead of linked.
//
// Only some configurations need an HTTP client: the Docker and Swarm providers, ACME, the jwt
// middleware's JWKS URLs, on-demand TLS's ask URL. Linking libcurl made every process map it
// and the libraries Debian's build pulls in (GnuTLS through OpenLDAP, Kerberos, libssh2,
// RTMP, PSL, IDN2...), about 3.7 MB of resident memory in an idle portier that uses none of
// them (docs/performance.md). These wrappers have libcurl's signatures under shorter names;
// the first call loads libcurl.so.4 (the OpenSSL build portier is compiled against) with
// dlopen. When it cannot be loaded, global_init and every call that returns a CURLcode answer
// CURLE_FAILED_INIT, easy_init answers nullptr, and easy_strerror(CURLE_FAILED_INIT) names the
// file and dlerror()'s reason, so callers report it like any other libcurl failure.
//
// Thread-safe: the library is loaded once (std::call_once); afterwards the calls go straight
// to libcurl's functions through a table of pointers.
#pragma once

#include <curl/curl.h>

#include <type_traits>

namespace portier::curl {

// libcurl's functions portier calls, resolved from the loaded library.
struct Api {
  CURLcode (*global_init)(long flags);
  CURL* (*easy_init)();
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...);
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...);
  CURLcode (*easy_perform)(CURL*);
  void (*easy_cleanup)(CURL*);
  const char* (*easy_strerror)(CURLcode);
  char* (*easy_escape)(CURL*, const char*, int);
  curl_slist* (*slist_append)(curl_slist*, const char*);
  void (*slist_free_all)(curl_slist*);
  void (*free)(void*);
};

// The table, loading libcurl on the first call; nullptr when it cannot be loaded.
const Api* api();

// Why libcurl could not be loaded (trying first if it was not tried yet); "" when it is loaded.
const char* load_error();

// Whether libcurl is mapped into this process (for tests and the memory measurements).
bool loaded();

inline CURLcode global_init(long flags) {
  const Api* a = api();
  return a != nullptr ? a->global_init(flags) : CURLE_FAILED_INIT;
}
inline CURL* easy_init() {
  const Api* a = api();
  return a != nullptr ? a->easy_init() : nullptr;
}
// The value is passed on as libcurl's variadic argument, exactly as curl_easy_setopt would.
template <class T>
CURLcode easy_setopt(CURL* h, CURLoption option, T value) {
  // What curl_easy_setopt's type checks (lost through the pointer) would catch worst: an int
  // where libcurl reads a long, or an object where it reads a pointer.
  static_assert((std::is_integral_v<T> && sizeof(T) == sizeof(long)) ||
                    std::is_same_v<T, curl_off_t> || std::is_pointer_v<T> ||
                    std::is_null_pointer_v<T>,
                "libcurl options take a long, a curl_off_t or a pointer");
  const Api* a = api();
  return a != nullptr ? a->easy_setopt(h, option, value) : CURLE_FAILED_INIT;
}
template <class T>
CURLcode easy_getinfo(CURL* h, CURLINFO info, T* out) {
  const Api* a = api();
  return a != nullptr ? a->easy_getinfo(h, info, out) : CURLE_FAILED_INIT;
}
inline CURLcode easy_perform(CURL* h) {
  const Api* a = api();
  return a != nullptr ? a->easy_perform(h) : CURLE_FAILED_INIT;
}
inline void easy_cleanup(CURL* h) {
  if (const Api* a = api(); a != nullptr) a->easy_cleanup(h);
}
inline const char* easy_strerror(CURLcode code) {
  const Api* a = api();
  return a != nullptr ? a->easy_strerror(code) : load_error();
}
inline char* easy_escape(CURL* h, const char* s, int length) {
  const Api* a = api();
  return a != nullptr ? a->easy_escape(h, s, length) : nullptr;
}
inline curl_slist* slist_append(curl_slist* list, const char* s) {
  const Api* a = api();
  return a != nullptr ? a->slist_append(list, s) : nullptr;
}
inline void slist_free_all(curl_slist* list) {
  if (const Api* a = api(); a != nullptr) a->slist_free_all(list);
}
inline void free(void* p) {
  if (const Api* a = api(); a != nullptr) a->free(p);
}

}  // namespace portier::curl
