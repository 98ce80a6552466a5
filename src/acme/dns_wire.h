// The few DNS messages DNS-01 needs (RFC 1035 §4): queries, their answers, and dynamic UPDATE
// (RFC 2136 §2) signed with TSIG (RFC 8945, HMAC by OpenSSL). Pure functions over bytes; the
// decoder bounds-checks every read and follows at most 64 compression pointers per name.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace portier::acme::dns {

enum Type : std::uint16_t {
  kA = 1,
  kNS = 2,
  kCNAME = 5,
  kSOA = 6,
  kTXT = 16,
  kAAAA = 28,
  kOPT = 41,
  kTSIG = 250,
  kANY = 255
};
enum Class : std::uint16_t { kIN = 1, kNONE = 254, kClassANY = 255 };
enum Rcode : int { kNoError = 0, kFormErr = 1, kServFail = 2, kNXDomain = 3, kNotAuth = 9 };

struct Record {
  std::string name;  // lower case, with the trailing dot
  std::uint16_t type = 0;
  std::uint16_t cls = kIN;
  std::uint32_t ttl = 0;
  std::string rdata;  // raw (names inside uncompressed when decoded)
  // Decoded rdata: TXT strings joined; NS/CNAME/SOA(mname) target name; A/AAAA address text.
  std::string text;
  std::size_t wire_offset = 0;  // where the record starts in the decoded message
};

struct Message {
  std::uint16_t id = 0;
  std::uint16_t flags = 0;       // QR, opcode, AA, TC, RD, RA, rcode bits as on the wire
  std::vector<Record> question;  // only name, type and class are meaningful
  std::vector<Record> answer;
  std::vector<Record> authority;
  std::vector<Record> additional;
  int rcode() const { return flags & 0xf; }
  bool truncated() const { return (flags & 0x0200) != 0; }
};

// "example.com" or "example.com." -> "example.com." in lower case ("." for the root).
std::string fqdn(std::string_view name);
const char* rcode_name(int rcode);

// A query for (name, type) with an EDNS0 OPT record (4096-byte UDP payload).
std::string encode_query(std::uint16_t id, std::string_view name, std::uint16_t type,
                         bool recursion_desired);

// A TXT record's rdata: one character-string per 255 bytes of `value`.
std::string txt_rdata(std::string_view value);

// An UPDATE for `zone`: `updates` are added as given (RFC 2136 §2.5: class IN adds, class ANY
// with no rdata deletes an RRset, class NONE deletes one RR).
std::string encode_update(std::uint16_t id, std::string_view zone,
                          const std::vector<Record>& updates);

Result<Message> decode(std::string_view wire);

struct TsigKey {
  std::string name;       // key name, e.g. "portier-key."
  std::string algorithm;  // "hmac-sha256." ... ("hmac-md5.sig-alg.reg.int." for MD5)
  std::string secret;     // the decoded secret bytes
};

// Canonical algorithm name for lego's spellings ("hmac-sha256", "hmac-sha256.",
// "HMAC-SHA256."), or nothing for an unsupported one (md5, sha1, sha224, sha256, sha384, sha512).
std::optional<std::string> tsig_algorithm(std::string_view name);

// Appends a TSIG record signing `msg` (which must not have one) at `now` (unix seconds).
// `mac` receives the MAC, to check the response against.
Result<std::string> tsig_sign(std::string_view msg, const TsigKey& key, std::int64_t now,
                              std::string* mac = nullptr);
// Checks the TSIG record that ends `response` (signed with the request's `request_mac`; empty:
// `response` is a request, signed without one). An
// error says what is wrong: unsigned, another key, a bad MAC, or the server's TSIG error.
Result<bool> tsig_verify(std::string_view response, const TsigKey& key,
                         std::string_view request_mac, std::int64_t now);

}  // namespace portier::acme::dns
