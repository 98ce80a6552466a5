// compress: Traefik's middleware. The encoding is chosen from the request's Accept-Encoding
// (encoders.h: choose_encoding); the response is compressed when its head allows it (h2o's
// on_setup_ostream model): a status with a body (not 1xx, 204, 206 or 304), no Content-Encoding
// yet (so nothing is compressed twice, even by two compress middlewares), no Content-Range, a
// Content-Type the options accept, and a Content-Length of at least minResponseBodyBytes. A body
// without a Content-Length is compressed whatever its size (Traefik buffers the first
// minResponseBodyBytes to decide; portier decides from the head and streams from the first byte).
//
// A compressed response loses Content-Length and Accept-Ranges (byte ranges of the identity body
// would not apply), gets Content-Encoding, and a strong ETag becomes weak (RFC 9110 8.8.1: the
// bytes differ). Every response that could be compressed gets `Vary: Accept-Encoding`, whether or
// not this client asked, so that caches keep the variants apart. HEAD requests pass untouched, as
// in Traefik, and so do requests whose Content-Type is excluded (application/grpc always is).
#include <charconv>

#include "proxy/http/message.h"
#include "proxy/middlewares/encoders.h"
#include "proxy/middlewares/filters.h"

namespace portier::proxy::mw {
namespace {

// What the request hook decided, kept for the response hook in Stream::notes (the request's
// fields may be gone by then): "" when the client takes no encoding the middleware offers,
// else the encoding's name. No note: the middleware stays out of this request.
class CompressFilter final : public Filter {
 public:
  CompressFilter(std::string name, std::vector<Encoding> encodings,
                 std::optional<Encoding> default_encoding, std::vector<MediaType> excluded,
                 std::vector<MediaType> included, std::uint64_t min_size)
      : Filter(std::move(name), kRequest | kResponse),
        encodings_(std::move(encodings)),
        default_(default_encoding),
        excluded_(std::move(excluded)),
        included_(std::move(included)),
        min_size_(min_size) {}

  Verdict on_request(Stream& s) const override {
    if (s.method == "HEAD") return Verdict::Continue;
    if (auto ct = s.header("Content-Type")) {
      for (const auto& m : excluded_) {
        if (m.matches(*ct)) return Verdict::Continue;
      }
    }
    std::vector<std::string_view>& accept = accept_scratch();
    accept.clear();
    if (s.fields != nullptr) {
      for (const auto& f : *s.fields) {
        if (http::iequals(f.name, "accept-encoding")) accept.push_back(f.value);
      }
    }
    auto chosen = choose_encoding(accept, encodings_, default_);
    s.notes.emplace_back(this, chosen ? std::string(encoding_name(*chosen)) : std::string());
    return Verdict::Continue;
  }

  bool on_response(Stream& s, const ResponseView& view) const override {
    const std::string* note = s.note(this);
    if (note == nullptr) return false;
    const int status = view.status;
    if (status < 200 || status == 204 || status == 206 || status == 304) return false;
    if (response_field(s, view, "content-encoding") || response_field(s, view, "content-range")) {
      return false;
    }
    if (auto ct = response_field(s, view, "content-type")) {
      if (!included_.empty()) {
        bool in = false;
        for (const auto& m : included_) in = in || m.matches(*ct);
        if (!in) return false;
      }
      for (const auto& m : excluded_) {
        if (m.matches(*ct)) return false;
      }
    } else if (!included_.empty()) {
      return false;
    }
    std::uint64_t length = 0;
    bool known = false;
    if (view.local != nullptr) {
      length = s.local.body_set || s.local.body_owner ? s.local.body_view().size() : 0;
      known = true;
    } else if (auto cl = response_field(s, view, "content-length")) {
      auto [p, ec] = std::from_chars(cl->data(), cl->data() + cl->size(), length);
      known = ec == std::errc() && p == cl->data() + cl->size();
    }
    if (known && length < min_size_) return false;
    if (!varies_on_encoding(s, view)) add_edit(s.response_edits, "Vary", "Accept-Encoding");
    if (note->empty()) return false;
    const Encoding e = *parse_encoding(*note);
    // The exact length only when this compressor sees the server's body as is.
    auto encoder = make_encoder(e, known && s.transforms.empty() ? length : 0);
    if (!encoder) return false;  // out of memory: the response goes uncompressed
    s.transforms.push_back(std::move(encoder));
    set_edit(s.response_edits, "Content-Encoding", encoding_name(e));
    set_edit(s.response_edits, "Content-Length", "");
    set_edit(s.response_edits, "Accept-Ranges", "");
    if (auto etag = response_field(s, view, "etag"); etag && !etag->starts_with("W/")) {
      set_edit(s.response_edits, "ETag", "W/" + std::string(*etag));
    }
    return false;
  }

 private:
  // A response field as inner middlewares left it: their edits first, then the response's own.
  static std::optional<std::string_view> response_field(const Stream& s, const ResponseView& view,
                                                        std::string_view name) {
    if (const HeaderEdit* e = find_edit(s.response_edits, name)) {
      if (e->value.empty()) return std::nullopt;
      return std::string_view(e->value);
    }
    if (view.local != nullptr && http::iequals(name, "content-type") &&
        find_edit(*view.local, name) == nullptr) {
      if (!s.local.content_type) return std::string_view("text/plain; charset=utf-8");
      if (s.local.content_type->empty()) return std::nullopt;
      return std::string_view(*s.local.content_type);
    }
    return view.header(name);
  }

  static bool varies_on_encoding(const Stream& s, const ResponseView& view) {
    bool found = false;
    auto check = [&](std::string_view v) {
      http::for_each_token(v, [&](std::string_view t) {
        found = found || t == "*" || http::iequals(t, "accept-encoding");
      });
    };
    for (const auto& e : s.response_edits) {
      if (http::iequals(e.name, "vary")) check(e.value);
    }
    if (view.fields != nullptr && !replaces(s.response_edits, "vary")) {
      for (const auto& f : *view.fields) {
        if (http::iequals(f.name, "vary")) check(f.value);
      }
    }
    if (view.local != nullptr) {
      for (const auto& f : *view.local) {
        if (http::iequals(f.name, "vary")) check(f.value);
      }
    }
    return found;
  }

  static std::vector<std::string_view>& accept_scratch() {
    thread_local std::vector<std::string_view> v;
    return v;
  }

  std::vector<Encoding> encodings_;
  std::optional<Encoding> default_;
  std::vector<MediaType> excluded_;
  std::vector<MediaType> included_;
  std::uint64_t min_size_;
};

}  // namespace

Built compress(const std::string& name, const config::Middleware& m, const ChainContext&) {
  const config::Compress& c = *m.compress;
  if (!c.excluded_content_types.empty() && !c.included_content_types.empty()) {
    return Error{"excludedContentTypes and includedContentTypes options are mutually exclusive"};
  }
  if (c.encodings.empty()) return Error{"at least one encoding must be specified"};
  std::vector<Encoding> encodings;
  for (const auto& e : c.encodings) {
    auto parsed = parse_encoding(e);
    if (!parsed) return Error{"unsupported encoding: " + e + " (gzip, br and zstd are)"};
    if (std::find(encodings.begin(), encodings.end(), *parsed) == encodings.end()) {
      encodings.push_back(*parsed);
    }
  }
  std::optional<Encoding> default_encoding;
  if (!c.default_encoding.empty()) {
    default_encoding = parse_encoding(c.default_encoding);
    if (!default_encoding ||
        std::find(encodings.begin(), encodings.end(), *default_encoding) == encodings.end()) {
      return Error{"unsupported default encoding: " + c.default_encoding +
                   " (it must be one of encodings)"};
    }
  }
  // application/grpc is always excluded, as in Traefik: gRPC frames its own compression.
  std::vector<MediaType> excluded{*parse_media_type("application/grpc")};
  for (const auto& t : c.excluded_content_types) {
    auto mt = parse_media_type(t);
    if (!mt) return Error{"excludedContentTypes: `" + t + "` is not a media type"};
    excluded.push_back(std::move(*mt));
  }
  std::vector<MediaType> included;
  for (const auto& t : c.included_content_types) {
    auto mt = parse_media_type(t);
    if (!mt) return Error{"includedContentTypes: `" + t + "` is not a media type"};
    included.push_back(std::move(*mt));
  }
  const auto min_size = static_cast<std::uint64_t>(c.min_response_body_bytes > 0
                                                       ? c.min_response_body_bytes
                                                       : config::Compress{}.min_response_body_bytes);
  return std::make_unique<CompressFilter>(name, std::move(encodings), default_encoding,
                                          std::move(excluded), std::move(included), min_size);
}

}  // namespace portier::proxy::mw
