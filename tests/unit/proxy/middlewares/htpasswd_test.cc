// Users files and password hashes. The vectors were generated on this machine (Debian 12,
// OpenSSL 3.0, libxcrypt 4.4.33) with the commands in the comments; the two $apr1$ vectors from
// Traefik's documentation (test:test, test2:test2) come from Apache's htpasswd, an independent
// implementation; $2a$05$CCCC... is crypt_blowfish's own test vector.
#include "proxy/middlewares/htpasswd.h"

#include <gtest/gtest.h>

namespace portier::proxy::mw {
namespace {

struct HashCase {
  std::string name;
  std::string hash;
  std::string password;
  bool ok;
};

TEST(Htpasswd, VerifyPassword) {
  std::vector<HashCase> cases = {
      // openssl passwd -apr1 -salt r31.... test123
      {"apr1", "$apr1$r31....$0sgGvUE2ebRwj3EuTo/yP1", "test123", true},
      {"apr1 wrong", "$apr1$r31....$0sgGvUE2ebRwj3EuTo/yP1", "test124", false},
      {"apr1 empty password", "$apr1$r31....$0sgGvUE2ebRwj3EuTo/yP1", "", false},
      // openssl passwd -apr1 -salt saltsalt 'p@ss w:rd'
      {"apr1 8-char salt", "$apr1$saltsalt$YMdOzL0vPGuyYiBiwA417.", "p@ss w:rd", true},
      {"apr1 traefik docs test", "$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/", "test", true},
      {"apr1 traefik docs test2", "$apr1$d9hr9HBB$4HxwgUir3HP4EsggP/QNo0", "test2", true},
      {"apr1 truncated", "$apr1$r31....$0sgGvUE2ebRwj3EuTo/yP", "test123", false},
      {"apr1 no hash part", "$apr1$r31....", "test123", false},
      {"apr1 salt too long", "$apr1$r31.....x$0sgGvUE2ebRwj3EuTo/yP1", "test123", false},
      // openssl passwd -1 -salt abcdefgh test123
      {"md5-crypt", "$1$abcdefgh$FuRpVTqE/Onxax.jDI2aR/", "test123", true},
      {"md5-crypt wrong", "$1$abcdefgh$FuRpVTqE/Onxax.jDI2aR/", "Test123", false},
      {"md5-crypt is not apr1", "$1$r31....$0sgGvUE2ebRwj3EuTo/yP1", "test123", false},
      // openssl passwd -5 -salt saltstring test123
      {"sha256-crypt", "$5$saltstring$O7oDIcUlbNNSXwFDkfo3OgUHWouWNc50xsLb4oDEec8", "test123",
       true},
      // python3: crypt.crypt("test123", "$5$rounds=1000$mysalt")
      {"sha256-crypt rounds", "$5$rounds=1000$mysalt$yiijBA6/gy4ESUpYBb9bCB95cFirgQdY2iPNw4YLhkD",
       "test123", true},
      // openssl passwd -6 -salt saltstring test123
      {"sha512-crypt",
       "$6$saltstring$W4OJbbRWemb6GNnTMa9RlcSozfJ18FNF6ikNnfZxheFZjw2qm0x2U9jSLH1bCqRSluDgFHJWXyl3"
       ".cA1TCX/a.",
       "test123", true},
      {"sha512-crypt wrong",
       "$6$saltstring$W4OJbbRWemb6GNnTMa9RlcSozfJ18FNF6ikNnfZxheFZjw2qm0x2U9jSLH1bCqRSluDgFHJWXyl3"
       ".cA1TCX/a.",
       "test12", false},
      {"sha512-crypt truncated", "$6$saltstring$W4OJbbRWemb6GNnTMa9RlcSozfJ18FNF6ik", "test123",
       false},
      // python3: crypt.crypt("test123", "$2b$04$abcdefghijklmnopqrstuu")
      {"bcrypt 2b", "$2b$04$abcdefghijklmnopqrstuuY7PturneRu55TuQb1Ei51BTRdrR8N56", "test123",
       true},
      {"bcrypt 2b wrong", "$2b$04$abcdefghijklmnopqrstuuY7PturneRu55TuQb1Ei51BTRdrR8N56", "test",
       false},
      // python3: crypt.crypt("test123", "$2y$10$abcdefghijklmnopqrstuu")
      {"bcrypt 2y cost 10", "$2y$10$abcdefghijklmnopqrstuu4zRHW0Gp7hZDlWa4vXe8sC.w22aBBZm",
       "test123", true},
      // python3: crypt.crypt("test123", "$2a$05$0123456789abcdefghijkl")
      {"bcrypt 2a", "$2a$05$0123456789abcdefghijkeJh.edPtpgcd/qUst36dfrUJaYsLXIvC", "test123",
       true},
      {"bcrypt crypt_blowfish vector",
       "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U", true},
      {"bcrypt truncated", "$2b$04$abcdefghijklmnopqrstuuY7PturneRu55TuQb1Ei51BTRdrR8N5", "test123",
       false},
      {"bcrypt bad cost", "$2b$99$abcdefghijklmnopqrstuuY7PturneRu55TuQb1Ei51BTRdrR8N56", "test123",
       false},
      {"bcrypt NUL in password", "$2b$04$abcdefghijklmnopqrstuuY7PturneRu55TuQb1Ei51BTRdrR8N56",
       std::string("test123\0x", 9), false},
      // echo -n test123 | openssl dgst -sha1 -binary | base64
      {"sha1", "{SHA}cojt0Pw//L6ToM8G41aOKFIWh7w=", "test123", true},
      {"sha1 wrong", "{SHA}cojt0Pw//L6ToM8G41aOKFIWh7w=", "test12", false},
      {"sha1 truncated", "{SHA}cojt0Pw//L6ToM8G41aOKFIWh7w", "test123", false},
      {"sha1 empty", "{SHA}", "", false},
      // python3: crypt.crypt("test123", "ab")
      {"des", "abRcsZmlrrKFA", "test123", true},
      {"des wrong", "abRcsZmlrrKFA", "test124", false},
      {"des uses 8 bytes", "abRcsZmlrrKFA", "test123 and more", false},
      {"plain text never matches", "test123", "test123", false},
      {"empty hash", "", "", false},
      {"unknown scheme", "$y$j9T$abc$def", "test123", false},
      {"13 chars but not des alphabet", "abRcsZmlrrKF!", "test123", false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(verify_password(c.hash, c.password), c.ok);
  }
}

TEST(Htpasswd, Apr1HashMatchesOpenssl) {
  EXPECT_EQ(apr1_hash("test123", "r31...."), "$apr1$r31....$0sgGvUE2ebRwj3EuTo/yP1");
  // Long passwords cross the 16-byte mixing boundary: openssl passwd -apr1 -salt abc <36 x>
  EXPECT_EQ(apr1_hash(std::string(36, 'x'), "abc"), "$apr1$abc$wK2bkPLQKuTrlcxPO0bd6/");
  EXPECT_TRUE(verify_password(apr1_hash(std::string(36, 'x'), "abc"), std::string(36, 'x')));
  EXPECT_FALSE(verify_password(apr1_hash(std::string(36, 'x'), "abc"), std::string(35, 'x')));
}

struct FileCase {
  std::string name;
  std::string contents;
  UsersFormat format;
  std::vector<std::pair<std::string, std::string>> want;  // key, hash
  std::string error;
};

TEST(Htpasswd, ParseUsersFile) {
  std::vector<FileCase> cases = {
      {"basic",
       "test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/\ntest2:{SHA}x\n",
       UsersFormat::Basic,
       {{"test", "$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/"}, {"test2", "{SHA}x"}},
       ""},
      {"comments, blanks, CRLF, spaces",
       "# users\n\n  a:h1  \r\n\t# indented comment\nb:h2",
       UsersFormat::Basic,
       {{"a", "h1"}, {"b", "h2"}},
       ""},
      {"empty fields accepted as Traefik",
       ":h\nu:",
       UsersFormat::Basic,
       {{"", "h"}, {"u", ""}},
       ""},
      {"missing colon", "a:h1\nnocolon\n", UsersFormat::Basic, {}, "line 2: expected user:hash"},
      {"too many colons", "\n\na:b:c", UsersFormat::Basic, {}, "line 3: expected user:hash"},
      {"digest",
       "test:traefik:a2688e031edb4be6a3797f3882655c05\n",
       UsersFormat::Digest,
       {{"test:traefik", "a2688e031edb4be6a3797f3882655c05"}},
       ""},
      {"digest two fields",
       "test:a2688e031edb4be6a3797f3882655c05",
       UsersFormat::Digest,
       {},
       "line 1: expected user:realm:hash"},
      {"empty file", "", UsersFormat::Basic, {}, ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = parse_users_file(c.contents, c.format);
    if (!c.error.empty()) {
      ASSERT_FALSE(r);
      EXPECT_EQ(r.error().message, c.error);
      continue;
    }
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->size(), c.want.size());
    for (size_t i = 0; i < c.want.size(); ++i) {
      EXPECT_EQ((*r)[i].key, c.want[i].first);
      EXPECT_EQ((*r)[i].hash, c.want[i].second);
    }
  }
}

TEST(Htpasswd, LoadUsersLaterEntriesWin) {
  auto m = load_users("a:file\nb:file\n", {"b:inline", "c:inline"}, UsersFormat::Basic);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->size(), 3u);
  EXPECT_EQ(m->at("a"), "file");
  EXPECT_EQ(m->at("b"), "inline");

  auto bad = load_users("", {"ok:h", "user-without-hash"}, UsersFormat::Basic);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "users[1]: expected user:hash");
  auto bad_file = load_users("x", {}, UsersFormat::Basic);
  ASSERT_FALSE(bad_file);
  EXPECT_EQ(bad_file.error().message, "usersFile: line 1: expected user:hash");

  auto none = load_users("# nobody\n", {}, UsersFormat::Basic);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message, "no users found");
  EXPECT_TRUE(load_users("", {}, UsersFormat::Digest));
}

TEST(Htpasswd, ErrorsDoNotRepeatTheSecret) {
  auto r = parse_users_file("user:realm:$apr1$secret$stuff", UsersFormat::Basic);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.find("secret"), std::string::npos);
}

}  // namespace
}  // namespace portier::proxy::mw
