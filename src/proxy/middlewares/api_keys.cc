#include "proxy/middlewares/api_keys.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <set>

#include "proxy/middlewares/htpasswd.h"

namespace portier::proxy::mw {
namespace {

std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t' || v.front() == '\r')) {
    v.remove_prefix(1);
  }
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r')) {
    v.remove_suffix(1);
  }
  return v;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::array<unsigned char, 32> sha256(std::string_view s) {
  std::array<unsigned char, 32> out{};
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), out.data(), &len, EVP_sha256(), nullptr);
  return out;
}

// Adds "name:hash"; "" or an error message without the entry's text.
std::string add(std::string_view entry, ApiKeyTable& t, std::set<std::string>& names) {
  auto colon = entry.find(':');
  if (colon == std::string_view::npos) return "expected name:hash";
  std::string name(trim(entry.substr(0, colon)));
  std::string_view hash = trim(entry.substr(colon + 1));
  if (name.empty()) return "empty key name";
  if (!names.insert(name).second) return "key name `" + name + "` appears twice";
  if (hash.size() >= 7 && (hash.substr(0, 7) == "sha256:" || hash.substr(0, 7) == "SHA256:")) {
    std::string_view hex = hash.substr(7);
    if (hex.size() != 64) return "key `" + name + "`: sha256 needs 64 hex digits";
    ApiKeyTable::Fast f{name, {}};
    for (std::size_t i = 0; i < 32; ++i) {
      int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
      if (hi < 0 || lo < 0) return "key `" + name + "`: sha256 needs 64 hex digits";
      f.sha256[i] = static_cast<unsigned char>(hi * 16 + lo);
    }
    t.fast.push_back(std::move(f));
  } else if (hash.starts_with("$") || hash.starts_with("{SHA}")) {
    t.slow.push_back({name, std::string(hash)});
  } else {
    return "key `" + name + "`: the hash must be sha256:<hex> or an htpasswd hash ($2y$...)";
  }
  return "";
}

}  // namespace

Result<ApiKeyTable> ApiKeyTable::load(std::string_view file, const std::vector<std::string>& keys) {
  ApiKeyTable t;
  std::set<std::string> names;
  int line_no = 0;
  while (!file.empty()) {
    ++line_no;
    auto end = file.find('\n');
    std::string_view line = trim(file.substr(0, end));
    file = end == std::string_view::npos ? std::string_view() : file.substr(end + 1);
    if (line.empty() || line.front() == '#') continue;
    if (auto e = add(line, t, names); !e.empty()) {
      return Error{"apiKey.keysFile: line " + std::to_string(line_no) + ": " + e};
    }
  }
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (auto e = add(keys[i], t, names); !e.empty()) {
      return Error{"apiKey.keys[" + std::to_string(i) + "]: " + e};
    }
  }
  if (t.fast.empty() && t.slow.empty()) return Error{"apiKey: no keys given"};
  return t;
}

const std::string* ApiKeyTable::match_fast(std::string_view key) const {
  if (fast.empty()) return nullptr;
  const auto digest = sha256(key);
  const std::string* found = nullptr;
  for (const auto& f : fast) {
    // No branch on secret data besides the final pick: every entry is compared in full.
    const bool eq = CRYPTO_memcmp(f.sha256.data(), digest.data(), digest.size()) == 0;
    found = eq ? &f.name : found;
  }
  return found;
}

const std::string* ApiKeyTable::match_slow(std::string_view key) const {
  for (const auto& s : slow) {
    if (verify_password(s.hash, key)) return &s.name;
  }
  return nullptr;
}

}  // namespace portier::proxy::mw
