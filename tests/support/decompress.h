// Decoders for the compress tests: zlib, brotli and zstd's own, independent of portier's encoders.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace portier::test {

// The decoded bytes of a whole body in `encoding` ("gzip", "br", "zstd"), or nullopt when it is
// not a complete, valid stream. `partial`: a stream cut after a flush is fine (only the bytes
// so far are returned).
std::optional<std::string> decompress(std::string_view encoding, std::string_view data,
                                      bool partial = false);

}  // namespace portier::test
