#include "proxy/middlewares/htpasswd.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <memory>
#include <string>

namespace portier::proxy::mw {
namespace {

constexpr std::string_view kItoa64 =
    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::string_view trim(std::string_view s) {
  auto sp = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && sp(s.front())) s.remove_prefix(1);
  while (!s.empty() && sp(s.back())) s.remove_suffix(1);
  return s;
}

bool equal_ct(std::string_view a, std::string_view b) {
  // The length is not secret (it is fixed by the hash type); the contents are.
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

// One MD5 computation over several pieces.
class Md5 {
 public:
  Md5() : ctx_(EVP_MD_CTX_new()) { reset(); }
  void reset() { EVP_DigestInit_ex(ctx_.get(), EVP_md5(), nullptr); }
  void add(std::string_view s) { EVP_DigestUpdate(ctx_.get(), s.data(), s.size()); }
  std::array<unsigned char, 16> finish() {
    std::array<unsigned char, 16> out{};
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx_.get(), out.data(), &n);
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx_;
};

std::string_view as_sv(const std::array<unsigned char, 16>& a) {
  return {reinterpret_cast<const char*>(a.data()), a.size()};
}

// Why our own: libxcrypt implements $1$ but not Apache's $apr1$, which differs only in the magic
// string mixed into the first digest. This is the algorithm of Apache's apr_md5.c (and of
// go-http-auth's MD5Crypt, which Traefik uses).
std::string md5_crypt(std::string_view password, std::string_view salt, std::string_view magic) {
  salt = salt.substr(0, 8);
  Md5 d;
  d.add(password);
  d.add(magic);
  d.add(salt);
  Md5 d2;
  d2.add(password);
  d2.add(salt);
  d2.add(password);
  auto mix = d2.finish();
  for (size_t i = 0; i < password.size(); i += 16) {
    d.add(as_sv(mix).substr(0, std::min<size_t>(16, password.size() - i)));
  }
  for (size_t i = password.size(); i != 0; i >>= 1) {
    if (i & 1) {
      d.add(std::string_view("\0", 1));
    } else {
      d.add(password.substr(0, 1));
    }
  }
  auto fin = d.finish();
  for (int i = 0; i < 1000; ++i) {
    d2.reset();
    if (i & 1) {
      d2.add(password);
    } else {
      d2.add(as_sv(fin));
    }
    if (i % 3 != 0) d2.add(salt);
    if (i % 7 != 0) d2.add(password);
    if (i & 1) {
      d2.add(as_sv(fin));
    } else {
      d2.add(password);
    }
    fin = d2.finish();
  }
  std::string out(magic);
  out.append(salt);
  out.push_back('$');
  // 16 bytes in the crypt order, 6 bits at a time, low bits first.
  static constexpr std::array<int, 16> kOrder = {12, 6,  0, 13, 7, 1,  14, 8,
                                                 2,  15, 9, 3,  5, 10, 4,  11};
  unsigned v = 0;
  unsigned bits = 0;
  for (int i : kOrder) {
    v |= static_cast<unsigned>(fin[i]) << bits;
    for (bits += 8; bits > 6; bits -= 6) {
      out.push_back(kItoa64[v & 0x3f]);
      v >>= 6;
    }
  }
  out.push_back(kItoa64[v & 0x3f]);
  return out;
}

std::string base64(const unsigned char* p, size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), p, static_cast<int>(n));
  out.resize(static_cast<size_t>(len));
  return out;
}

bool verify_sha1(std::string_view b64, std::string_view password) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(password.data(), password.size(), md, &n, EVP_sha1(), nullptr) != 1) {
    return false;
  }
  return equal_ct(b64, base64(md, n));
}

bool is_des(std::string_view h) {
  return h.size() == 13 && std::all_of(h.begin(), h.end(), [](char c) {
           return kItoa64.find(c) != std::string_view::npos;
         });
}

bool verify_crypt(std::string_view hash, std::string_view password) {
  if (password.find('\0') != std::string_view::npos || hash.find('\0') != std::string_view::npos) {
    return false;
  }
  // struct crypt_data is ~32 KiB: one per thread, on the heap, reused.
  thread_local auto data = std::make_unique<crypt_data>();
  std::string phrase(password);
  std::string setting(hash);
  const char* out = crypt_rn(phrase.c_str(), setting.c_str(), data.get(), sizeof(crypt_data));
  // Scrub the copy of the password; crypt_data keeps intermediate state too.
  OPENSSL_cleanse(phrase.data(), phrase.size());
  // On an invalid setting crypt_rn returns NULL or a failure token starting with '*', which
  // can never equal a valid hash.
  bool ok = out != nullptr && out[0] != '*' && equal_ct(out, hash);
  OPENSSL_cleanse(data.get(), sizeof(crypt_data));
  return ok;
}

}  // namespace

std::string apr1_hash(std::string_view password, std::string_view salt) {
  return md5_crypt(password, salt, "$apr1$");
}

bool verify_password(std::string_view hash, std::string_view password) {
  if (starts_with(hash, "{SHA}")) return verify_sha1(hash.substr(5), password);
  if (starts_with(hash, "$apr1$")) {
    std::string_view rest = hash.substr(6);
    size_t dollar = rest.find('$');
    if (dollar == std::string_view::npos || dollar > 8) return false;
    return equal_ct(md5_crypt(password, rest.substr(0, dollar), "$apr1$"), hash);
  }
  static constexpr std::array<std::string_view, 7> kCrypt = {"$2a$", "$2b$", "$2y$", "$2x$",
                                                             "$1$",  "$5$",  "$6$"};
  for (std::string_view p : kCrypt) {
    if (starts_with(hash, p)) return verify_crypt(hash, password);
  }
  if (is_des(hash)) return verify_crypt(hash, password);
  return false;
}

Result<UserEntry> parse_user(std::string_view entry, UsersFormat format) {
  size_t want = format == UsersFormat::Basic ? 2 : 3;
  std::vector<std::string_view> fields;
  size_t start = 0;
  for (;;) {
    size_t colon = entry.find(':', start);
    fields.push_back(entry.substr(start, colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  if (fields.size() != want) {
    return Error{format == UsersFormat::Basic ? "expected user:hash" : "expected user:realm:hash"};
  }
  UserEntry e;
  if (format == UsersFormat::Basic) {
    e.key = std::string(fields[0]);
  } else {
    e.key = std::string(fields[0]) + ":" + std::string(fields[1]);
  }
  e.hash = std::string(fields.back());
  return e;
}

Result<std::vector<UserEntry>> parse_users_file(std::string_view contents, UsersFormat format) {
  std::vector<UserEntry> out;
  size_t line_no = 0;
  while (!contents.empty()) {
    ++line_no;
    size_t nl = contents.find('\n');
    std::string_view line = trim(contents.substr(0, nl));
    contents = nl == std::string_view::npos ? std::string_view{} : contents.substr(nl + 1);
    if (line.empty() || line.front() == '#') continue;
    auto e = parse_user(line, format);
    if (!e) return Error{"line " + std::to_string(line_no) + ": " + e.error().message};
    out.push_back(std::move(*e));
  }
  return out;
}

Result<UserMap> load_users(std::string_view file_contents, const std::vector<std::string>& users,
                           UsersFormat format) {
  auto from_file = parse_users_file(file_contents, format);
  if (!from_file) return Error{"usersFile: " + from_file.error().message};
  UserMap m;
  for (auto& e : *from_file) m[e.key] = std::move(e.hash);
  for (size_t i = 0; i < users.size(); ++i) {
    auto e = parse_user(users[i], format);
    if (!e) return Error{"users[" + std::to_string(i) + "]: " + e.error().message};
    m[e->key] = std::move(e->hash);
  }
  if (m.empty() && format == UsersFormat::Basic) return Error{"no users found"};
  return m;
}

}  // namespace portier::proxy::mw
