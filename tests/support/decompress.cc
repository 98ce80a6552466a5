#include "support/decompress.h"

#include <brotli/decode.h>
#include <zlib.h>
#include <zstd.h>

namespace portier::test {
namespace {

std::optional<std::string> gunzip(std::string_view data, bool partial) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) return std::nullopt;
  std::string out;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  int rc = Z_OK;
  while (rc == Z_OK) {
    char buf[16384];
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_SYNC_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
    if (rc == Z_BUF_ERROR && z.avail_in == 0) break;
  }
  inflateEnd(&z);
  if (rc == Z_STREAM_END && z.avail_in == 0) return out;
  if (partial && (rc == Z_OK || rc == Z_BUF_ERROR)) return out;
  return std::nullopt;
}

std::optional<std::string> unbrotli(std::string_view data, bool partial) {
  BrotliDecoderState* s = BrotliDecoderCreateInstance(nullptr, nullptr, nullptr);
  std::string out;
  std::size_t avail_in = data.size();
  const auto* next_in = reinterpret_cast<const std::uint8_t*>(data.data());
  BrotliDecoderResult r;
  std::size_t avail_out;
  do {
    std::uint8_t buf[16384];
    avail_out = sizeof buf;
    std::uint8_t* next_out = buf;
    r = BrotliDecoderDecompressStream(s, &avail_in, &next_in, &avail_out, &next_out, nullptr);
    out.append(reinterpret_cast<char*>(buf), sizeof buf - avail_out);
    // A full buffer may hold back output even when the decoder asks for input.
  } while (r == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT ||
           (r == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT && avail_out == 0));
  BrotliDecoderDestroyInstance(s);
  if (r == BROTLI_DECODER_RESULT_SUCCESS && avail_in == 0) return out;
  if (partial && r == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT) return out;
  return std::nullopt;
}

std::optional<std::string> unzstd(std::string_view data, bool partial) {
  ZSTD_DCtx* d = ZSTD_createDCtx();
  std::string out;
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  std::size_t rc = 0;
  for (;;) {
    char buf[16384];
    ZSTD_outBuffer o{buf, sizeof buf, 0};
    rc = ZSTD_decompressStream(d, &o, &in);
    out.append(buf, o.pos);
    if (ZSTD_isError(rc)) break;
    if (in.pos == in.size && o.pos < sizeof buf) break;
  }
  ZSTD_freeDCtx(d);
  if (ZSTD_isError(rc)) return std::nullopt;
  if (rc == 0 || partial) return out;
  return std::nullopt;
}

}  // namespace

std::optional<std::string> decompress(std::string_view encoding, std::string_view data,
                                      bool partial) {
  if (encoding == "gzip") return gunzip(data, partial);
  if (encoding == "br") return unbrotli(data, partial);
  if (encoding == "zstd") return unzstd(data, partial);
  return std::nullopt;
}

}  // namespace portier::test
