// Fuzz target: the HTTP/1.1 head an HTTP/2 stream's fields become (entrypoints/h2_stream.h).
// nghttp2 validates fields before the stream sees them; this target hands the stream anything,
// to check that nothing it accepts can turn into a different request on the way: either it
// refuses the block (400/431), or the head it makes parses back as exactly one head with
// exactly the fields it was given (no field or request smuggled in by a CR, LF or NUL).
//
// Input: a flags byte (bit 0: END_STREAM, bit 1: no pseudo-fields are added first), then
// records of [name length: 1 byte][name][value length: 2 bytes, big-endian][value].
#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "entrypoints/h2_stream.h"
#include "fuzz_util.h"
#include "proxy/http/parser.h"

using portier::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool end_stream = (data[0] & 1) != 0;
  std::vector<std::pair<std::string, std::string>> fields;
  if ((data[0] & 2) == 0) {
    fields = {{":method", "GET"}, {":scheme", "https"}, {":authority", "a.test"}, {":path", "/"}};
  }
  std::size_t at = 1;
  while (at < size && fields.size() < 200) {
    const std::size_t nlen = data[at++];
    if (at + nlen + 2 > size) break;
    std::string name(reinterpret_cast<const char*>(data + at), nlen);
    at += nlen;
    const std::size_t vlen = (std::size_t(data[at]) << 8) | data[at + 1];
    at += 2;
    if (at + vlen > size) break;
    fields.emplace_back(std::move(name), std::string(reinterpret_cast<const char*>(data + at), vlen));
    at += vlen;
  }
  boost::asio::io_context io;
  portier::entrypoints::H2Stream s(nullptr, 1, 16384, io.get_executor(), [](void*) {}, nullptr);
  std::size_t regular = 0;
  bool cookie = false, has_length = false;
  std::string authority, host;  // the last of each wins, as in the stream
  for (const auto& [n, v] : fields) {
    s.add_field(n, v);
    if (n == ":authority") authority = v;
    if (n == "host") host = v;
    if (n == "cookie" && !v.empty()) cookie = true;
    if (n == "content-length") has_length = true;
    if (!n.empty() && n[0] != ':' && n != "cookie" && n != "host") ++regular;
  }
  const int status = s.headers_done(end_stream);
  check(status == 0 || status == 400 || status == 431, "an unexpected status");
  const std::string head(s.pending_request());
  if (status != 0) {
    check(head.empty(), "a refused block still produced a head");
    return 0;
  }
  portier::http::RequestHead parsed;
  portier::http::Limits limits;
  limits.max_head_bytes = 1 << 20;
  limits.max_target = 1 << 20;
  const auto pr = portier::http::parse_request_head(head, limits, parsed);
  check(pr.status != portier::http::ParseStatus::Partial, "a head that does not end");
  if (pr.status == portier::http::ParseStatus::Failed) return 0;  // answered 400 by the session
  check(pr.head_size == head.size(), "bytes after the head: a second request smuggled in");
  // Host: from :authority, else from the host field.
  const bool host_line = !(authority.empty() ? host : authority).empty();
  const std::size_t expected = regular + (cookie ? 1 : 0) + (host_line ? 1 : 0) +
                               ((!end_stream && !has_length) ? 1 : 0);
  if (parsed.fields.count < portier::http::kMaxFields) {
    check(parsed.fields.count == expected, "the head has other fields than the stream was given");
  }
  return 0;
}
