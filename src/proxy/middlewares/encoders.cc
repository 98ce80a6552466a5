#include "proxy/middlewares/encoders.h"

#include <brotli/encode.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cctype>
#include <vector>

#include "common/ascii.h"
#include "proxy/http/parser.h"

namespace portier::proxy::mw {
namespace {

using Mode = BodyTransform::Mode;

// Output is produced in steps of this size (the string grows, never more than the output).
constexpr std::size_t kStep = 16 * 1024;
// Contexts kept per thread for reuse; more concurrent responses than that allocate their own.
constexpr std::size_t kPoolSize = 16;
// zlib's default level: Traefik's gzip (klauspost gzhttp) is close to it.
constexpr int kGzipLevel = 6;
constexpr int kBrotliQuality = 5;
constexpr int kBrotliWindow = 19;
constexpr int kZstdLevel = 3;
constexpr int kZstdWindowLog = 19;

template <typename T>
struct Pool {
  std::vector<T*> free;
  void (*destroy)(T*);
  explicit Pool(void (*d)(T*)) : destroy(d) {}
  ~Pool() {
    for (T* p : free) destroy(p);
  }
  T* take() {
    if (free.empty()) return nullptr;
    T* p = free.back();
    free.pop_back();
    return p;
  }
  void give(T* p) {
    if (free.size() < kPoolSize) {
      free.push_back(p);
    } else {
      destroy(p);
    }
  }
};

void destroy_zstream(z_stream* z) {
  deflateEnd(z);
  delete z;
}

thread_local Pool<z_stream> gzip_pool(destroy_zstream);
thread_local Pool<ZSTD_CCtx> zstd_pool([](ZSTD_CCtx* c) { ZSTD_freeCCtx(c); });

class GzipEncoder final : public BodyTransform {
 public:
  explicit GzipEncoder(z_stream* z) : z_(z) {}
  ~GzipEncoder() override {
    if (deflateReset(z_) == Z_OK) {
      gzip_pool.give(z_);
    } else {
      destroy_zstream(z_);
    }
  }
  static std::unique_ptr<BodyTransform> make() {
    z_stream* z = gzip_pool.take();
    if (z == nullptr) {
      z = new z_stream{};
      // windowBits 15 + 16: a gzip wrapper; memLevel 8 (zlib's default).
      if (deflateInit2(z, kGzipLevel, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        delete z;
        return nullptr;
      }
    }
    return std::make_unique<GzipEncoder>(z);
  }
  bool write(std::string_view in, Mode mode, std::string& out) override {
    if (finished_) return in.empty();
    const int flush = mode == Mode::Write   ? Z_NO_FLUSH
                      : mode == Mode::Flush ? Z_SYNC_FLUSH
                                            : Z_FINISH;
    z_->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_->avail_in = static_cast<uInt>(in.size());
    for (;;) {
      const std::size_t old = out.size();
      out.resize(old + kStep);
      z_->next_out = reinterpret_cast<Bytef*>(out.data() + old);
      z_->avail_out = static_cast<uInt>(kStep);
      const int rc = deflate(z_, flush);
      const bool full = z_->avail_out == 0;
      out.resize(old + kStep - z_->avail_out);
      if (rc == Z_STREAM_END) {
        finished_ = true;
        return true;
      }
      // Z_BUF_ERROR: no progress was possible (nothing to flush): not an error.
      if (rc != Z_OK && rc != Z_BUF_ERROR) return false;
      if (!full && z_->avail_in == 0 && mode != Mode::Finish) return true;
      if (!full && rc == Z_BUF_ERROR) return mode != Mode::Finish;
    }
  }

 private:
  z_stream* z_;
  bool finished_ = false;
};

class BrotliEncoder final : public BodyTransform {
 public:
  explicit BrotliEncoder(BrotliEncoderState* s) : s_(s) {}
  ~BrotliEncoder() override { BrotliEncoderDestroyInstance(s_); }
  static std::unique_ptr<BodyTransform> make(std::uint64_t size_hint) {
    BrotliEncoderState* s = BrotliEncoderCreateInstance(nullptr, nullptr, nullptr);
    if (s == nullptr) return nullptr;
    BrotliEncoderSetParameter(s, BROTLI_PARAM_QUALITY, kBrotliQuality);
    BrotliEncoderSetParameter(s, BROTLI_PARAM_LGWIN, kBrotliWindow);
    if (size_hint > 0 && size_hint < (1u << 30)) {
      BrotliEncoderSetParameter(s, BROTLI_PARAM_SIZE_HINT, static_cast<std::uint32_t>(size_hint));
    }
    return std::make_unique<BrotliEncoder>(s);
  }
  bool write(std::string_view in, Mode mode, std::string& out) override {
    if (BrotliEncoderIsFinished(s_)) return in.empty();
    const BrotliEncoderOperation op = mode == Mode::Write   ? BROTLI_OPERATION_PROCESS
                                      : mode == Mode::Flush ? BROTLI_OPERATION_FLUSH
                                                            : BROTLI_OPERATION_FINISH;
    std::size_t avail_in = in.size();
    const auto* next_in = reinterpret_cast<const std::uint8_t*>(in.data());
    for (;;) {
      const std::size_t old = out.size();
      out.resize(old + kStep);
      std::size_t avail_out = kStep;
      auto* next_out = reinterpret_cast<std::uint8_t*>(out.data() + old);
      if (!BrotliEncoderCompressStream(s_, op, &avail_in, &next_in, &avail_out, &next_out,
                                       nullptr)) {
        out.resize(old);
        return false;
      }
      out.resize(old + kStep - avail_out);
      if (BrotliEncoderHasMoreOutput(s_)) continue;
      if (avail_in > 0) continue;
      if (mode == Mode::Finish && !BrotliEncoderIsFinished(s_)) continue;
      return true;
    }
  }

 private:
  BrotliEncoderState* s_;
};

class ZstdEncoder final : public BodyTransform {
 public:
  explicit ZstdEncoder(ZSTD_CCtx* c) : c_(c) {}
  ~ZstdEncoder() override { zstd_pool.give(c_); }
  static std::unique_ptr<BodyTransform> make(std::uint64_t size_hint) {
    ZSTD_CCtx* c = zstd_pool.take();
    if (c == nullptr) {
      c = ZSTD_createCCtx();
      if (c == nullptr) return nullptr;
      ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, kZstdLevel);
      ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, kZstdWindowLog);
    }
    ZSTD_CCtx_reset(c, ZSTD_reset_session_only);
    // The exact size lets zstd pick a smaller window and write it in the frame header; the
    // forwarder only gives it when the server framed the body with that length.
    if (size_hint > 0) ZSTD_CCtx_setPledgedSrcSize(c, size_hint);
    return std::make_unique<ZstdEncoder>(c);
  }
  bool write(std::string_view in, Mode mode, std::string& out) override {
    if (done_) return in.empty();
    const ZSTD_EndDirective end = mode == Mode::Write   ? ZSTD_e_continue
                                  : mode == Mode::Flush ? ZSTD_e_flush
                                                        : ZSTD_e_end;
    ZSTD_inBuffer input{in.data(), in.size(), 0};
    for (;;) {
      const std::size_t old = out.size();
      out.resize(old + kStep);
      ZSTD_outBuffer output{out.data() + old, kStep, 0};
      const std::size_t left = ZSTD_compressStream2(c_, &output, &input, end);
      out.resize(old + output.pos);
      if (ZSTD_isError(left)) return false;
      if (end == ZSTD_e_continue) {
        if (input.pos == input.size) return true;
      } else if (left == 0) {
        done_ = end == ZSTD_e_end;
        return true;
      }
    }
  }

 private:
  ZSTD_CCtx* c_;
  bool done_ = false;
};

}  // namespace

std::string_view encoding_name(Encoding e) {
  switch (e) {
    case Encoding::Gzip:
      return "gzip";
    case Encoding::Brotli:
      return "br";
    case Encoding::Zstd:
      return "zstd";
  }
  return "";
}

std::optional<Encoding> parse_encoding(std::string_view name) {
  if (name == "gzip") return Encoding::Gzip;
  if (name == "br") return Encoding::Brotli;
  if (name == "zstd") return Encoding::Zstd;
  return std::nullopt;
}

std::unique_ptr<BodyTransform> make_encoder(Encoding e, std::uint64_t size_hint) {
  switch (e) {
    case Encoding::Gzip:
      return GzipEncoder::make();
    case Encoding::Brotli:
      return BrotliEncoder::make(size_hint);
    case Encoding::Zstd:
      return ZstdEncoder::make(size_hint);
  }
  return nullptr;
}

}  // namespace portier::proxy::mw

namespace portier::proxy::mw {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// "1", "0.5", "0.000": the q-value in thousandths, or -1 when malformed.
int parse_q(std::string_view v) {
  if (v.empty() || v.size() > 5) return -1;
  if (v[0] != '0' && v[0] != '1') return -1;
  int q = (v[0] - '0') * 1000;
  if (v.size() == 1) return q;
  if (v[1] != '.') return -1;
  int scale = 100;
  for (char c : v.substr(2)) {
    if (c < '0' || c > '9') return -1;
    q += (c - '0') * scale;
    scale /= 10;
  }
  return q <= 1000 ? q : -1;
}

}  // namespace

std::optional<Encoding> choose_encoding(const std::vector<std::string_view>& accept,
                                        const std::vector<Encoding>& encodings,
                                        std::optional<Encoding> default_encoding) {
  if (accept.empty()) return default_encoding;
  if (accept.size() == 1 && trim(accept[0]).empty()) return std::nullopt;
  // Rank of a coding among the configured ones: `*` before all (as Traefik sorts it), identity
  // after all, unknown codings ignored.
  const int identity_rank = static_cast<int>(encodings.size());
  int best_q = 0, best_rank = 0;
  std::optional<int> best;  // rank of the best so far
  for (std::string_view line : accept) {
    std::size_t start = 0;
    while (start <= line.size()) {
      std::size_t comma = line.find(',', start);
      if (comma == std::string_view::npos) comma = line.size();
      std::string_view item = trim(line.substr(start, comma - start));
      start = comma + 1;
      std::string_view name = item, params;
      if (auto semi = item.find(';'); semi != std::string_view::npos) {
        name = trim(item.substr(0, semi));
        params = trim(item.substr(semi + 1));
      }
      int rank;
      if (name == "*") {
        rank = -1;
      } else if (http::iequals(name, "identity")) {
        rank = identity_rank;
      } else {
        auto e = parse_encoding(ascii_lower(name));
        if (!e) continue;
        auto it = std::find(encodings.begin(), encodings.end(), *e);
        if (it == encodings.end()) continue;
        rank = static_cast<int>(it - encodings.begin());
      }
      int q = 1000;
      if (!params.empty()) {
        if (params.size() < 2 || (params[0] != 'q' && params[0] != 'Q') || params[1] != '=') {
          q = 1000;  // another parameter: Traefik ignores it
        } else {
          q = parse_q(trim(params.substr(2)));
        }
      }
      if (q <= 0) continue;  // q=0 (or malformed): not acceptable
      if (!best || q > best_q || (q == best_q && rank < best_rank)) {
        best = rank;
        best_q = q;
        best_rank = rank;
      }
    }
  }
  if (!best) return std::nullopt;
  if (*best == -1) return default_encoding ? default_encoding : std::optional(encodings.front());
  if (*best == identity_rank) return std::nullopt;
  return encodings[static_cast<std::size_t>(*best)];
}

std::optional<MediaType> parse_media_type(std::string_view s) {
  MediaType m;
  std::string_view rest = s;
  std::size_t semi = rest.find(';');
  std::string_view type = trim(rest.substr(0, semi));
  const std::size_t slash = type.find('/');
  if (type.empty() || slash == 0 || slash == std::string_view::npos || slash + 1 == type.size()) {
    return std::nullopt;
  }
  for (char c : type) {
    if (c != '/' && !http::is_token_char(static_cast<unsigned char>(c))) return std::nullopt;
  }
  m.type = ascii_lower(type);
  while (semi != std::string_view::npos) {
    rest = rest.substr(semi + 1);
    semi = rest.find(';');
    std::string_view p = trim(rest.substr(0, semi));
    if (p.empty()) continue;
    const std::size_t eq = p.find('=');
    if (eq == std::string_view::npos || eq == 0) return std::nullopt;
    std::string_view v = trim(p.substr(eq + 1));
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    m.params.emplace_back(ascii_lower(trim(p.substr(0, eq))), std::string(v));
  }
  return m;
}

bool MediaType::matches(std::string_view content_type) const {
  // Runs for every response the middleware sees: views only, no allocation.
  std::size_t semi = content_type.find(';');
  if (!http::iequals(trim(content_type.substr(0, semi)), type)) return false;
  for (const auto& [name, value] : params) {
    bool found = false;
    for (std::size_t at = semi; at != std::string_view::npos && !found;) {
      std::string_view rest = content_type.substr(at + 1);
      at = rest.find(';') == std::string_view::npos ? std::string_view::npos
                                                    : at + 1 + rest.find(';');
      std::string_view p = trim(rest.substr(0, rest.find(';')));
      const std::size_t eq = p.find('=');
      if (eq == std::string_view::npos) continue;
      std::string_view v = trim(p.substr(eq + 1));
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      found = http::iequals(trim(p.substr(0, eq)), name) && http::iequals(v, value);
    }
    if (!found) return false;
  }
  return true;
}

}  // namespace portier::proxy::mw
