#include "providers/file/file_provider.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "common/log.h"
#include "config/decode.h"
#include "config/toml.h"

namespace portier::providers::file {

namespace fs = std::filesystem;
namespace asio = boost::asio;

namespace {

bool is_config_file(const fs::path& p) {
  auto ext = p.extension().string();
  return ext == ".yml" || ext == ".yaml" || ext == ".json" || ext == ".toml";
}

std::optional<std::string> read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Adds `from`'s objects to `into`; a name defined twice keeps its first definition.
void add_objects(config::Configuration& into, const config::Configuration& from,
                 const std::string& file) {
  for (const auto& [k, v] : from.http.routers) {
    if (!into.http.routers.emplace(k, v).second) {
      log::error("router defined in two files; the second is ignored",
                 {{"provider", "file"}, {"router", k}, {"file", file}});
    }
  }
  for (const auto& [k, v] : from.http.services) {
    if (!into.http.services.emplace(k, v).second) {
      log::error("service defined in two files; the second is ignored",
                 {{"provider", "file"}, {"service", k}, {"file", file}});
    }
  }
  for (const auto& [k, v] : from.http.middlewares) {
    if (!into.http.middlewares.emplace(k, v).second) {
      log::error("middleware defined in two files; the second is ignored",
                 {{"provider", "file"}, {"middleware", k}, {"file", file}});
    }
  }
  into.tls.certificates.insert(into.tls.certificates.end(), from.tls.certificates.begin(),
                               from.tls.certificates.end());
  for (const auto& [k, v] : from.tls.options) {
    if (!into.tls.options.emplace(k, v).second) {
      log::error("tls option defined in two files; the second is ignored",
                 {{"provider", "file"}, {"options", k}, {"file", file}});
    }
  }
  for (const auto& [k, v] : from.tls.stores) {
    if (!into.tls.stores.emplace(k, v).second) {
      log::error("tls store defined in two files; the second is ignored",
                 {{"provider", "file"}, {"store", k}, {"file", file}});
    }
  }
}

}  // namespace

FileProvider::FileProvider(asio::io_context& ctx, const config::FileProvider& cfg,
                           const fs::path& base, Publish publish)
    : ctx_(ctx),
      watch_(cfg.watch),
      publish_(std::move(publish)),
      events_(ctx),
      debounce_(ctx),
      event_buf_(64 * 1024) {
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
  reload();
  if (watch_) watch();
}

void FileProvider::stop() {
  boost::system::error_code ec;
  debounce_.cancel();
  if (events_.is_open()) events_.close(ec);  // closes the inotify descriptor too
  inotify_fd_ = -1;
}

std::vector<fs::path> FileProvider::list_files() const {
  if (!file_.empty()) return {file_};
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    // is_regular_file follows symlinks, as ConfigMap mounts need; dot files (..data) are not
    // configuration.
    if (e.path().filename().string().front() != '.' && is_config_file(e.path()) &&
        fs::is_regular_file(e.path(), ec)) {
      out.push_back(e.path());
    }
  }
  if (ec)
    log::error("cannot list directory",
               {{"provider", "file"}, {"directory", dir_.string()}, {"error", ec.message()}});
  std::sort(out.begin(), out.end());
  return out;
}

void FileProvider::reload() {
  const auto paths = list_files();
  // Files that disappeared take their objects with them.
  for (auto it = files_.begin(); it != files_.end();) {
    bool present = std::find(paths.begin(), paths.end(), it->first) != paths.end();
    it = present ? std::next(it) : files_.erase(it);
  }
  for (const auto& p : paths) {
    auto content = read_all(p);
    auto& state = files_[p];
    if (!content) {
      log::error("cannot read configuration file; keeping its last good version",
                 {{"provider", "file"}, {"file", p.string()}});
      continue;
    }
    if (state.good && *content == state.content) continue;
    state.content = *content;
    auto cfg = [&]() -> Result<config::Configuration> {
      if (!config::is_toml_path(p.string()))
        return config::decode_dynamic_yaml(*content, p.string());
      auto tree = config::parse_toml(*content, p.string());
      if (!tree) return tree.error();
      return config::decode_dynamic_node(*tree, p.string(), config::ObjectErrors::Disable);
    }();
    if (!cfg) {
      log::error(state.good ? "configuration file rejected; its last good version stays live"
                            : "configuration file rejected",
                 {{"provider", "file"}, {"error", cfg.error().message}});
      continue;
    }
    for (const auto& w : cfg->warnings) {
      log::warn("configuration not served", {{"provider", "file"}, {"at", w}});
    }
    if (state.good)
      log::info("configuration file reloaded", {{"provider", "file"}, {"file", p.string()}});
    state.good = std::move(*cfg);
  }
  config::Configuration merged;
  for (const auto& [p, state] : files_) {
    if (state.good) add_objects(merged, *state.good, p.string());
  }
  if (last_published_ && *last_published_ == merged) return;
  last_published_ = merged;
  publish_(std::move(merged));
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
  // A symlinked file or directory changes where its target lives; watch that directory too.
  std::error_code ec;
  fs::path target = fs::canonical(file_.empty() ? dir_ : file_, ec);
  if (!ec) add_watch(file_.empty() ? target : target.parent_path());
  read_events();
}

void FileProvider::add_watch(const fs::path& dir) {
  fs::path d = dir.empty() ? fs::path(".") : dir;
  if (std::find(watched_.begin(), watched_.end(), d) != watched_.end()) return;
  constexpr uint32_t kMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE |
                             IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF;
  if (::inotify_add_watch(inotify_fd_, d.c_str(), kMask) < 0) {
    log::error("cannot watch directory", {{"provider", "file"}, {"directory", d.string()}});
    return;
  }
  watched_.push_back(d);
}

void FileProvider::read_events() {
  events_.async_read_some(asio::buffer(event_buf_),
                          [this](const boost::system::error_code& ec, std::size_t) {
                            if (ec) return;  // stopped
                            // Which file changed does not matter: everything is re-read (cheap, and
                            // robust to renames).
                            schedule_reload();
                            read_events();
                          });
}

void FileProvider::schedule_reload() {
  // Debounce: an editor's save or a ConfigMap swap is several events within milliseconds.
  debounce_.expires_after(std::chrono::milliseconds(50));
  debounce_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) reload();
  });
}

}  // namespace portier::providers::file
