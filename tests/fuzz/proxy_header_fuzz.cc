// Fuzz target for the PROXY protocol reader (src/tcp/proxy_header.h). Invariants: no crash, no
// UB; an accepted header's size is within the input and kMaxProxyHeader; a header parsed again
// from its own bytes gives the same result; a header written for the parsed addresses parses
// back to them (v1 and v2).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_util.h"
#include "tcp/proxy_header.h"

using portier::fuzz::check;
using portier::tcp::ProxyHeader;
using portier::tcp::ProxyStatus;

namespace {
boost::asio::ip::address v4_plain(const boost::asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6());
  }
  return a;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  ProxyHeader h;
  ProxyStatus st = portier::tcp::parse_proxy_header(in, h);
  if (st != ProxyStatus::Ok) return 0;
  check(h.size > 0 && h.size <= in.size(), "header size outside the input");
  check(h.size <= portier::tcp::kMaxProxyHeader, "header longer than the limit");
  check(h.version == 1 || h.version == 2, "unknown version");
  ProxyHeader only;
  check(portier::tcp::parse_proxy_header(in.substr(0, h.size), only) == ProxyStatus::Ok,
        "the header alone does not parse");
  check(only.size == h.size && only.source == h.source, "the header alone parses differently");
  if (!h.local) {
    for (int v : {1, 2}) {
      std::string out = portier::tcp::make_proxy_header(v, h.source, h.destination);
      ProxyHeader back;
      check(portier::tcp::parse_proxy_header(out, back) == ProxyStatus::Ok, "written header refused");
      check(back.size == out.size(), "written header size");
      check(!back.local, "written header is LOCAL or UNKNOWN");
      check(back.source.port() == h.source.port() && back.destination.port() == h.destination.port(),
            "round trip lost a port");
      check(v4_plain(back.source.address()) == v4_plain(h.source.address()) &&
                v4_plain(back.destination.address()) == v4_plain(h.destination.address()),
            "round trip changed an address");
    }
  }
  return 0;
}
