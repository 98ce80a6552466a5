#include "acme/schedule.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include "acme/crypto.h"
#include "acme/manager_state.h"
#include "acme/transport.h"
#include "unit/acme/test_certs.h"

namespace portier::acme {
namespace {

using std::chrono::milliseconds;

TEST(Schedule, RetryBackoff) {
  struct Case {
    int failures;
    double jitter;
    std::int64_t ms;
  };
  const milliseconds base(60'000);
  std::vector<Case> cases = {{1, 0, 60'000},     {2, 0, 600'000},    {3, 0, 6'000'000},
                             {4, 0, 86'400'000}, {9, 0, 86'400'000}, {1, 1, 66'000},
                             {1, -1, 54'000},    {4, 1, 95'040'000}};
  for (const auto& c : cases) {
    SCOPED_TRACE(std::to_string(c.failures) + " " + std::to_string(c.jitter));
    EXPECT_EQ(retry_delay(c.failures, base, c.jitter).count(), c.ms);
  }
}

TEST(Schedule, RetryBaseFromEnvironment) {
  ::unsetenv("PORTIER_ACME_RETRY_BASE_MS");
  EXPECT_EQ(retry_base_from_env(), milliseconds(60'000));
  ::setenv("PORTIER_ACME_RETRY_BASE_MS", "250", 1);
  EXPECT_EQ(retry_base_from_env(), milliseconds(250));
  ::setenv("PORTIER_ACME_RETRY_BASE_MS", "x", 1);
  EXPECT_EQ(retry_base_from_env(), milliseconds(60'000));
  ::unsetenv("PORTIER_ACME_RETRY_BASE_MS");
}

TEST(Schedule, RenewWhenAThirdOfTheLifetimeRemains) {
  EXPECT_EQ(renewal_due(0, 90), 60);
  EXPECT_EQ(renewal_due(1000, 1000 + 90 * 86400), 1000 + 60 * 86400);
}

// certificatesDuration counts only when the certificate's dates give no lifetime; then Traefik's
// table says how long before notAfter to renew.
TEST(Schedule, CertificatesDurationWhenTheCertificateGivesNoLifetime) {
  constexpr std::int64_t h = 3600, d = 24 * h, na = 1'000'000'000;
  struct Case {
    std::int64_t not_before, not_after, hours, want;
  };
  std::vector<Case> cases = {
      {na - 90 * d, na, 24, na - 30 * d},  // a real lifetime wins over certificatesDuration
      {na - 6 * d, na, 2160, na - 2 * d},  // 6-day certificates: the last third
      {na, na, 2160, na - 30 * d},         // no lifetime: Traefik's 90-day row
      {na + 5, na, 2160, na - 30 * d},     // notBefore after notAfter: the same
      {na, na, 365 * 24, na - 120 * d},
      {na, na, 30 * 24, na - 10 * d},
      {na, na, 6 * 24, na - 2 * d},
      {na, na, 24, na - 6 * h},
      {na, na, 1, na - 20 * 60},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::to_string(c.not_before - na) + " " + std::to_string(c.hours));
    EXPECT_EQ(renewal_due(c.not_before, c.not_after, c.hours), c.want);
  }
}

TEST(Schedule, AriCertIdRfc9773Example) {
  CertInfo c;
  c.authority_key_id = std::string(
      "\x69\x88\x5B\x6B\x87\x46\x40\x41\xE1\xB3\x7B\x84\x7B\xA0\xAE\x2C"
      "\xDE\x01\xC8\xD4",
      20);
  c.serial = std::string("\x00\x87\x65\x43\x21", 5);
  EXPECT_EQ(ari_cert_id(c), "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
  c.authority_key_id.clear();
  EXPECT_EQ(ari_cert_id(c), "");
}

TEST(Schedule, AriCertIdFromARealCertificate) {
  auto key = generate_key("EC256");
  ASSERT_TRUE(key);
  auto info = parse_leaf(testing::self_signed(key->get(), {"a.test"}, -60, 3600, 0x1234));
  ASSERT_TRUE(info);
  EXPECT_EQ(info->serial, std::string("\x12\x34"));
  EXPECT_EQ(info->authority_key_id.size(), 20u);
  EXPECT_EQ(info->not_after - info->not_before, 3660);
  EXPECT_NE(ari_cert_id(*info).find('.'), std::string::npos);
  auto high = parse_leaf(testing::self_signed(key->get(), {"a.test"}, -60, 3600, 0x87));
  ASSERT_TRUE(high);
  EXPECT_EQ(high->serial, std::string("\x00\x87", 2));  // DER keeps the sign octet
}

TEST(Schedule, RenewalInfoWindow) {
  auto w = parse_renewal_info(
      R"({"suggestedWindow":{"start":"2025-01-02T04:00:00Z","end":"2025-01-03T04:00:00.5+02:00"}})");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->start, 1735790400);
  EXPECT_EQ(w->end, 1735790400 + 86400 - 7200);
  EXPECT_EQ(pick_in_window(*w, 0.0), w->start);
  EXPECT_EQ(pick_in_window(*w, 0.5), w->start + (w->end - w->start) / 2);
  EXPECT_FALSE(parse_renewal_info(R"({"suggestedWindow":{"start":"x","end":"y"}})"));
  EXPECT_FALSE(parse_renewal_info(
      R"({"suggestedWindow":{"start":"2025-01-03T00:00:00Z","end":"2025-01-02T00:00:00Z"}})"));
  EXPECT_FALSE(parse_renewal_info("[]"));
}

TEST(Schedule, NameSetIdentity) {
  EXPECT_EQ(normalize_domains({"B.test", "a.test", "b.test"}),
            (std::vector<std::string>{"a.test", "b.test"}));
}

TEST(Transport, LinksAndRetryAfter) {
  HttpResponse r;
  r.headers = {
      {"link", "<https://ca/dir>;rel=\"index\""},
      {"Link", "<https://ca/cert/1/1>;rel=\"alternate\", <https://ca/cert/1/2>; rel=alternate"},
      {"Retry-After", "7"}};
  EXPECT_EQ(r.links("alternate"),
            (std::vector<std::string>{"https://ca/cert/1/1", "https://ca/cert/1/2"}));
  EXPECT_EQ(r.links("index"), (std::vector<std::string>{"https://ca/dir"}));
  EXPECT_EQ(r.retry_after(std::chrono::seconds(1)), std::chrono::seconds(7));
  r.headers = {{"Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"}};
  EXPECT_EQ(r.retry_after(std::chrono::seconds(1)), std::chrono::seconds(0));  // in the past
  r.headers = {};
  EXPECT_EQ(r.retry_after(std::chrono::seconds(3)), std::chrono::seconds(3));
}

}  // namespace
}  // namespace portier::acme

namespace portier::acme {
namespace {

// The resolver's certificatesDuration reaches the renewal time of a stored certificate whose
// dates give no lifetime (the status shows when the next attempt is due).
TEST(Schedule, ResolverUsesCertificatesDurationForACertificateWithoutLifetime) {
  auto key = generate_key("EC256");
  ASSERT_TRUE(key);
  const long in_100_days = 100L * 86400;
  std::string pem = testing::self_signed(key->get(), {"a.test"}, in_100_days, in_100_days);
  auto info = parse_leaf(pem);
  ASSERT_TRUE(info);
  ASSERT_EQ(info->not_before, info->not_after);
  auto path = std::filesystem::temp_directory_path() /
              ("portier-duration-" + std::to_string(::getpid()) + ".json");
  for (auto [hours, before] : {std::pair<std::int64_t, std::int64_t>{2160, 30L * 86400},
                               std::pair<std::int64_t, std::int64_t>{24, 6L * 3600}}) {
    SCOPED_TRACE(hours);
    ResolverConfig cfg;
    cfg.name = "le";
    cfg.storage = path.string();
    cfg.certificates_duration_hours = hours;
    ASSERT_TRUE(Storage(cfg.storage, "le").save(
        ResolverData{std::nullopt, {StoredCertificate{{"a.test"}, pem, "KEY", "default"}}, {}}));
    ResolverState state(cfg, std::chrono::minutes(1));
    ASSERT_TRUE(state.load());
    state.set_wanted({{"a.test"}});
    state.set_ari("a.test", false, std::nullopt, now_ms() + 3'600'000);  // no ARI
    auto st = state.status(now_ms());
    ASSERT_EQ(st.size(), 1u);
    EXPECT_EQ(st[0].state, "valid");
    EXPECT_EQ(st[0].next_attempt, info->not_after - before);
  }
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace portier::acme
