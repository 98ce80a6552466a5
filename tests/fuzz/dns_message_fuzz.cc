// Fuzz target for the DNS message decoder of DNS-01 (src/acme/dns_wire.h), which reads answers
// from DNS servers. Invariants: no crash, no UB; every decoded name ends with a dot and is at
// most 255 characters; every record starts inside the input; decoding is deterministic; TSIG
// verification of any input returns (true or an error) without crashing.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "acme/dns_wire.h"
#include "fuzz_util.h"

using portier::fuzz::check;
namespace dns = portier::acme::dns;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto m = dns::decode(in);
  const dns::TsigKey key{"key.", "hmac-sha256.", "secret"};
  (void)dns::tsig_verify(in, key, "request-mac", 1700000000);
  if (!m) return 0;
  for (const auto* section : {&m->question, &m->answer, &m->authority, &m->additional}) {
    for (const auto& r : *section) {
      check(!r.name.empty() && r.name.back() == '.', "a name without its trailing dot");
      check(r.name.size() <= 255, "a name longer than 255");
      check(r.wire_offset >= 12 && r.wire_offset < in.size(), "a record outside the input");
      check(r.rdata.size() <= in.size(), "rdata longer than the input");
    }
  }
  auto again = dns::decode(in);
  check(again && again->answer.size() == m->answer.size() && again->flags == m->flags,
        "decoding is not deterministic");
  return 0;
}
