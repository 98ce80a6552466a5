#include "acme/storage.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "common/base64.h"
#include "acme/crypto.h"
#include "acme/jws.h"
#include "unit/acme/test_certs.h"

namespace portier::acme {
namespace {

namespace fs = std::filesystem;

class StorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::temp_directory_path() / ("portier-acme-unit-" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
    path_ = (dir_ / "acme.json").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write(const std::string& text, mode_t mode = 0600) {
    std::ofstream(path_) << text;
    ::chmod(path_.c_str(), mode);
  }
  std::string read() const {
    std::ifstream in(path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::vector<std::string> files() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(StorageTest, MissingFileIsEmpty) {
  auto r = Storage(path_, "le").load();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, ResolverData{});
}

// An acme.json as Traefik writes it: RSA account key in PKCS#1 DER (Traefik's NewAccount), an EC
// certificate, Go's []byte as standard base64, a second resolver, a key Traefik added later.
TEST_F(StorageTest, ReadsTraefikFile) {
  auto account_key = generate_key("RSA2048");
  auto cert_key = generate_key("EC256");
  ASSERT_TRUE(account_key && cert_key);
  std::string cert = testing::self_signed(cert_key->get(), {"a.test", "www.a.test"});
  std::string key_pem = private_key_pem(cert_key->get());
  std::string pkcs1 = private_key_der(account_key->get());
  nlohmann::json file = {
      {"le",
       {{"Account",
         {{"Email", "ops@a.test"},
          {"Registration",
           {{"body", {{"status", "valid"}, {"contact", {"mailto:ops@a.test"}}}},
            {"uri", "https://ca/acct/7"}}},
          {"PrivateKey", base64_encode(pkcs1)},
          {"KeyType", "4096"}}},
        {"Certificates",
         {{{"domain", {{"main", "a.test"}, {"sans", {"www.a.test"}}}},
           {"certificate", base64_encode(cert)},
           {"key", base64_encode(key_pem)},
           {"Store", "default"}},
          {{"domain", {{"main", "empty.test"}}},
           {"certificate", nullptr},
           {"key", nullptr},
           {"Store", "default"}}}}}},
      {"other", {{"Account", nullptr}, {"Certificates", nullptr}, {"Future", 1}}}};
  write(file.dump(2));

  auto r = Storage(path_, "le").load();
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(r->account);
  EXPECT_EQ(r->account->email, "ops@a.test");
  EXPECT_EQ(r->account->registration_uri, "https://ca/acct/7");
  EXPECT_EQ(r->account->key_type, "4096");
  auto k = parse_private_key_der(r->account->private_key_der);
  ASSERT_TRUE(k) << k.error().message;
  EXPECT_EQ(EVP_PKEY_eq(k->get(), account_key->get()), 1);
  EXPECT_EQ(jws_alg(k->get()), "RS256");
  ASSERT_EQ(r->certificates.size(), 1u);  // the empty entry is dropped, as Traefik does
  EXPECT_EQ(r->certificates[0].domains, (std::vector<std::string>{"a.test", "www.a.test"}));
  EXPECT_EQ(r->certificates[0].cert_pem, cert);
  EXPECT_EQ(r->certificates[0].key_pem, key_pem);
  auto info = parse_leaf(r->certificates[0].cert_pem);
  ASSERT_TRUE(info);
  EXPECT_GT(info->not_after, info->not_before);
  EXPECT_EQ(info->dns_names, (std::vector<std::string>{"a.test", "www.a.test"}));

  // Writing back keeps the other resolver and unknown keys, and the same field names.
  r->failures.push_back({{"b.test"}, 2, 1234567, "boom"});
  ASSERT_TRUE(Storage(path_, "le").save(*r));
  auto back = nlohmann::json::parse(read());
  EXPECT_EQ(back["other"], file["other"]);
  EXPECT_EQ(back["le"]["Account"]["PrivateKey"], file["le"]["Account"]["PrivateKey"]);
  EXPECT_EQ(back["le"]["Account"]["Registration"], file["le"]["Account"]["Registration"]);
  EXPECT_EQ(back["le"]["Certificates"][0], file["le"]["Certificates"][0]);
  EXPECT_EQ(back["le"]["PortierFailures"][0]["failures"], 2);
}

TEST_F(StorageTest, RoundTripAndFailureStatePersisted) {
  ResolverData d;
  d.account =
      StoredAccount{"x@y.test", {{"status", "valid"}}, "https://ca/a/1", "\x01\x02", "P256"};
  d.certificates.push_back({{"a.test"}, "CERT", "KEY", "default"});
  d.failures.push_back(
      {{"b.test", "c.test"}, 3, 1700000000123, "authorization for b.test is invalid"});
  Storage s(path_, "r1");
  ASSERT_TRUE(s.save(d));
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto r = s.load();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, d);
  // A second resolver in the same file leaves the first alone.
  ResolverData other;
  other.certificates.push_back({{"z.test"}, "C2", "K2", "default"});
  ASSERT_TRUE(Storage(path_, "r2").save(other));
  EXPECT_EQ(*Storage(path_, "r1").load(), d);
  EXPECT_EQ(*Storage(path_, "r2").load(), other);
  // Clearing the failures removes the key.
  d.failures.clear();
  ASSERT_TRUE(s.save(d));
  EXPECT_FALSE(nlohmann::json::parse(read())["r1"].contains("PortierFailures"));
}

TEST_F(StorageTest, AtomicWriteLeavesNoTempFile) {
  ResolverData d;
  d.certificates.push_back({{"a.test"}, "CERT", "KEY", "default"});
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Storage(path_, "le").save(d));
  EXPECT_EQ(files(), (std::vector<std::string>{"acme.json"}));
}

TEST_F(StorageTest, RefusesGroupOrWorldReadableFile) {
  write("{}", 0644);
  auto r = Storage(path_, "le").load();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, path_ +
                                   " has permissions 0644; it must not be readable by group "
                                   "or others (chmod 600 " +
                                   path_ + ")");
  write("{}", 0620);
  EXPECT_FALSE(Storage(path_, "le").load());
  write("{}", 0600);
  EXPECT_TRUE(Storage(path_, "le").load());
}

TEST_F(StorageTest, CorruptFileIsKeptAsideAndStartsEmpty) {
  write("{\"le\": {\"Account\": ");
  auto r = Storage(path_, "le").load();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, ResolverData{});
  auto names = files();
  ASSERT_EQ(names.size(), 1u);
  EXPECT_TRUE(names[0].starts_with("acme.json.corrupt-")) << names[0];
  std::ifstream in(dir_ / names[0]);
  std::string kept((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(kept, "{\"le\": {\"Account\": ");
}

TEST_F(StorageTest, EmptyFileIsEmpty) {
  write("");
  auto r = Storage(path_, "le").load();
  ASSERT_TRUE(r);
  EXPECT_EQ(files(), (std::vector<std::string>{"acme.json"}));
}

}  // namespace
}  // namespace portier::acme
