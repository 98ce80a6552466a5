// The file provider: dynamic configuration from one file or a directory of *.yml, *.yaml,
// *.json and *.toml files, reloaded when they change (inotify).
//
// Each change publishes a complete snapshot of everything the provider knows. A file that fails
// to read, parse or decode is reported with file and line, and its last good version stays in
// the snapshot; fixing the file recovers by itself. Robust to editors' write-then-rename and to
// symlink swaps (Kubernetes ConfigMaps): it watches the directories, not the files, and re-reads
// everything after a short debounce, comparing contents.
//
// Threading: runs on the io_context given (the control plane); publish() is called there.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/dynamic.h"
#include "config/static_config.h"

namespace portier::providers::file {

class FileProvider {
 public:
  using Publish = std::function<void(config::Configuration)>;

  // Relative paths in `cfg` are taken from `base` (the static file's directory).
  FileProvider(boost::asio::io_context& ctx, const config::FileProvider& cfg,
               const std::filesystem::path& base, Publish publish);
  ~FileProvider();

  // Loads and publishes once, then watches when `watch` is set.
  void start();
  void stop();

 private:
  struct FileState {
    std::string content;                        // last content read
    std::optional<config::Configuration> good;  // last version that decoded
  };
  std::vector<std::filesystem::path> list_files() const;
  void reload();
  void watch();
  void add_watch(const std::filesystem::path& dir);
  void read_events();
  void schedule_reload();

  boost::asio::io_context& ctx_;
  std::filesystem::path file_;  // when watching one file
  std::filesystem::path dir_;   // when watching a directory
  bool watch_;
  Publish publish_;
  std::map<std::filesystem::path, FileState> files_;
  std::optional<config::Configuration> last_published_;
  int inotify_fd_ = -1;
  std::vector<std::filesystem::path> watched_;
  boost::asio::posix::stream_descriptor events_;
  boost::asio::steady_timer debounce_;
  std::vector<char> event_buf_;
};

}  // namespace portier::providers::file
