#include "providers/file/file_provider.h"

#include <fcntl.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <tuple>

#include "common/log.h"

namespace portier::providers::file {

namespace fs = std::filesystem;
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// A configuration file larger than this is refused rather than read (rule 7: every buffer has
// a limit).
constexpr std::size_t kMaxFileBytes = 16 * 1024 * 1024;
// How long the watcher waits after reading the queued events before waiting for more.
constexpr std::chrono::milliseconds kEventPause{10};

bool is_config_file(const fs::path& p) {
  auto ext = p.extension().string();
  return ext == ".yml" || ext == ".yaml" || ext == ".json" || ext == ".toml";
}

std::string key(const fs::path& p) { return p.lexically_normal().string(); }

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Observation read_file(const fs::path& p) {
  Observation o;
  // O_NONBLOCK: a FIFO named like a configuration file must not block the control plane.
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      o.kind = Observation::Kind::Missing;
    } else {
      o.kind = Observation::Kind::Unreadable;
      o.error = std::strerror(errno);
    }
    return o;
  }
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      o.kind = Observation::Kind::Unreadable;
      o.error = std::strerror(errno);
      break;
    }
    if (o.content.size() + static_cast<std::size_t>(n) > kMaxFileBytes) {
      o.kind = Observation::Kind::Unreadable;
      o.error = "larger than " + std::to_string(kMaxFileBytes) + " bytes";
      break;
    }
    o.content.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (o.kind != Observation::Kind::Content) o.content.clear();
  return o;
}

// Adds `from`'s objects to `into`; a name defined twice keeps its first definition.
void add_objects(config::Configuration& into, const config::Configuration& from,
                 const std::string& file, std::vector<config::ProviderIssue>& issues) {
  auto twice = [&](const char* kind, const std::string& name) {
    log::error(std::string(kind) + " defined in two files; the second is ignored",
               {{"provider", "file"}, {kind, name}, {"file", file}});
    issues.push_back({file, 0,
                      file + ": " + kind + " `" + name +
                          "` is defined in another file too; this definition is ignored",
                      true});
  };
  for (const auto& [k, v] : from.http.routers) {
    if (!into.http.routers.emplace(k, v).second) twice("router", k);
  }
  for (const auto& [k, v] : from.http.services) {
    if (!into.http.services.emplace(k, v).second) twice("service", k);
  }
  for (const auto& [k, v] : from.http.middlewares) {
    if (!into.http.middlewares.emplace(k, v).second) twice("middleware", k);
  }
  for (const auto& [k, v] : from.tcp.routers) {
    if (!into.tcp.routers.emplace(k, v).second) twice("tcp router", k);
  }
  for (const auto& [k, v] : from.tcp.services) {
    if (!into.tcp.services.emplace(k, v).second) twice("tcp service", k);
  }
  for (const auto& [k, v] : from.tcp.middlewares) {
    if (!into.tcp.middlewares.emplace(k, v).second) twice("tcp middleware", k);
  }
  for (const auto& [k, v] : from.tcp.servers_transports) {
    if (!into.tcp.servers_transports.emplace(k, v).second) twice("tcp serversTransport", k);
  }
  for (const auto& [k, v] : from.http.servers_transports) {
    if (!into.http.servers_transports.emplace(k, v).second) twice("serversTransport", k);
  }
  for (const auto& [k, v] : from.udp.routers) {
    if (!into.udp.routers.emplace(k, v).second) twice("udp router", k);
  }
  for (const auto& [k, v] : from.udp.services) {
    if (!into.udp.services.emplace(k, v).second) twice("udp service", k);
  }
  into.tls.certificates.insert(into.tls.certificates.end(), from.tls.certificates.begin(),
                               from.tls.certificates.end());
  for (const auto& [k, v] : from.tls.options) {
    if (!into.tls.options.emplace(k, v).second) twice("options", k);
  }
  for (const auto& [k, v] : from.tls.stores) {
    if (!into.tls.stores.emplace(k, v).second) twice("store", k);
  }
}

}  // namespace

FileProvider::FileProvider(asio::io_context& ctx, const config::FileProvider& cfg,
                           const fs::path& base, Publish publish, Report report, Timing timing)
    : watch_(cfg.watch),
      publish_(std::move(publish)),
      report_(std::move(report)),
      timing_(timing),
      events_(ctx),
      debounce_(ctx),
      recheck_(ctx),
      event_buf_(64 * 1024),
      pause_(ctx) {
  auto resolve = [&](const std::string& p) {
    return fs::path(p).is_absolute() ? fs::path(p) : base / p;
  };
  if (!cfg.filename.empty()) {
    file_ = resolve(cfg.filename);
  } else {
    dir_ = resolve(cfg.directory);
  }
}

FileProvider::~FileProvider() { stop(); }

void FileProvider::start() {
  // Watch first, so that a change made while the first pass reads is not lost.
  if (watch_) watch();
  pass(true);
}

void FileProvider::stop() {
  boost::system::error_code ec;
  debounce_.cancel();
  recheck_.cancel();
  pause_.cancel();
  if (events_.is_open()) events_.close(ec);  // closes the inotify descriptor too
  inotify_fd_ = -1;
}

std::vector<fs::path> FileProvider::list_files(std::vector<fs::path>* dirs) const {
  if (!file_.empty()) return {file_};
  std::vector<fs::path> out;
  std::vector<std::pair<fs::path, int>> todo = {{dir_, 0}};
  while (!todo.empty()) {
    auto [dir, depth] = todo.back();
    todo.pop_back();
    if (dirs != nullptr) dirs->push_back(dir);
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      // Dot names are not configuration: swap files, ConfigMap internals (..data, ..2024_...).
      if (e.path().filename().string().front() == '.') continue;
      std::error_code tec;
      if (e.is_directory(tec) && !e.is_symlink(tec)) {
        if (depth + 1 < kDirectoryDepth) todo.emplace_back(e.path(), depth + 1);
        continue;
      }
      // is_regular_file follows symlinks, as ConfigMap mounts need.
      if (is_config_file(e.path()) && fs::is_regular_file(e.path(), tec)) out.push_back(e.path());
    }
    if (ec) {
      log::error("cannot list directory",
                 {{"provider", "file"}, {"directory", dir.string()}, {"error", ec.message()}});
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> FileProvider::keys_of(const fs::path& p) const {
  std::vector<std::string> out{key(p)};
  std::error_code ec;
  if (fs::is_symlink(p, ec)) {
    fs::path target = fs::canonical(p, ec);
    if (!ec && key(target) != out.front()) out.push_back(key(target));
  }
  return out;
}

void FileProvider::pass(bool initial) {
  bool overflowed = false;
  if (!initial) drain_events(overflowed);
  const std::uint64_t read_from = event_seq_;
  struct Item {
    fs::path path;
    Observation obs;
    std::vector<std::string> keys;
  };
  std::vector<Item> items;
  std::vector<fs::path> dirs;
  const auto paths = list_files(&dirs);
  if (!initial) {
    log::debug("configuration files read again",
               {{"provider", "file"}, {"files", std::to_string(paths.size())}});
  }
  // Subdirectories made since the last pass are watched from now on; the files already in
  // them were just listed.
  if (inotify_fd_ >= 0 && file_.empty()) {
    for (const auto& d : dirs) add_watch(d);
  }
  for (const auto& [p, s] : files_) {
    if (std::find(paths.begin(), paths.end(), p) == paths.end()) {
      items.push_back({p, Observation{Observation::Kind::Missing}, {}});
    }
  }
  for (const auto& p : paths) items.push_back({p, read_file(p), keys_of(p)});
  link_targets_.clear();
  for (const auto& item : items) {
    if (item.keys.size() > 1) link_targets_.insert(item.keys.begin() + 1, item.keys.end());
  }
  // Events that arrived while reading: those files are not decided on in this pass; the next
  // pass comes after the debounce.
  if (!initial && drain_events(overflowed) > 0) schedule_pass(timing_.debounce, debounce_);

  const auto now = std::chrono::steady_clock::now();
  std::optional<std::chrono::milliseconds> recheck;
  auto recheck_after = [&](std::chrono::milliseconds d) {
    d = std::max(d, 1ms);
    if (!recheck || d < *recheck) recheck = d;
  };
  for (auto& item : items) {
    Observation& o = item.obs;
    o.activity = initial ? Activity::Closed : Activity::None;
    bool disturbed = false;
    std::chrono::steady_clock::time_point last_write{};
    for (const auto& k : item.keys) {
      auto it = seen_.find(k);
      if (initial || overflowed || it == seen_.end()) continue;
      const Seen& seen = it->second;
      if (seen.last_seq > read_from) disturbed = true;
      if (seen.activity == Activity::Open ||
          (seen.activity == Activity::Closed && o.activity == Activity::None)) {
        o.activity = seen.activity;
      }
      last_write = std::max(last_write, seen.last_write);
    }
    if (disturbed) {
      o.activity = Activity::Open;
      last_write = now;
    }
    if (o.activity == Activity::Open) {
      o.quiet_for = std::chrono::duration_cast<std::chrono::milliseconds>(now - last_write);
    }
    const std::string name = item.path.string();
    FileState& state = files_[item.path];
    const FileState before = state;
    const Outcome outcome = step(state, name, o, timing_);
    log_outcome(outcome, before, state, name);
    if (outcome == Outcome::Removed) files_.erase(item.path);
    if (outcome == Outcome::Settling) recheck_after(timing_.settle);
    if (outcome == Outcome::Waiting && !disturbed) {
      recheck_after(timing_.open_grace - o.quiet_for);
    }
  }
  // What inotify said has now been acted on, except writes not closed yet and events that
  // arrived while reading.
  for (auto it = seen_.begin(); it != seen_.end();) {
    bool keep = it->second.activity == Activity::Open || it->second.last_seq > read_from;
    it = keep ? std::next(it) : seen_.erase(it);
  }
  if (recheck) schedule_pass(*recheck, recheck_);
  publish_and_report();
}

void FileProvider::log_outcome(Outcome outcome, const FileState& before, const FileState& after,
                               const std::string& path) const {
  static const config::Configuration kEmpty;
  switch (outcome) {
    case Outcome::Applied:
      if (before.good) {
        log::info("configuration file reloaded", {{"provider", "file"}, {"file", path}});
      }
      for (const auto& w : after.good->warnings) {
        log::warn("configuration not served", {{"provider", "file"}, {"at", w}});
      }
      break;
    case Outcome::Broken:
      log::error(after.good ? "configuration file rejected; its last good version stays live"
                            : "configuration file rejected",
                 {{"provider", "file"}, {"file", path}, {"error", after.refused->message}});
      break;
    case Outcome::Emptied:
      log::warn("configuration file is empty; its last good version stays live",
                {{"provider", "file"}, {"file", path}});
      break;
    case Outcome::Unreadable:
      log::error(after.good ? "cannot read configuration file; its last good version stays live"
                            : "cannot read configuration file",
                 {{"provider", "file"}, {"file", path}, {"error", after.unreadable}});
      break;
    case Outcome::Waiting:
      if (!before.waiting) {
        log::info("configuration file is being written; it is read once closed",
                  {{"provider", "file"}, {"file", path}});
      }
      break;
    case Outcome::Removed:
      if (before.good && !(*before.good == kEmpty)) {
        log::info("configuration file removed; its objects are removed",
                  {{"provider", "file"}, {"file", path}});
      }
      break;
    case Outcome::Settling:
      log::debug("configuration file changed without a close event, or vanished; looking again",
                 {{"provider", "file"}, {"file", path}});
      break;
    case Outcome::Unchanged:
      break;
  }
}

void FileProvider::publish_and_report() {
  config::Configuration merged;
  std::vector<config::ProviderIssue> issues;
  for (const auto& [p, state] : files_) {
    if (state.good) add_objects(merged, *state.good, p.string(), issues);
    auto mine = issues_of(state, p.string(), timing_);
    issues.insert(issues.end(), mine.begin(), mine.end());
  }
  if (!file_.empty() && !files_.count(file_)) {
    issues.push_back(
        {file_.string(), 0, file_.string() + ": file not found; it provides nothing", true});
  }
  std::sort(issues.begin(), issues.end(), [](const auto& a, const auto& b) {
    return std::tie(a.file, a.line, a.message) < std::tie(b.file, b.line, b.message);
  });
  // An issue that was already there keeps its time.
  const std::int64_t now = unix_ms_now();
  for (auto& issue : issues) {
    issue.since_unix_ms = now;
    if (!last_reported_) continue;
    for (const auto& old : last_reported_->issues) {
      if (old.file == issue.file && old.line == issue.line && old.message == issue.message &&
          old.warning == issue.warning) {
        issue.since_unix_ms = old.since_unix_ms;
      }
    }
  }
  if (!last_published_ || !(*last_published_ == merged)) {
    last_published_ = merged;
    publish_(std::move(merged));
  }
  config::ProviderStatus status{std::move(issues)};
  if (!last_reported_ || !(*last_reported_ == status)) {
    last_reported_ = status;
    if (report_) report_(std::move(status));
  }
}

void FileProvider::watch() {
  inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0) {
    log::error("cannot watch configuration files (inotify_init1 failed); changes need a restart",
               {{"provider", "file"}});
    return;
  }
  events_.assign(inotify_fd_);
  // Watch directories, not files: editors and ConfigMaps replace files by rename, which a
  // watch on the file itself would lose.
  add_watch(file_.empty() ? dir_ : file_.parent_path());
  if (file_.empty()) {
    std::vector<fs::path> dirs;
    list_files(&dirs);
    for (const auto& d : dirs) add_watch(d);
  }
  // A symlinked file or directory changes where its target lives; watch that directory too.
  std::error_code ec;
  fs::path target = fs::canonical(file_.empty() ? dir_ : file_, ec);
  if (!ec) add_watch(file_.empty() ? target : target.parent_path());
  if (!file_.empty()) {
    file_names_.push_back(file_.filename().string());
    if (!ec && target.filename() != file_.filename()) {
      file_names_.push_back(target.filename().string());
    }
  }
  wait_events();
}

void FileProvider::add_watch(const fs::path& dir) {
  fs::path d = dir.empty() ? fs::path(".") : dir;
  // IN_MODIFY and IN_CLOSE_WRITE tell a file being written from a finished one.
  constexpr uint32_t kMask = IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE |
                             IN_DELETE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF;
  int wd = ::inotify_add_watch(inotify_fd_, d.c_str(), kMask);
  if (wd < 0) {
    log::error("cannot watch directory", {{"provider", "file"}, {"directory", d.string()}});
    return;
  }
  watched_.emplace(wd, d);  // the same directory twice has one descriptor: the first name wins
}

void FileProvider::wait_events() {
  events_.async_wait(asio::posix::descriptor_base::wait_read,
                     [this](const boost::system::error_code& ec) {
                       if (ec) return;  // stopped
                       bool overflowed = false;
                       if (drain_events(overflowed) > 0) {
                         schedule_pass(timing_.debounce, debounce_);
                       }
                       // A file written continuously in a watched directory (a log) would
                       // otherwise wake this thread for every write: waiting a little lets
                       // the kernel merge its repeated events in the queue (inotify folds an
                       // event identical to the last one queued). A pass comes no sooner than
                       // the debounce after an event anyway.
                       pause_.expires_after(kEventPause);
                       pause_.async_wait([this](const boost::system::error_code& pec) {
                         if (!pec) wait_events();
                       });
                     });
}

std::size_t FileProvider::drain_events(bool& overflowed) {
  if (inotify_fd_ < 0) return 0;
  std::size_t count = 0;
  const auto now = std::chrono::steady_clock::now();
  for (;;) {
    ssize_t n = ::read(inotify_fd_, event_buf_.data(), event_buf_.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EAGAIN: drained
    for (ssize_t off = 0; off + static_cast<ssize_t>(sizeof(inotify_event)) <= n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(event_buf_.data() + off);
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
      if (ev->mask & IN_Q_OVERFLOW) {
        ++count;
        // Events were lost: nothing is known about any file; the settle rule takes over.
        overflowed = true;
        seen_.clear();
        continue;
      }
      auto dir = watched_.find(ev->wd);
      if (dir == watched_.end() || ev->len == 0) {
        ++count;  // the watched directory itself: moved, deleted, its mode changed, unwatched
        continue;
      }
      // ev->name is NUL-padded to ev->len.
      if (!event_matters(ev->name, (ev->mask & IN_ISDIR) != 0, file_names_) &&
          (link_targets_.empty() || !link_targets_.contains(key(dir->second / ev->name)))) {
        continue;
      }
      ++count;
      Seen& seen = seen_[key(dir->second / ev->name)];
      seen.last_seq = ++event_seq_;
      if (ev->mask & IN_MODIFY) {
        seen.activity = Activity::Open;
        seen.last_write = now;
      } else if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) {
        seen.activity = Activity::Closed;
        seen.last_write = now;
      } else if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
        seen.activity = Activity::None;
      }
    }
  }
  return count;
}

void FileProvider::schedule_pass(std::chrono::milliseconds after, asio::steady_timer& timer) {
  timer.expires_after(after);
  timer.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) pass(false);
  });
}

}  // namespace portier::providers::file
