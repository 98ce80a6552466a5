// Fuzz target for the rule language: the lexer, the parser and the matchers it compiles (RE2
// regexes, CIDRs), then a match against a request made of fuzzer bytes, and percent-decoding.
// Invariants: no crash, no UB, no unbounded recursion; an error says where (a column) or what;
// pinned hosts are lower case; parsing is deterministic (a second parse agrees on success and
// on the message); percent-decoding never grows its input.
//
// Input: the rule, then optionally "\n" and request lines: host, method, path, query, and
// "name: value" header lines.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/header_view.h"
#include "fuzz_util.h"
#include "rules/rule.h"

using portier::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::size_t nl = in.find('\n');
  std::string_view text = in.substr(0, nl);
  std::vector<std::string_view> lines;
  if (nl != std::string_view::npos) {
    std::string_view rest = in.substr(nl + 1);
    while (!rest.empty() && lines.size() < 16) {
      std::size_t e = rest.find('\n');
      lines.push_back(rest.substr(0, e));
      rest = e == std::string_view::npos ? std::string_view() : rest.substr(e + 1);
    }
  }

  auto rule = portier::rules::parse(text);
  auto again = portier::rules::parse(text);
  check(rule.has_value() == again.has_value(), "parse is not deterministic");
  if (!rule) {
    check(!rule.error().message.empty(), "error without a message");
    check(rule.error().message == again.error().message, "error message is not deterministic");
    return 0;
  }
  for (const auto& h : rule->pinned_hosts()) {
    for (char c : h) check(!std::isupper(static_cast<unsigned char>(c)), "pinned host upper case");
  }

  auto line = [&](std::size_t i) { return i < lines.size() ? lines[i] : std::string_view(); };
  std::vector<portier::HeaderView> headers;
  for (std::size_t i = 4; i < lines.size(); ++i) {
    std::size_t colon = lines[i].find(':');
    if (colon == std::string_view::npos) continue;
    headers.push_back({lines[i].substr(0, colon), lines[i].substr(colon + 1)});
  }
  std::string raw_path(line(2));
  std::string decoded(raw_path.size(), '\0');
  std::size_t n = portier::rules::percent_decode(raw_path, decoded.data());
  if (n != std::string_view::npos) {
    check(n <= raw_path.size(), "percent-decoding grew the path");
    decoded.resize(n);
  } else {
    decoded = raw_path;
  }
  std::string host(line(0));
  for (char& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const portier::rules::Request req{host,
                                    line(1),
                                    decoded,
                                    line(3),
                                    std::span<const portier::HeaderView>(headers),
                                    boost::asio::ip::make_address("10.0.0.1")};
  const bool m1 = rule->matches(req);
  const bool m2 = again->matches(req);
  check(m1 == m2, "match is not deterministic");
  // A rule pinned to hosts matches no other host (for hosts as the engine normalizes them).
  const bool normal = host.find(':') == std::string::npos && (host.empty() || host.back() != '.');
  if (m1 && normal && !rule->pinned_hosts().empty()) {
    bool pinned = false;
    for (const auto& h : rule->pinned_hosts()) pinned = pinned || h == host;
    check(pinned, "a host-pinned rule matched another host");
  }
  return 0;
}
