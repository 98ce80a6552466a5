// Streaming compressors for the compress middleware: gzip (zlib), br (brotli) and zstd, each a
// BodyTransform for one response. Memory per response is bounded by the settings below (deflate
// ~256 KiB, brotli quality 5 with a 512 KiB window, zstd level 3 with at most a 512 KiB window),
// whatever the body's size. zlib and zstd contexts are reused per thread (each worker is a
// thread), so a compressed response does not pay for their setup.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/pipeline/stream.h"

namespace portier::proxy::mw {

enum class Encoding { Gzip, Brotli, Zstd };

// "gzip", "br", "zstd".
std::string_view encoding_name(Encoding e);
std::optional<Encoding> parse_encoding(std::string_view name);

// A compressor for one response body. `size_hint`: its length when known (0: unknown); it only
// tunes the window, a wrong hint does no harm.
std::unique_ptr<BodyTransform> make_encoder(Encoding e, std::uint64_t size_hint);

// The encoding for a request's Accept-Encoding values (every field of that name), as Traefik
// chooses it: no field: `default_encoding` (or none); an empty field, identity, q=0 or nothing
// acceptable: none (nullopt); else the highest q-value, ties going to the earlier of
// `encodings`, and `*` meaning `default_encoding` or else the first of `encodings`.
std::optional<Encoding> choose_encoding(const std::vector<std::string_view>& accept,
                                        const std::vector<Encoding>& encodings,
                                        std::optional<Encoding> default_encoding);

// A media type from a configuration (`text/html; charset=utf-8`): the type in lower case and
// its parameters. Matches a response's Content-Type with the same type and at least these
// parameters (values compared without case).
struct MediaType {
  std::string type;
  std::vector<std::pair<std::string, std::string>> params;
  bool matches(std::string_view content_type) const;
};
// nullopt when `s` is not `type/subtype` with `; name=value` parameters.
std::optional<MediaType> parse_media_type(std::string_view s);

}  // namespace portier::proxy::mw
