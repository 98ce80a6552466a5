// Base64 in its two alphabets: base64url without padding (RFC 7515 §2: ACME's JWS fields, digest
// nonces) and standard base64 with padding (acme.json's []byte fields, Basic credentials).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace portier {

std::string base64url_encode(std::string_view bytes);
// Accepts input with or without '=' padding; nothing on a character outside the alphabet.
std::optional<std::string> base64url_decode(std::string_view text);

std::string base64_encode(std::string_view bytes);
// Ignores ASCII whitespace (PEM-style line breaks); nothing on any other bad input.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace portier
