// Fuzz target for the ClientHello reader (src/tcp/client_hello.h): any bytes as the start of a
// connection. Invariants: no crash, no UB, no read past the input; the answer for a prefix of an
// input that gave Tls is Partial or Tls (bytes arriving later never undo a decision... except a
// complete hello whose last record the prefix cuts, which is Partial); the SNI is lower case
// printable ASCII without a trailing dot; a decision is deterministic.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_util.h"
#include "tcp/client_hello.h"

using portier::fuzz::check;
using portier::tcp::ClientHello;
using portier::tcp::HelloStatus;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  ClientHello h, again;
  HelloStatus st = portier::tcp::parse_client_hello(in, h);
  check(portier::tcp::parse_client_hello(in, again) == st, "not deterministic");
  if (st == HelloStatus::Tls) {
    check(h.sni == again.sni && h.alpn == again.alpn, "results not deterministic");
    check(h.sni.size() <= 255, "sni longer than 255");
    for (char c : h.sni) {
      check(c > 0x20 && c < 0x7f && !(c >= 'A' && c <= 'Z'), "sni not lower-case printable");
    }
    check(h.sni.empty() || h.sni.back() != '.', "trailing dot kept");
    check(h.alpn.size() <= 32, "too many alpn entries kept");
    // Every shorter prefix is undecided or the same decision: reads can only add bytes.
    for (std::size_t n : {std::size_t{1}, size / 2, size > 0 ? size - 1 : 0}) {
      if (n == 0 || n >= size) continue;
      ClientHello p;
      HelloStatus ps = portier::tcp::parse_client_hello(in.substr(0, n), p);
      check(ps == HelloStatus::Partial || ps == HelloStatus::Tls, "a prefix of a hello refused");
    }
  }
  if (st == HelloStatus::NotTls) check(size > 0, "empty input is not Partial");
  return 0;
}
