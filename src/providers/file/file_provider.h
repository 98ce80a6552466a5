// The file provider: dynamic configuration from one file or a directory of *.yml, *.yaml,
// *.json and *.toml files, subdirectories included (as Traefik), reloaded when they change
// (inotify on the directory and every subdirectory). Names starting with a dot are skipped,
// files and directories alike (editors' swap files, a Kubernetes ConfigMap's `..data`);
// symlinked files are followed, symlinked directories are not (as Traefik), and the walk
// stops kDirectoryDepth levels down.
//
// Each change publishes a complete snapshot of everything the provider knows, merged from the
// version served for each file. Robust to editors' write-then-rename and to symlink swaps
// (Kubernetes ConfigMaps): it watches the directories, not the files, and after each burst of
// events (Timing::debounce) re-reads every file, comparing contents.
//
// A file is applied only when it is quiet and sound; otherwise its last good version stays
// served (file_state.h has the rules):
//   - written and not yet closed: not read (an editor's swap file appearing next to a file
//     half-way through a write does not load the half);
//   - changed with no close event seen: read again `settle` later, applied if both reads agree;
//   - broken (does not decode), or empty after having had objects: refused, reported;
//   - deleted: its objects go (after `settle`, to ride over editors' rename-away-then-write).
// To tell a write still in progress from a finished one the pass drains the inotify queue just
// before and just after reading the files; a file with an event in between is not decided on.
// Events about other files in the watched directories (a log written next to the configuration)
// are read and dropped (event_matters; a symlinked file's target counts as the file), and the
// watcher reads the queue at most once every kEventPause, so a file written thousands of times
// a second costs a few wake-ups a second.
//
// What it refused or is waiting for is reported as plain data (config::ProviderStatus, each
// issue with file, line, message and since when) through `report`, after every pass that
// changed it, and logged with the file name.
//
// Threading: runs on the io_context given (the control plane); publish() and report() are
// called there. Reads files synchronously (configuration files are small).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/dynamic.h"
#include "config/provider_status.h"
#include "config/static_config.h"
#include "providers/file/file_state.h"

namespace portier::providers::file {

class FileProvider {
 public:
  using Publish = std::function<void(config::Configuration)>;
  using Report = std::function<void(config::ProviderStatus)>;

  // Relative paths in `cfg` are taken from `base` (the static file's directory). `report` may
  // be empty.
  FileProvider(boost::asio::io_context& ctx, const config::FileProvider& cfg,
               const std::filesystem::path& base, Publish publish, Report report = {},
               Timing timing = {});
  ~FileProvider();

  // Loads and publishes once (every file as it is), then watches when `watch` is set.
  void start();
  void stop();

 private:
  // What inotify said about one path since it was last decided on.
  struct Seen {
    Activity activity = Activity::None;
    std::chrono::steady_clock::time_point last_write{};
    std::uint64_t last_seq = 0;  // event_seq_ of its latest event
  };
  static constexpr int kDirectoryDepth = 16;
  // The configuration files, and (into `dirs`, when given) the directories walked.
  std::vector<std::filesystem::path> list_files(
      std::vector<std::filesystem::path>* dirs = nullptr) const;
  void pass(bool initial);
  void log_outcome(Outcome outcome, const FileState& before, const FileState& after,
                   const std::string& path) const;
  void publish_and_report();
  void watch();
  void add_watch(const std::filesystem::path& dir);
  void wait_events();
  // Reads every queued event; returns how many. Sets `overflowed` when the kernel dropped some
  // (then nothing is known about any path).
  std::size_t drain_events(bool& overflowed);
  void schedule_pass(std::chrono::milliseconds after, boost::asio::steady_timer& timer);
  // The paths whose events concern `p`: itself and, for a symlink, its target.
  std::vector<std::string> keys_of(const std::filesystem::path& p) const;

  std::filesystem::path file_;  // when watching one file
  std::filesystem::path dir_;   // when watching a directory
  bool watch_;
  Publish publish_;
  Report report_;
  Timing timing_;
  std::map<std::filesystem::path, FileState> files_;
  std::optional<config::Configuration> last_published_;
  std::optional<config::ProviderStatus> last_reported_;
  int inotify_fd_ = -1;
  std::map<int, std::filesystem::path> watched_;  // watch descriptor -> directory
  std::map<std::string, Seen> seen_;              // by lexically normal path
  std::uint64_t event_seq_ = 0;                   // events read so far
  boost::asio::posix::stream_descriptor events_;
  boost::asio::steady_timer debounce_;  // a pass after a burst of events
  boost::asio::steady_timer recheck_;   // a pass for files settling or being written
  std::vector<char> event_buf_;
  // One-file mode: the file's name and its symlink target's, for event_matters (file_state.h).
  std::vector<std::string> file_names_;
  // The targets of the symlinked files the last pass read (keys_of): an event about one of
  // them matters whatever its name (a config file linking to "routes.yml.real" beside it).
  std::set<std::string> link_targets_;
  // Between reading the queued events and waiting for more (kEventPause, file_provider.cc).
  boost::asio::steady_timer pause_;
};

}  // namespace portier::providers::file
