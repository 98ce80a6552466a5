// grpcWeb: Traefik's middleware (its behaviour is that of the grpc-web Go wrapper Traefik uses,
// with rs/cors for the CORS part). A gRPC-Web request (POST, Content-Type application/grpc-web*)
// becomes a gRPC request to the server; the gRPC response comes back as gRPC-Web:
//   - request: Content-Type application/grpc-web[-text][+fmt] -> application/grpc[+fmt], TE:
//     trailers; the -text variant's base64 body is read whole (gRPC-Web has no client streaming,
//     so a request is one message) and decoded;
//   - response: Content-Type application/grpc[+fmt] -> the client's variant; the server's trailer
//     fields (grpc-status, grpc-message, trailing metadata) become the body's last frame (flag
//     0x80, then "name: value\r\n" lines with lower-case names), which a browser can read where it
//     cannot read HTTP trailers; for -text, the whole body is base64, padded at each flush so a
//     streamed message reaches the client when the server sends it; Access-Control-Expose-Headers
//     lists the response's fields and grpc-status, grpc-message;
//   - CORS: a preflight (OPTIONS naming x-grpc-web in Access-Control-Request-Headers) is answered
//     here, 200; an origin in allowOrigins ("*": any) gets Access-Control-Allow-Origin (its own
//     value), -Credentials: true, -Methods (the one asked, if GET, POST or HEAD), -Headers (those
//     asked) and -Max-Age: 600.
// Other requests pass untouched, so one router can serve gRPC and gRPC-Web alike. A response that
// is not gRPC (an error page, a 404 from something else) keeps its body as it is.
#include <optional>

#include "common/base64.h"
#include "proxy/http/icase.h"
#include "proxy/http/message.h"
#include "proxy/middlewares/filters.h"

namespace portier::proxy::mw {
namespace {

constexpr std::string_view kGrpc = "application/grpc";
constexpr std::string_view kGrpcWeb = "application/grpc-web";
constexpr std::string_view kGrpcWebText = "application/grpc-web-text";
// The largest -text request body read (base64 of gRPC's default 4 MiB message limit, and more).
constexpr std::uint64_t kMaxTextBody = 8ull << 20;

// Go's canonical form of a field name (x-grpc-web -> X-Grpc-Web), as rs/cors and Go write them.
std::string canonical(std::string_view name) {
  std::string out(name);
  bool up = true;
  for (char& c : out) {
    if (up && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (!up && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    up = c == '-';
  }
  return out;
}

// Whether a comma-separated list names `name`.
bool listed(std::string_view list, std::string_view name) {
  bool found = false;
  http::for_each_token(list, [&](std::string_view t) { found = found || http::iequals(t, name); });
  return found;
}

// A -text body: base64, possibly several padded pieces one after the other (clients and servers
// pad at each flush).
std::optional<std::string> decode_text(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out;
  std::size_t start = 0;
  for (std::size_t i = 0; i < in.size(); i += 4) {
    if (in[i + 3] == '=' || i + 4 == in.size()) {
      auto part = base64_decode(in.substr(start, i + 4 - start));
      if (!part) return std::nullopt;
      out += *part;
      start = i + 4;
    }
  }
  return out;
}

// The response body of a gRPC-Web call: the server's frames as they are, then the trailer frame;
// base64 for -text.
class GrpcWebBody final : public BodyTransform {
 public:
  explicit GrpcWebBody(bool text) : text_(text) {}

  bool takes_trailers() const override { return true; }
  void set_trailers(std::string_view lines) override {
    // "name: value\r\n" lines as the chunked decoder checked them; names go in lower case.
    trailers_.assign(lines);
    bool in_name = true;
    for (char& c : trailers_) {
      if (in_name && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c == ':') in_name = false;
      if (c == '\n') in_name = true;
    }
  }

  bool write(std::string_view in, Mode mode, std::string& out) override {
    std::string& raw = text_ ? pending_ : out;
    raw.append(in);
    if (mode == Mode::Finish) {
      const auto n = static_cast<std::uint32_t>(trailers_.size());
      const char head[5] = {'\x80', static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                            static_cast<char>(n >> 8), static_cast<char>(n)};
      raw.append(head, 5).append(trailers_);
    }
    if (!text_) return true;
    // Whole 3-byte groups go now; the rest waits for more, unless everything must come out.
    const std::size_t take =
        mode == Mode::Write ? pending_.size() - pending_.size() % 3 : pending_.size();
    if (take > 0) {
      out += base64_encode(std::string_view(pending_).substr(0, take));
      pending_.erase(0, take);
    }
    return true;
  }

 private:
  bool text_;
  std::string pending_;   // -text: bytes not yet encoded
  std::string trailers_;  // the server's trailer fields, set before Finish
};

class GrpcWebFilter final : public Filter {
 public:
  GrpcWebFilter(std::string name, std::vector<std::string> origins)
      : Filter(std::move(name), kAsyncRequest | kResponse), origins_(std::move(origins)) {}

  boost::asio::awaitable<Verdict> on_request_async(Stream& s) const override {
    if (s.method == "OPTIONS") {
      auto acrh = s.header("Access-Control-Request-Headers");
      auto acrm = s.header("Access-Control-Request-Method");
      if (acrh && acrm && !acrm->empty() && http::contains_icase(*acrh, "x-grpc-web")) {
        preflight(s, *acrm, *acrh);
        co_return Verdict::Respond;
      }
      co_return Verdict::Continue;
    }
    auto ct = s.header("Content-Type");
    if (s.method != "POST" || !ct || !http::starts_with_icase(*ct, kGrpcWeb))
      co_return Verdict::Continue;
    const bool text = http::starts_with_icase(*ct, kGrpcWebText);
    // The note keeps for the response: the variant, then the origin to allow ("" for none).
    std::string note(text ? "t" : "b");
    if (auto origin = s.header("Origin"); origin && !origin->empty() && allowed(*origin)) {
      note.append(*origin);
    }
    std::string grpc_type(kGrpc);
    grpc_type.append(ct->substr(text ? kGrpcWebText.size() : kGrpcWeb.size()));
    set_edit(s.request_edits, "Content-Type", grpc_type);
    if (!s.header("TE")) set_edit(s.request_edits, "TE", "trailers");
    s.notes.emplace_back(this, std::move(note));
    if (!text || !s.has_body) co_return Verdict::Continue;
    if (!s.body) {
      if (s.body_reader == nullptr) co_return Verdict::Continue;
      if (s.body_length && *s.body_length > kMaxTextBody) co_return too_large(s);
      std::string body;
      switch (co_await s.body_reader->read_all(body, kMaxTextBody)) {
        case BodyRead::Ok:
          s.body = std::move(body);
          break;
        case BodyRead::TooLarge:
          co_return too_large(s);
        case BodyRead::Failed:
          s.respond(400);
          s.local.close = true;
          co_return Verdict::Respond;
      }
    }
    auto decoded = decode_text(*s.body);
    if (!decoded) {
      s.respond(400);
      s.local.body = "grpc-web-text: the body is not base64\n";
      s.local.body_set = true;
      co_return Verdict::Respond;
    }
    *s.body = std::move(*decoded);
    co_return Verdict::Continue;
  }

  bool on_response(Stream& s, const ResponseView& view) const override {
    const std::string* note = s.note(this);
    if (note == nullptr) return false;
    const bool text = (*note)[0] == 't';
    const std::string_view origin = std::string_view(*note).substr(1);
    add_edit(s.response_edits, "Vary", "Origin");
    if (!origin.empty()) {
      set_edit(s.response_edits, "Access-Control-Allow-Origin", origin);
      set_edit(s.response_edits, "Access-Control-Allow-Credentials", "true");
    }
    if (view.fields == nullptr) return false;  // a local answer is left as it is
    std::string expose;
    const http::HopByHop hop(*view.fields);
    for (const auto& f : *view.fields) {
      if (hop(f.name) || listed(expose, f.name)) continue;
      if (!expose.empty()) expose += ", ";
      expose += canonical(f.name);
    }
    if (!expose.empty()) expose += ", ";
    expose += "grpc-status, grpc-message";
    set_edit(s.response_edits, "Access-Control-Expose-Headers", expose);
    auto ct = view.header("Content-Type");
    if (!ct || !http::starts_with_icase(*ct, kGrpc) || http::starts_with_icase(*ct, kGrpcWeb))
      return false;
    std::string web_type(text ? kGrpcWebText : kGrpcWeb);
    web_type.append(ct->substr(kGrpc.size()));
    set_edit(s.response_edits, "Content-Type", web_type);
    s.transforms.push_back(std::make_unique<GrpcWebBody>(text));
    return false;
  }

 private:
  bool allowed(std::string_view origin) const {
    for (const auto& o : origins_) {
      if (o == "*" || o == origin) return true;
    }
    return false;
  }

  void preflight(Stream& s, std::string_view method, std::string_view request_headers) const {
    s.respond(200);
    s.local.body_set = true;  // empty
    s.local.content_type.emplace();
    auto& f = s.local.fields;
    f.push_back({"Vary", "Origin", true});
    f.push_back({"Vary", "Access-Control-Request-Method", true});
    f.push_back({"Vary", "Access-Control-Request-Headers", true});
    auto origin = s.header("Origin");
    if (!origin || origin->empty() || !allowed(*origin)) return;
    std::string m(method);
    for (char& c : m) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    if (m != "GET" && m != "POST" && m != "HEAD" && m != "OPTIONS") return;
    f.push_back({"Access-Control-Allow-Origin", std::string(*origin)});
    f.push_back({"Access-Control-Allow-Methods", m});
    std::string headers;
    http::for_each_token(request_headers, [&](std::string_view t) {
      if (!headers.empty()) headers += ", ";
      headers += canonical(t);
    });
    if (!headers.empty()) f.push_back({"Access-Control-Allow-Headers", headers});
    f.push_back({"Access-Control-Allow-Credentials", "true"});
    f.push_back({"Access-Control-Max-Age", "600"});
  }

  static Verdict too_large(Stream& s) {
    s.respond(413);
    s.local.close = true;  // the rest of the body is not read
    return Verdict::Respond;
  }

  std::vector<std::string> origins_;
};

}  // namespace

Built grpc_web(const std::string& name, const config::Middleware& m, const ChainContext&) {
  return std::make_unique<GrpcWebFilter>(name, m.grpc_web->allow_origins);
}

}  // namespace portier::proxy::mw
