// Fuzz target for everything that parses bytes from the wire: the request head parser, the
// framing rules, and the chunked decoder on whatever follows the head; also the response parser.
// Invariants: no crash, no read outside the input, every view inside the input, consumed counts
// never exceed what was given.
//
// Built as a libFuzzer binary with -DPORTIER_FUZZ=ON and clang (tools/fuzz.sh); built with any
// compiler as fuzz_replay, which runs the checked-in corpus under ctest.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "proxy/http/chunked.h"
#include "proxy/http/message.h"
#include "proxy/http/parser.h"

namespace {

using namespace portier::http;

void check_inside(std::string_view whole, std::string_view part) {
  if (part.empty()) return;
  if (part.data() < whole.data() || part.data() + part.size() > whole.data() + whole.size()) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  Limits limits;
  limits.max_head_bytes = 4096;
  limits.max_target = 1024;

  RequestHead req;
  ParseResult r = parse_request_head(in, limits, req);
  if (r.status == ParseStatus::Complete) {
    if (r.head_size > size || r.error != Error::None) std::abort();
    check_inside(in, req.method);
    check_inside(in, req.target);
    for (const Field& f : req.fields) {
      check_inside(in, f.name);
      check_inside(in, f.value);
      if (f.name.empty()) std::abort();
    }
    RequestInfo info;
    if (analyze_request(req, info) == Error::None && info.framing.kind == BodyKind::Chunked) {
      std::string_view body = in.substr(r.head_size);
      ChunkedDecoder dec(256);
      std::size_t pos = 0;
      while (pos < body.size()) {
        auto step = dec.feed(body.substr(pos));
        if (step.consumed > body.size() - pos) std::abort();
        check_inside(body, step.data);
        pos += step.consumed;
        if (step.error != Error::None || step.done || step.consumed == 0) break;
      }
    }
  } else if (r.status == ParseStatus::Failed && r.error == Error::None) {
    std::abort();
  }

  ResponseHead resp;
  ParseResult rr = parse_response_head(in, limits, resp);
  if (rr.status == ParseStatus::Complete) {
    if (rr.head_size > size || resp.status < 100 || resp.status > 999) std::abort();
    ResponseInfo info;
    (void)analyze_response(resp, "GET", info);
  }
  return 0;
}
