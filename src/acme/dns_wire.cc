#include "acme/dns_wire.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>

#include "acme/ok.h"

namespace portier::acme::dns {
namespace {

void put16(std::string& out, std::uint16_t v) {
  out += static_cast<char>(v >> 8);
  out += static_cast<char>(v & 0xff);
}

void put32(std::string& out, std::uint32_t v) {
  put16(out, static_cast<std::uint16_t>(v >> 16));
  put16(out, static_cast<std::uint16_t>(v & 0xffff));
}

std::uint16_t get16(std::string_view w, std::size_t p) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(w[p]) << 8 |
                                    static_cast<unsigned char>(w[p + 1]));
}

std::uint32_t get32(std::string_view w, std::size_t p) {
  return static_cast<std::uint32_t>(get16(w, p)) << 16 | get16(w, p + 2);
}

// Uncompressed wire form of a name, lower case (the canonical form TSIG signs).
void put_name(std::string& out, std::string_view name) {
  std::string n = fqdn(name);
  if (n == ".") {
    out += '\0';
    return;
  }
  std::size_t start = 0;
  while (start < n.size()) {
    std::size_t dot = n.find('.', start);
    std::size_t len = std::min<std::size_t>(dot - start, 63);
    out += static_cast<char>(len);
    out.append(n, start, len);
    start = dot + 1;
  }
  out += '\0';
}

void put_record(std::string& out, const Record& r) {
  put_name(out, r.name);
  put16(out, r.type);
  put16(out, r.cls);
  put32(out, r.ttl);
  put16(out, static_cast<std::uint16_t>(r.rdata.size()));
  out += r.rdata;
}

// Reads a possibly compressed name at `pos` (advanced past it) into `out` (lower case, ending
// with a dot). False when malformed.
bool read_name(std::string_view w, std::size_t& pos, std::string& out) {
  out.clear();
  std::size_t p = pos;
  bool jumped = false;
  for (int hops = 0; hops < 64;) {
    if (p >= w.size()) return false;
    auto len = static_cast<unsigned char>(w[p]);
    if ((len & 0xc0) == 0xc0) {
      if (p + 1 >= w.size()) return false;
      if (!jumped) pos = p + 2;
      jumped = true;
      p = get16(w, p) & 0x3fff;
      ++hops;
      continue;
    }
    if ((len & 0xc0) != 0) return false;
    if (len == 0) {
      if (!jumped) pos = p + 1;
      if (out.empty()) out = ".";
      return out.size() <= 255;
    }
    if (p + 1 + len > w.size()) return false;
    for (std::size_t i = 0; i < len; ++i) {
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(w[p + 1 + i])));
    }
    out += '.';
    p += 1 + len;
    if (out.size() > 255) return false;
  }
  return false;
}

bool read_record(std::string_view w, std::size_t& pos, Record& r, bool question) {
  r.wire_offset = pos;
  if (!read_name(w, pos, r.name) || pos + 4 > w.size()) return false;
  r.type = get16(w, pos);
  r.cls = get16(w, pos + 2);
  pos += 4;
  if (question) return true;
  if (pos + 6 > w.size()) return false;
  r.ttl = get32(w, pos);
  std::size_t len = get16(w, pos + 4);
  pos += 6;
  if (pos + len > w.size()) return false;
  const std::size_t start = pos, end = pos + len;
  r.rdata.assign(w.substr(start, len));
  pos = end;
  if (r.type == kTXT) {
    for (std::size_t p = start; p < end;) {
      std::size_t n = static_cast<unsigned char>(w[p]);
      if (p + 1 + n > end) return false;
      r.text.append(w.substr(p + 1, n));
      p += 1 + n;
    }
  } else if (r.type == kNS || r.type == kCNAME || r.type == kSOA) {
    std::size_t p = start;
    if (!read_name(w, p, r.text) || p > end) return false;
  } else if ((r.type == kA && len == 4) || (r.type == kAAAA && len == 16)) {
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(r.type == kA ? AF_INET : AF_INET6, w.data() + start, buf, sizeof buf);
    r.text = buf;
  }
  return true;
}

const EVP_MD* tsig_md(std::string_view algorithm) {
  if (algorithm == "hmac-md5.sig-alg.reg.int.") return EVP_md5();
  if (algorithm == "hmac-sha1.") return EVP_sha1();
  if (algorithm == "hmac-sha224.") return EVP_sha224();
  if (algorithm == "hmac-sha256.") return EVP_sha256();
  if (algorithm == "hmac-sha384.") return EVP_sha384();
  if (algorithm == "hmac-sha512.") return EVP_sha512();
  return nullptr;
}

// The TSIG variables of RFC 8945 §4.3.3.
std::string tsig_variables(std::string_view key_name, std::string_view algorithm,
                           std::uint64_t time, std::uint16_t fudge, std::uint16_t error,
                           std::string_view other) {
  std::string v;
  put_name(v, key_name);
  put16(v, kClassANY);
  put32(v, 0);
  put_name(v, algorithm);
  put16(v, static_cast<std::uint16_t>(time >> 32));
  put32(v, static_cast<std::uint32_t>(time & 0xffffffff));
  put16(v, fudge);
  put16(v, error);
  put16(v, static_cast<std::uint16_t>(other.size()));
  v += other;
  return v;
}

Result<std::string> hmac(const TsigKey& key, std::string_view data) {
  const EVP_MD* md = tsig_md(key.algorithm);
  if (md == nullptr) return Error{"unsupported TSIG algorithm `" + key.algorithm + "`"};
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (HMAC(md, key.secret.data(), static_cast<int>(key.secret.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &n) == nullptr) {
    return Error{"TSIG: HMAC failed"};
  }
  return ok(std::string(reinterpret_cast<char*>(out), n));
}

}  // namespace

std::string fqdn(std::string_view name) {
  std::string out;
  for (char c : name) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (out.empty() || out.back() != '.') out += '.';
  return out;
}

const char* rcode_name(int rcode) {
  static const char* kNames[] = {"NOERROR",  "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
                                 "YXDOMAIN", "YXRRSET", "NXRRSET",  "NOTAUTH",  "NOTZONE"};
  return rcode >= 0 && rcode <= 10 ? kNames[rcode] : "RCODE?";
}

std::string encode_query(std::uint16_t id, std::string_view name, std::uint16_t type,
                         bool recursion_desired) {
  std::string out;
  put16(out, id);
  put16(out, recursion_desired ? 0x0100 : 0);
  put16(out, 1);
  put16(out, 0);
  put16(out, 0);
  put16(out, 1);
  put_name(out, name);
  put16(out, type);
  put16(out, kIN);
  // EDNS0 (RFC 6891): root name, OPT, 4096-byte payload, no flags.
  out += '\0';
  put16(out, kOPT);
  put16(out, 4096);
  put32(out, 0);
  put16(out, 0);
  return out;
}

std::string txt_rdata(std::string_view value) {
  std::string out;
  do {
    std::string_view part = value.substr(0, 255);
    out += static_cast<char>(part.size());
    out += part;
    value.remove_prefix(part.size());
  } while (!value.empty());
  return out;
}

std::string encode_update(std::uint16_t id, std::string_view zone,
                          const std::vector<Record>& updates) {
  std::string out;
  put16(out, id);
  put16(out, 5 << 11);  // opcode UPDATE
  put16(out, 1);        // ZOCOUNT
  put16(out, 0);        // PRCOUNT
  put16(out, static_cast<std::uint16_t>(updates.size()));
  put16(out, 0);
  put_name(out, zone);
  put16(out, kSOA);
  put16(out, kIN);
  for (const auto& r : updates) put_record(out, r);
  return out;
}

Result<Message> decode(std::string_view w) {
  if (w.size() < 12) return Error{"DNS message too short"};
  Message m;
  m.id = get16(w, 0);
  m.flags = get16(w, 2);
  std::size_t counts[4] = {get16(w, 4), get16(w, 6), get16(w, 8), get16(w, 10)};
  std::vector<Record>* sections[4] = {&m.question, &m.answer, &m.authority, &m.additional};
  std::size_t pos = 12;
  for (int s = 0; s < 4; ++s) {
    for (std::size_t i = 0; i < counts[s]; ++i) {
      Record r;
      if (!read_record(w, pos, r, s == 0)) return Error{"malformed DNS message"};
      sections[s]->push_back(std::move(r));
    }
  }
  return m;
}

std::optional<std::string> tsig_algorithm(std::string_view name) {
  std::string n = fqdn(name);
  if (n == "hmac-md5." || n == "hmac-md5.sig-alg.reg.int.") return "hmac-md5.sig-alg.reg.int.";
  if (tsig_md(n) != nullptr) return n;
  return std::nullopt;
}

Result<std::string> tsig_sign(std::string_view msg, const TsigKey& key, std::int64_t now,
                              std::string* mac_out) {
  if (msg.size() < 12) return Error{"DNS message too short"};
  constexpr std::uint16_t kFudge = 300;
  const auto time = static_cast<std::uint64_t>(now);
  std::string data(msg);
  data += tsig_variables(key.name, key.algorithm, time, kFudge, 0, "");
  auto mac = hmac(key, data);
  if (!mac) return mac.error();
  Record tsig;
  tsig.name = fqdn(key.name);
  tsig.type = kTSIG;
  tsig.cls = kClassANY;
  put_name(tsig.rdata, key.algorithm);
  put16(tsig.rdata, static_cast<std::uint16_t>(time >> 32));
  put32(tsig.rdata, static_cast<std::uint32_t>(time & 0xffffffff));
  put16(tsig.rdata, kFudge);
  put16(tsig.rdata, static_cast<std::uint16_t>(mac->size()));
  tsig.rdata += *mac;
  put16(tsig.rdata, get16(msg, 0));  // original ID
  put16(tsig.rdata, 0);              // error
  put16(tsig.rdata, 0);              // other len
  std::string out(msg);
  put_record(out, tsig);
  std::uint16_t ar = get16(out, 10) + 1;
  out[10] = static_cast<char>(ar >> 8);
  out[11] = static_cast<char>(ar & 0xff);
  if (mac_out != nullptr) *mac_out = std::move(*mac);
  return ok(std::move(out));
}

Result<bool> tsig_verify(std::string_view response, const TsigKey& key,
                         std::string_view request_mac, std::int64_t now) {
  auto m = decode(response);
  if (!m) return m.error();
  if (m->additional.empty() || m->additional.back().type != kTSIG) {
    return Error{"the server's answer is not signed (TSIG)"};
  }
  const Record& t = m->additional.back();
  if (t.name != fqdn(key.name)) return Error{"the answer is signed with another key: " + t.name};
  // RDATA: algorithm, time(6), fudge(2), mac size(2), mac, original id(2), error(2), other.
  std::string_view rd = t.rdata;
  std::size_t p = 0;
  std::string alg;
  if (!read_name(rd, p, alg) || p + 10 > rd.size()) return Error{"malformed TSIG record"};
  std::uint64_t time = static_cast<std::uint64_t>(get16(rd, p)) << 32 | get32(rd, p + 2);
  std::uint16_t fudge = get16(rd, p + 6);
  std::size_t mac_len = get16(rd, p + 8);
  p += 10;
  if (p + mac_len + 6 > rd.size()) return Error{"malformed TSIG record"};
  std::string_view mac = rd.substr(p, mac_len);
  p += mac_len;
  std::uint16_t original_id = get16(rd, p);
  std::uint16_t error = get16(rd, p + 2);
  std::size_t other_len = get16(rd, p + 4);
  if (p + 6 + other_len > rd.size()) return Error{"malformed TSIG record"};
  std::string_view other = rd.substr(p + 6, other_len);
  if (error != 0) {
    const char* what = error == 16   ? "BADSIG"
                       : error == 17 ? "BADKEY"
                       : error == 18 ? "BADTIME"
                                     : "error";
    return Error{std::string("the server rejected the TSIG signature: ") + what};
  }
  std::string data;
  if (!request_mac.empty()) {
    put16(data, static_cast<std::uint16_t>(request_mac.size()));
    data += request_mac;
  }
  std::string body(response.substr(0, t.wire_offset));
  body[0] = static_cast<char>(original_id >> 8);
  body[1] = static_cast<char>(original_id & 0xff);
  std::uint16_t ar = get16(body, 10) - 1;
  body[10] = static_cast<char>(ar >> 8);
  body[11] = static_cast<char>(ar & 0xff);
  data += body;
  data += tsig_variables(t.name, alg, time, fudge, error, other);
  TsigKey k = key;
  k.algorithm = alg;
  auto expected = hmac(k, data);
  if (!expected) return expected.error();
  if (expected->size() != mac.size() ||
      CRYPTO_memcmp(expected->data(), mac.data(), mac.size()) != 0) {
    return Error{"the answer's TSIG signature does not verify"};
  }
  const auto skew = static_cast<std::int64_t>(time) - now;
  if (skew > fudge || -skew > fudge)
    return Error{"the answer's TSIG time is off by more than the fudge"};
  return true;
}

}  // namespace portier::acme::dns
