#include "proxy/sticky.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <stdexcept>

#include "proxy/http/parser.h"

namespace portier::proxy {
namespace {

std::string hex(const unsigned char* p, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[p[i] >> 4]);
    out.push_back(kDigits[p[i] & 15]);
  }
  return out;
}

bool token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^`|~").find(c) != std::string_view::npos;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

StickyTarget compile_sticky(const config::StickyCookie& cookie, const std::string& service) {
  StickyTarget t;
  if (cookie.name.empty()) {
    // Traefik's generated name: "_" and the start of SHA-1("_TRAEFIK_BACKEND_" + service), six
    // characters in all.
    const std::string data = "_TRAEFIK_BACKEND_" + service;
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
    t.name = ("_" + hex(digest, sizeof digest)).substr(0, 6);
  } else {
    t.name = cookie.name;
    for (char& c : t.name) {
      if (!token_char(c)) c = '_';
    }
  }
  if (!cookie.path.empty()) t.attributes += "; Path=" + cookie.path;
  if (!cookie.domain.empty()) t.attributes += "; Domain=" + cookie.domain;
  // As Go's http.Cookie: 0 means no Max-Age (a session cookie), negative means delete now.
  if (cookie.max_age > 0) t.attributes += "; Max-Age=" + std::to_string(cookie.max_age);
  if (cookie.max_age < 0) t.attributes += "; Max-Age=0";
  if (cookie.http_only) t.attributes += "; HttpOnly";
  if (cookie.secure) t.attributes += "; Secure";
  if (cookie.same_site == "none") t.attributes += "; SameSite=None";
  if (cookie.same_site == "lax") t.attributes += "; SameSite=Lax";
  if (cookie.same_site == "strict") t.attributes += "; SameSite=Strict";
  return t;
}

std::string sticky_value(std::string_view salt, std::string_view url) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), salt.data(), static_cast<int>(salt.size()),
       reinterpret_cast<const unsigned char*>(url.data()), url.size(), mac, &len);
  return hex(mac, 8);
}

std::string random_salt() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("RAND_bytes failed");
  return hex(bytes, sizeof bytes);
}

std::string_view find_cookie(const http::Fields& fields, std::string_view name) {
  for (const auto& f : fields) {
    if (!http::iequals(f.name, "cookie")) continue;
    std::string_view rest = f.value;
    while (!rest.empty()) {
      std::size_t semi = rest.find(';');
      std::string_view pair = trim(rest.substr(0, semi));
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      std::size_t eq = pair.find('=');
      if (eq == std::string_view::npos || trim(pair.substr(0, eq)) != name) continue;
      std::string_view value = trim(pair.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      return value;
    }
  }
  return {};
}

std::string set_cookie_field(const StickyTarget& sticky, std::string_view value) {
  std::string out = "Set-Cookie: ";
  out.append(sticky.name).append("=").append(value).append(sticky.attributes).append("\r\n");
  return out;
}

}  // namespace portier::proxy
