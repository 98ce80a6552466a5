#include "proxy/middlewares/digest.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdint>
#include <stdexcept>

#include "common/base64.h"

namespace portier::proxy::mw {
namespace {

constexpr size_t kNonceBody = 16;  // issued-at + random
constexpr size_t kNonceBytes = kNonceBody + 16;

std::string hex(const unsigned char* p, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kHex[p[i] >> 4]);
    out.push_back(kHex[p[i] & 0xf]);
  }
  return out;
}

bool ieq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if ((a[i] | 0x20) != (b[i] | 0x20)) return false;
  }
  return true;
}

bool is_tchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

bool equal_ct(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

std::optional<DigestCredentials> parse_digest_authorization(std::string_view v) {
  size_t sp = v.find(' ');
  if (sp == std::string_view::npos || !ieq(v.substr(0, sp), "Digest")) return std::nullopt;
  DigestCredentials c;
  size_t i = sp;
  auto skip_ows = [&] {
    while (i < v.size() && (v[i] == ' ' || v[i] == '\t')) ++i;
  };
  skip_ows();
  while (i < v.size()) {
    size_t k = i;
    while (i < v.size() && is_tchar(v[i])) ++i;
    std::string_view key = v.substr(k, i - k);
    skip_ows();
    if (key.empty() || i >= v.size() || v[i] != '=') return std::nullopt;
    ++i;
    skip_ows();
    std::string value;
    if (i < v.size() && v[i] == '"') {
      for (++i;; ++i) {
        if (i >= v.size()) return std::nullopt;  // unterminated
        if (v[i] == '"') break;
        if (v[i] == '\\') {
          if (++i >= v.size()) return std::nullopt;
        }
        value.push_back(v[i]);
      }
      ++i;
    } else {
      size_t s = i;
      while (i < v.size() && is_tchar(v[i])) ++i;
      value = std::string(v.substr(s, i - s));
    }
    skip_ows();
    if (i < v.size()) {
      if (v[i] != ',') return std::nullopt;
      ++i;
      skip_ows();
    }
    std::string* field = nullptr;
    if (ieq(key, "username")) field = &c.username;
    if (ieq(key, "realm")) field = &c.realm;
    if (ieq(key, "nonce")) field = &c.nonce;
    if (ieq(key, "uri")) field = &c.uri;
    if (ieq(key, "response")) field = &c.response;
    if (ieq(key, "algorithm")) field = &c.algorithm;
    if (ieq(key, "cnonce")) field = &c.cnonce;
    if (ieq(key, "opaque")) field = &c.opaque;
    if (ieq(key, "qop")) field = &c.qop;
    if (ieq(key, "nc")) field = &c.nc;
    if (field) *field = std::move(value);
  }
  return c;
}

std::string md5_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), md, &n, EVP_md5(), nullptr);
  return hex(md, n);
}

std::string digest_response(std::string_view ha1, std::string_view nonce, std::string_view nc,
                            std::string_view cnonce, std::string_view qop, std::string_view method,
                            std::string_view uri) {
  std::string ha2 = md5_hex(std::string(method) + ":" + std::string(uri));
  std::string kd(ha1);
  for (std::string_view part : {nonce, nc, cnonce, qop, std::string_view(ha2)}) {
    kd.push_back(':');
    kd.append(part);
  }
  return md5_hex(kd);
}

DigestAuth::DigestAuth(std::string realm, std::span<const unsigned char> key,
                       Clock::duration nonce_ttl)
    : realm_(std::move(realm)), key_(key.begin(), key.end()), ttl_(nonce_ttl) {
  if (key.size() < 16) throw std::invalid_argument("digest nonce key shorter than 16 bytes");
  static constexpr std::string_view kLabel = "portier digest opaque";
  opaque_ = hex(
      nonce_mac({reinterpret_cast<const unsigned char*>(kLabel.data()), kLabel.size()}).data(), 16);
}

std::array<unsigned char, 16> DigestAuth::nonce_mac(std::span<const unsigned char> body) const {
  std::string msg(reinterpret_cast<const char*>(body.data()), body.size());
  msg += realm_;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), md, &n);
  std::array<unsigned char, 16> out{};
  std::copy(md, md + out.size(), out.begin());
  return out;
}

std::string DigestAuth::make_nonce(Clock::time_point now,
                                   std::span<const unsigned char, 8> random) const {
  std::array<unsigned char, kNonceBytes> raw{};
  auto ms = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count());
  for (int i = 0; i < 8; ++i) raw[i] = static_cast<unsigned char>(ms >> (56 - 8 * i));
  std::copy(random.begin(), random.end(), raw.begin() + 8);
  auto mac = nonce_mac({raw.data(), kNonceBody});
  std::copy(mac.begin(), mac.end(), raw.begin() + kNonceBody);
  return base64url_encode(
      std::string_view(reinterpret_cast<const char*>(raw.data()), raw.size()));
}

std::string DigestAuth::challenge(Clock::time_point now, bool stale) const {
  std::array<unsigned char, 8> random{};
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  std::string out = "Digest realm=" + quote(realm_) + ", nonce=\"" + make_nonce(now, random) +
                    "\", opaque=\"" + opaque_ + "\", ";
  if (stale) out += "stale=true, ";
  out += "algorithm=MD5, qop=\"auth\"";
  return out;
}

DigestAuth::NonceState DigestAuth::nonce_state(std::string_view nonce,
                                               Clock::time_point now) const {
  auto raw = base64url_decode(nonce);
  if (!raw || raw->size() != kNonceBytes) return NonceState::Bad;
  auto* p = reinterpret_cast<const unsigned char*>(raw->data());
  auto mac = nonce_mac({p, kNonceBody});
  if (CRYPTO_memcmp(mac.data(), p + kNonceBody, mac.size()) != 0) return NonceState::Bad;
  uint64_t ms = 0;
  for (int i = 0; i < 8; ++i) ms = (ms << 8) | p[i];
  Clock::time_point issued{std::chrono::milliseconds(ms)};
  // A nonce from the future cannot come from this process's steady clock: forged or a bug.
  if (issued > now) return NonceState::Bad;
  return now - issued >= ttl_ ? NonceState::Expired : NonceState::Fresh;
}

DigestAuth::Result DigestAuth::check(std::string_view authorization, std::string_view method,
                                     std::string_view request_target, const UserMap& users,
                                     Clock::time_point now) const {
  Result r;
  auto c = parse_digest_authorization(authorization);
  if (!c) return r;
  r.username = c->username;
  r.outcome = Outcome::Invalid;
  // As go-http-auth: a missing algorithm means MD5 (broken clients omit it).
  if (!c->algorithm.empty() && c->algorithm != "MD5") return r;
  if (c->opaque != opaque_ || c->qop != "auth") return r;
  if (c->uri != request_target) return r;
  NonceState ns = nonce_state(c->nonce, now);
  if (ns == NonceState::Bad) return r;
  auto user = users.find(c->username + ":" + realm_);
  if (user == users.end()) return r;
  const std::string& ha1 = user->second;
  std::string expected = digest_response(ha1, c->nonce, c->nc, c->cnonce, c->qop, method, c->uri);
  if (!equal_ct(expected, c->response)) return r;
  // nc must be hex, as go-http-auth's ParseUint(nc, 16) requires.
  if (c->nc.empty() || c->nc.size() > 16 ||
      c->nc.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
    return r;
  }
  if (ns == NonceState::Expired) {
    r.outcome = Outcome::Stale;
    return r;
  }
  r.outcome = Outcome::Ok;
  // rspauth: as the response, with an empty method (RFC 7616 3.5).
  std::string rspauth = digest_response(ha1, c->nonce, c->nc, c->cnonce, c->qop, "", c->uri);
  r.authentication_info =
      "qop=auth, rspauth=\"" + rspauth + "\", cnonce=" + quote(c->cnonce) + ", nc=" + c->nc;
  return r;
}

}  // namespace portier::proxy::mw
