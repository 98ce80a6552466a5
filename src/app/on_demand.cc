#include "app/on_demand.h"

#include "common/curl_lib.h"

#include <cctype>

#include "common/log.h"

namespace portier::app {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kRefusal = std::chrono::minutes(1);    // how long an ask refusal is remembered
constexpr auto kOrderWait = std::chrono::minutes(1);  // handshakes wait this long after an order
constexpr std::size_t kMaxQueue = 256;
constexpr std::size_t kMaxEntries = 10'000;

std::size_t discard(char*, std::size_t size, std::size_t n, void*) { return size * n; }

}  // namespace

bool plausible_host_name(std::string_view name) {
  if (name.empty() || name.size() > 253 || name.find('.') == std::string_view::npos) return false;
  bool all_digits = true;
  std::size_t label = 0;
  for (std::size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '.') {
      if (label == 0 || label > 63 || name[i - 1] == '-' || name[i - label] == '-') return false;
      label = 0;
      continue;
    }
    unsigned char c = static_cast<unsigned char>(name[i]);
    if (!std::isalnum(c) && c != '-') return false;
    if (!std::isdigit(c)) all_digits = false;
    ++label;
  }
  return !all_digits;  // 192.0.2.1 is an address, not a name
}

OnDemandCertificates::OnDemandCertificates(std::string resolver, config::OnDemand cfg,
                                           acme::Manager& manager)
    : resolver_(std::move(resolver)), cfg_(std::move(cfg)), manager_(manager) {}

OnDemandCertificates::~OnDemandCertificates() { stop(); }

void OnDemandCertificates::start() {
  std::lock_guard lk(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void OnDemandCertificates::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool OnDemandCertificates::want(std::string_view name) {
  if (!enabled_.load(std::memory_order_relaxed) || !plausible_host_name(name)) return false;
  const auto now = Clock::now();
  std::lock_guard lk(mu_);
  if (stopping_) return false;
  if (auto it = entries_.find(name); it != entries_.end()) {
    switch (it->second.state) {
      case State::Asking:
        return true;
      case State::Ordered:
        return now < it->second.until;
      case State::Refused:
        if (now < it->second.until) return false;
        break;  // ask again
    }
  }
  if (queue_.size() >= kMaxQueue) return false;
  if (entries_.size() >= kMaxEntries) {
    std::erase_if(entries_, [&](const auto& e) {
      return e.second.state != State::Asking && e.second.until <= now;
    });
    if (entries_.size() >= kMaxEntries) return false;
  }
  entries_[std::string(name)] = Entry{State::Asking, {}};
  queue_.emplace_back(name);
  cv_.notify_one();
  return true;
}

long OnDemandCertificates::ask(const std::string& name) const {
  CURL* h = curl::easy_init();
  if (h == nullptr) return 0;
  char* escaped = curl::easy_escape(h, name.c_str(), static_cast<int>(name.size()));
  std::string url = cfg_.ask + (cfg_.ask.find('?') == std::string::npos ? "?" : "&") +
                    "domain=" + (escaped != nullptr ? escaped : "");
  curl::free(escaped);
  curl::easy_setopt(h, CURLOPT_URL, url.c_str());
  curl::easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
  curl::easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl::easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl::easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl::easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
  long status = 0;
  if (curl::easy_perform(h) == CURLE_OK) curl::easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl::easy_cleanup(h);
  return status;
}

void OnDemandCertificates::decide(const std::string& name, long status) {
  const auto now = Clock::now();
  Entry e{State::Refused, now + kRefusal};
  if (status != 200) {
    log::info("acme: on-demand certificate refused by the ask endpoint",
              {{"resolver", resolver_}, {"domain", name}, {"status", std::to_string(status)}});
  } else {
    while (!ordered_.empty() && ordered_.front() + cfg_.interval <= now) ordered_.pop_front();
    if (ordered_.size() >= static_cast<std::size_t>(cfg_.burst)) {
      e.until = ordered_.front() + cfg_.interval;
      log::warn("acme: on-demand certificate not ordered: rate limit reached",
                {{"resolver", resolver_},
                 {"domain", name},
                 {"burst", std::to_string(cfg_.burst)},
                 {"interval_ms", std::to_string(cfg_.interval.count())}});
    } else {
      ordered_.push_back(now);
      e = Entry{State::Ordered, now + kOrderWait};
      log::info("acme: on-demand certificate allowed; ordering",
                {{"resolver", resolver_}, {"domain", name}});
      manager_.add_on_demand({name});
    }
  }
  std::lock_guard lk(mu_);
  entries_[name] = e;
}

void OnDemandCertificates::run() {
  std::unique_lock lk(mu_);
  while (true) {
    cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    std::string name = std::move(queue_.front());
    queue_.pop_front();
    lk.unlock();
    decide(name, ask(name));
    lk.lock();
  }
}

}  // namespace portier::app
