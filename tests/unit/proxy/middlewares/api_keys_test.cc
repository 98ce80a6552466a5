// The apiKey key table: entry forms, errors that never echo a secret, constant-time matching.
#include "proxy/middlewares/api_keys.h"

#include <gtest/gtest.h>

namespace portier::proxy::mw {
namespace {

TEST(ApiKeys, LoadErrors) {
  struct Case {
    std::string file;
    std::vector<std::string> keys;
    std::string error;  // "" when it loads
  };
  const std::string hex64(64, 'a');
  const std::vector<Case> cases = {
      {"", {"a:sha256:" + hex64}, ""},
      {"# comment\n\nb:sha256:" + hex64 + "\r\n", {"a:$2y$05$abc"}, ""},
      {"", {}, "apiKey: no keys given"},
      {"", {"nocolon"}, "apiKey.keys[0]: expected name:hash"},
      {"", {":sha256:" + hex64}, "apiKey.keys[0]: empty key name"},
      {"",
       {"a:sha256:" + hex64, "a:sha256:" + hex64},
       "apiKey.keys[1]: key name `a` appears twice"},
      {"", {"a:sha256:abc"}, "sha256 needs 64 hex digits"},
      {"", {"a:sha256:" + std::string(64, 'g')}, "sha256 needs 64 hex digits"},
      {"", {"a:plaintext-secret"}, "must be sha256:<hex> or an htpasswd hash"},
      {"ok:sha256:" + hex64 + "\nbad\n", {}, "apiKey.keysFile: line 2: expected name:hash"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.error);
    auto t = ApiKeyTable::load(c.file, c.keys);
    if (c.error.empty()) {
      EXPECT_TRUE(t) << t.error().message;
    } else {
      ASSERT_FALSE(t);
      EXPECT_NE(t.error().message.find(c.error), std::string::npos) << t.error().message;
      EXPECT_EQ(t.error().message.find("plaintext-secret"), std::string::npos);
    }
  }
}

TEST(ApiKeys, Matching) {
  auto t = ApiKeyTable::load(
      "",
      {"one:sha256:9b346041bc9a49574eb2665b2ad2a0a3f9f9cce4e42f5d1f26deb8a256b5966a",
       "two:SHA256:C8DF51469C308A59BFBD48A3E0BDD228CA922D6032035F5EF6E4AD45F473A9F3",
       "three:{SHA}cr/1myyN/+R3Z7zMzw3zNjb+KoA="});  // base64(sha1("slow-key")): an htpasswd entry
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->fast.size(), 2u);
  EXPECT_EQ(t->slow.size(), 1u);
  ASSERT_NE(t->match_fast("key-one"), nullptr);
  EXPECT_EQ(*t->match_fast("key-one"), "one");
  ASSERT_NE(t->match_fast("key-two"), nullptr);
  EXPECT_EQ(*t->match_fast("key-two"), "two");
  EXPECT_EQ(t->match_fast("key-one "), nullptr);
  EXPECT_EQ(t->match_fast(""), nullptr);
  EXPECT_EQ(t->match_fast("slow-key"), nullptr);
  ASSERT_NE(t->match_slow("slow-key"), nullptr);
  EXPECT_EQ(*t->match_slow("slow-key"), "three");
  EXPECT_EQ(t->match_slow("key-one"), nullptr);
}

}  // namespace
}  // namespace portier::proxy::mw
