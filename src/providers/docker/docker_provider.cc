#include "providers/docker/docker_provider.h"

#include <boost/asio/post.hpp>
#include <chrono>
#include <ctime>

#include "common/log.h"
#include "providers/docker/labels.h"

namespace portier::providers::docker {

DockerProvider::DockerProvider(boost::asio::io_context& control, BuilderOptions options,
                               std::unique_ptr<DockerApi> api, Publish publish, bool watch)
    : options_(std::move(options)),
      api_(std::move(api)),
      publisher_(control, "docker", "container", std::move(publish)),
      watch_(watch) {}

DockerProvider::~DockerProvider() { stop(); }

void DockerProvider::start() {
  thread_ = std::thread([this] { run(); });
}

void DockerProvider::stop() {
  stopping_ = true;
  api_->stop();
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void DockerProvider::backoff(int attempt, const std::string& why) {
  wait_backoff("docker", attempt, why, mu_, cv_, stopping_);
}

bool DockerProvider::sync() {
  auto ids = api_->list(options_.label_prefixes);
  if (!ids) return false;
  std::map<std::string, Container> fresh;
  for (const auto& id : *ids) {
    auto c = api_->inspect(id);
    if (!c) return false;
    if (*c) fresh[id] = std::move(**c);
  }
  containers_ = std::move(fresh);
  return true;
}

void DockerProvider::run() {
  int attempt = 0;
  while (!stopping_) {
    auto version = api_->connect();
    if (!version) {
      backoff(attempt++, "cannot reach the Engine (" + version.error().message + ")");
      continue;
    }
    const long long since = static_cast<long long>(std::time(nullptr)) - 1;
    if (!sync()) {
      backoff(attempt++, "listing containers failed");
      continue;
    }
    log::info("docker: connected", {{"provider", "docker"},
                                    {"api", *version},
                                    {"containers", std::to_string(containers_.size())}});
    attempt = 0;
    rebuild();
    if (!watch_) {  // providers.docker.watch: false
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_.load(); });
      break;
    }
    auto r = api_->events(since, [this](const Event& e) {
      if (stopping_) return false;
      on_event(e);
      return true;
    });
    if (stopping_) break;
    // The last snapshot stays live while the Engine is away.
    backoff(attempt++, r ? "event stream closed" : r.error().message);
  }
}

void DockerProvider::on_event(const Event& e) {
  events_.fetch_add(1, std::memory_order_relaxed);
  const std::string& a = e.action;
  if (e.type == "container") {
    if (a == "destroy") {
      if (containers_.erase(e.id) > 0) rebuild();
      return;
    }
    // Actions that can change routing; exec_* (every healthcheck run) and the like cannot.
    static const char* kRelevant[] = {"start", "restart", "die",    "stop",   "kill",
                                      "pause", "unpause", "rename", "update", "health_status"};
    bool relevant = false;
    for (const char* r : kRelevant) {
      if (a == r || (std::string_view(r) == "health_status" && a.rfind(r, 0) == 0)) {
        relevant = true;
      }
    }
    if (!relevant) return;
  } else if (e.type == "network") {
    if (a != "connect" && a != "disconnect") return;
  } else {
    return;
  }
  refresh(e.id);
}

void DockerProvider::refresh(const std::string& id) {
  auto c = api_->inspect(id);
  if (!c) {
    log::warn("docker: inspect failed",
              {{"provider", "docker"}, {"container", id}, {"error", c.error().message}});
    return;
  }
  if (*c && ((*c)->running || allows_non_running((*c)->labels, options_.label_prefixes))) {
    containers_[id] = std::move(**c);
  } else {
    containers_.erase(id);
  }
  rebuild();
}

void DockerProvider::rebuild() {
  std::vector<Container> list;
  for (const auto& [id, c] : containers_) list.push_back(c);
  publisher_(build_configuration(list, options_));
}

}  // namespace portier::providers::docker
