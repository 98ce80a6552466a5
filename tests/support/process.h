// Test processes: start a binary with its output in a log file, wait for a log line with a
// deadline, signal it, read its memory use. Each Process kills (SIGKILL) and reaps its own child
// on destruction; nothing else is ever signalled.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portier::test {

class Process {
 public:
  static std::unique_ptr<Process> start(const std::vector<std::string>& argv,
                                        const std::filesystem::path& log_file);
  ~Process();

  pid_t pid() const { return pid_; }
  // First capture group of the first log line matching `regex`, waiting up to `timeout`.
  std::optional<std::string> wait_for_log(const std::string& regex,
                                          std::chrono::milliseconds timeout) const;
  std::string log() const;
  bool signal(int sig) const;
  // Exit status (or 128+signal) once the process exits, waiting up to `timeout`.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  bool running();
  long rss_kib() const;  // VmRSS
  long hwm_kib() const;  // VmHWM (peak)

 private:
  Process(pid_t pid, std::filesystem::path log) : pid_(pid), log_(std::move(log)) {}
  pid_t pid_;
  std::filesystem::path log_;
  std::optional<int> status_;
};

class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path write(const std::string& name, const std::string& content) const;

 private:
  std::filesystem::path path_;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bind to 0, read it, close): nothing
// listens there, so connecting to it is refused, until something else takes it.
int free_port();

// A process's anonymous resident memory in kB (RssAnon of /proc/<pid>/status), -1 if unknown.
long anon_kib(pid_t pid);

// Resident kB of a process's mappings of `file` with permissions `perms` ("r-xp": code), summed
// over /proc/<pid>/smaps; -1 if unknown.
long mapped_kib(pid_t pid, const std::filesystem::path& file, std::string_view perms);
// The same summed over every mapping with `perms` whose path `which` accepts.
long mapped_kib(pid_t pid, const std::function<bool(const std::string& path)>& which,
                std::string_view perms);

// Polls `pred` every 10 ms until it is true or `timeout` passes.
template <typename Pred>
bool poll_until(Pred pred, std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    struct timespec ts {
      0, 10'000'000
    };
    nanosleep(&ts, nullptr);
  }
  return pred();
}

}  // namespace portier::test
