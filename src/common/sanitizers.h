// Whether this build has AddressSanitizer (tools/fuzz.sh builds with it). Memory that portier
// lays out itself (common/big_blocks.h, the socket states of common/asio_recycling.h) then
// comes from malloc, so that AddressSanitizer knows every block's bounds.
#pragma once

#if defined(__SANITIZE_ADDRESS__)  // GCC
#define PORTIER_ASAN 1
#elif defined(__has_feature)  // Clang
#if __has_feature(address_sanitizer)
#define PORTIER_ASAN 1
#endif
#endif
#ifndef PORTIER_ASAN
#define PORTIER_ASAN 0
#endif
