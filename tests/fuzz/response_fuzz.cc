// Fuzz target for the upstream response path: whatever bytes a server sends back. The response
// head parser and the framing rules (analyze_response, as the answer to GET or HEAD), the head
// the client then gets (append_response_head), and the chunked decoder over the body.
// Invariants: no crash, no UB; views inside the input; the head sent to the client parses back
// with the same status and a framing that agrees with the body that follows it (the bytes
// portier writes can never be read as another message); the chunked decoder finds the same data
// whether the body arrives at once or in pieces of any size.
//
// Input: byte 0 picks the piece size for the split decode, byte 1 the options (HEAD request,
// header edits, a sticky cookie, an HTTP/1.0 client, Connection: close), the rest is what the
// server sent.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "proxy/forwarder.h"
#include "proxy/http/chunked.h"
#include "proxy/http/message.h"
#include "proxy/http/parser.h"

namespace {

using namespace portier::http;
using Error = portier::http::Error;
namespace proxy = portier::proxy;
using portier::fuzz::check;

struct Decoded {
  std::string data;
  std::size_t consumed = 0;
  bool done = false;
  bool failed = false;
};

// Feeds `body` to a decoder as a connection would: bytes arrive in pieces of at most `piece`,
// land in a buffer, and what the decoder does not take stays there for the next feed.
Decoded decode(std::string_view body, std::size_t piece) {
  Decoded out;
  ChunkedDecoder dec(1024);
  std::string buf;
  std::size_t next = 0;
  for (;;) {
    while (!buf.empty()) {
      auto step = dec.feed(buf);
      check(step.consumed <= buf.size(), "chunked: consumed more than given");
      portier::fuzz::check_inside(buf, step.data, "chunked: data outside the input");
      out.data.append(step.data);
      buf.erase(0, step.consumed);
      out.consumed += step.consumed;
      if (step.error != Error::None) {
        out.failed = true;
        return out;
      }
      if (step.done) {
        out.done = true;
        return out;
      }
      if (step.consumed == 0) break;
    }
    if (next >= body.size()) break;
    buf.append(body.substr(next, piece));
    next += piece;
  }
  check(out.data.size() <= body.size(), "chunked: more data than bytes");
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const std::size_t piece = 1 + data[0] % 16;
  const uint8_t opts = data[1];
  std::string_view in(reinterpret_cast<const char*>(data + 2), size - 2);

  Limits limits;
  ResponseHead head;
  ParseResult r = parse_response_head(in, limits, head);
  check(!(r.status == ParseStatus::Failed && r.error == Error::None), "failed without an error");
  if (r.status != ParseStatus::Complete) return 0;
  check(r.head_size <= in.size(), "head larger than the input");
  check(head.status >= 100 && head.status <= 999, "status out of range");
  portier::fuzz::check_inside(in, head.reason, "reason outside the input");
  for (const Field& f : head.fields) {
    portier::fuzz::check_inside(in, f.name, "field name outside the input");
    portier::fuzz::check_inside(in, f.value, "field value outside the input");
    check(!f.name.empty(), "empty field name");
  }

  const std::string_view method = (opts & 1) ? "HEAD" : "GET";
  ResponseInfo info;
  if (analyze_response(head, method, info) != Error::None) return 0;
  const bool bodiless =
      method == "HEAD" || head.status < 200 || head.status == 204 || head.status == 304;
  check(!bodiless || info.framing.kind == BodyKind::None, "bodiless response with a body");

  // The head the client gets, as the forwarder builds it.
  std::vector<proxy::HeaderEdit> edits;
  if (opts & 2) edits = {{"X-Added", "yes"}, {"Server", ""}, {"Content-Type", "text/x"}};
  const std::string cookie = (opts & 4) ? "Set-Cookie: lb=abc; Path=/; HttpOnly\r\n" : "";
  const int client_minor = (opts & 8) ? 0 : 1;
  const bool chunked = info.framing.kind == BodyKind::Chunked;
  const bool chunk_out = chunked && client_minor == 1;
  const bool framed = info.framing.kind != BodyKind::UntilClose && (!chunked || client_minor == 1);
  const bool close = (opts & 16) || !framed || head.status == 101;
  std::string out;
  proxy::append_response_head(head, edits, cookie, client_minor, chunk_out, close, out);

  Limits big;
  big.max_head_bytes = 1 << 20;
  ResponseHead back;
  ParseResult rb = parse_response_head(out, big, back);
  if (rb.status == ParseStatus::Failed && rb.error == Error::TooManyFields) {
    check(head.fields.count + edits.size() + 3 > kMaxFields, "sent head has too many fields");
    return 0;
  }
  check(rb.status == ParseStatus::Complete, "the head sent to the client does not parse");
  check(rb.head_size == out.size(), "the head sent to the client has trailing bytes");
  check(back.status == head.status, "status changed");
  ResponseInfo binfo;
  check(analyze_response(back, method, binfo) == Error::None,
        "the head sent to the client is rejected by the framing rules");
  if (!bodiless && head.status != 101) {
    const BodyKind want = chunk_out ? BodyKind::Chunked
                          : chunked ? BodyKind::UntilClose
                                    : info.framing.kind;
    check(binfo.framing.kind == want, "framing sent to the client differs from the body");
    if (want == BodyKind::Length) check(binfo.framing.length == info.framing.length, "length");
    if (close) check(binfo.connection.close, "Connection: close lost");
  }

  if (chunked && !bodiless) {
    std::string_view body = in.substr(r.head_size);
    Decoded whole = decode(body, body.size() + 1);
    Decoded split = decode(body, piece);
    check(whole.failed == split.failed, "split decode disagrees on failure");
    check(whole.done == split.done, "split decode disagrees on the end");
    if (!whole.failed) check(whole.data == split.data, "split decode found other data");
    if (whole.done) check(whole.consumed == split.consumed, "split decode ended elsewhere");
  }
  return 0;
}
