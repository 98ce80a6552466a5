#include "common/log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace portier::log {
namespace {

std::atomic<Level> g_level{Level::Info};
std::atomic<Format> g_format{Format::Common};
std::atomic<int> g_fd{2};
std::string g_path;  // set once by open_file, before other threads start

int open_append(const std::string& path, std::string& error) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) error = path + ": cannot open log file";
  return fd;
}

// `v` in double quotes, with quote and backslash escaped and control bytes written with
// `control_format` (JSON's u00XX escape, or the xXX escape of key=value lines).
void append_quoted(std::string& out, std::string_view v, const char* control_format) {
  out.push_back('"');
  for (char c : v) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char hex[8];
      std::snprintf(hex, sizeof hex, control_format, static_cast<unsigned char>(c));
      out.append(hex);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

void append_json_string(std::string& out, std::string_view v) { append_quoted(out, v, "\\u%04x"); }

void append_value(std::string& out, std::string_view v) {
  bool quote = v.empty();
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20) {
      quote = true;
      break;
    }
  }
  if (quote) {
    append_quoted(out, v, "\\x%02x");
  } else {
    out.append(v);
  }
}

constexpr std::string_view kNames[] = {"debug", "info", "warn", "error"};

// --- Rotation (lumberjack's rules, as Traefik uses it for log.filePath).
namespace fs = std::filesystem;

Rotation g_rotation;                   // set once by set_rotation
std::atomic<std::uint64_t> g_size{0};  // bytes in the current file (rotation only)
std::mutex g_rotate_mu;                // one rotation at a time

// The helper ("mill") thread: compresses and removes backups off the logging threads. Its state
// is never freed: the thread may still run while static destructors do at exit.
struct Mill {
  std::mutex mu;
  std::condition_variable cv;
  bool pending = false;  // guarded by mu
  bool busy = false;     // guarded by mu
  bool started = false;  // guarded by mu
  std::string path;      // guarded by mu: the log file's path
  Rotation rotation;     // guarded by mu
};
Mill& mill() {
  static Mill* m = new Mill;
  return *m;
}

std::uint64_t file_size(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

// "dir/name" and ".ext" of the log path; backups are dir/name-<time>.ext[.gz].
std::pair<std::string, std::string> split_path(const std::string& path) {
  fs::path p(path);
  std::string ext = p.extension().string();
  return {(p.parent_path() / p.stem()).string(), ext};
}

// `t` in UTC with milliseconds into `out` (64 bytes): "2026-12-06T05:19:49.684Z" for log lines,
// or with '-' between hours, minutes and seconds and no zone for file names.
void utc_stamp(std::chrono::system_clock::time_point t, bool for_file, char* out) {
  using namespace std::chrono;
  std::time_t secs = system_clock::to_time_t(t);
  auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  std::snprintf(out, 64,
                for_file ? "%04d-%02d-%02dT%02d-%02d-%02d.%03d" : "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms));
}

std::string backup_name(const std::string& path, std::chrono::milliseconds later) {
  char ts[64];
  utc_stamp(std::chrono::system_clock::now() + later, true, ts);
  auto [base, ext] = split_path(path);
  return base + "-" + ts + ext;
}

struct Backup {
  std::string stamp;  // yyyy-mm-ddThh-mm-ss.mmm: sorts by time
  fs::path path;
  bool gz = false;
};

std::vector<Backup> list_backups(const std::string& path) {
  auto [base, ext] = split_path(path);
  const fs::path dir =
      fs::path(path).parent_path().empty() ? fs::path(".") : fs::path(path).parent_path();
  const std::string prefix = fs::path(base).filename().string() + "-";
  std::vector<Backup> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    std::string rest = name.substr(prefix.size());
    bool gz = false;
    if (rest.size() > 3 && rest.ends_with(".gz")) {
      gz = true;
      rest.resize(rest.size() - 3);
    }
    if (!rest.ends_with(ext)) continue;
    rest.resize(rest.size() - ext.size());
    if (rest.size() != 23 || rest[4] != '-' || rest[10] != 'T') continue;
    out.push_back({rest, e.path(), gz});
  }
  std::sort(out.begin(), out.end(),
            [](const Backup& a, const Backup& b) { return a.stamp > b.stamp; });  // newest first
  return out;
}

std::time_t stamp_time(const std::string& stamp) {
  std::tm tm{};
  if (std::sscanf(stamp.c_str(), "%4d-%2d-%2dT%2d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6) {
    return 0;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return timegm(&tm);
}

bool gzip_file(const fs::path& src, const fs::path& dst) {
  std::FILE* in = std::fopen(src.c_str(), "rb");
  if (in == nullptr) return false;
  gzFile out = gzopen(dst.c_str(), "wb");
  bool ok = out != nullptr;
  char buf[64 * 1024];
  while (ok) {
    std::size_t n = std::fread(buf, 1, sizeof buf, in);
    if (n == 0) break;
    ok = gzwrite(out, buf, static_cast<unsigned>(n)) == static_cast<int>(n);
  }
  ok = !std::ferror(in) && ok;
  std::fclose(in);
  if (out != nullptr) ok = gzclose(out) == Z_OK && ok;
  std::error_code ec;
  if (ok) {
    fs::remove(src, ec);
  } else {
    fs::remove(dst, ec);
  }
  return ok;
}

// lumberjack's millRunOnce: keep the newest max_backups, drop those older than max_age, gzip the
// rest when asked.
void mill_once(const std::string& path, const Rotation& rotation) {
  auto backups = list_backups(path);
  std::vector<Backup> keep;
  std::error_code ec;
  const std::time_t cutoff =
      rotation.max_age_days > 0 ? std::time(nullptr) - rotation.max_age_days * 86400L : 0;
  std::vector<std::string> seen;  // a stamp counts once, gzipped or not
  for (const auto& b : backups) {
    const bool counted = std::find(seen.begin(), seen.end(), b.stamp) != seen.end();
    if (!counted) seen.push_back(b.stamp);
    const bool too_many =
        rotation.max_backups > 0 && seen.size() > static_cast<std::size_t>(rotation.max_backups);
    const bool too_old = cutoff != 0 && stamp_time(b.stamp) < cutoff;
    if (too_many || too_old) {
      fs::remove(b.path, ec);
    } else {
      keep.push_back(b);
    }
  }
  if (!rotation.compress) return;
  for (const auto& b : keep) {
    if (!b.gz) gzip_file(b.path, b.path.string() + ".gz");
  }
}

void mill_loop() {
  Mill& m = mill();
  std::unique_lock lock(m.mu);
  for (;;) {
    m.cv.wait(lock, [&] { return m.pending; });
    m.pending = false;
    m.busy = true;
    const std::string path = m.path;
    const Rotation rotation = m.rotation;
    lock.unlock();
    mill_once(path, rotation);
    lock.lock();
    m.busy = false;
    m.cv.notify_all();
  }
}

void kick_mill() {
  Mill& m = mill();
  {
    std::lock_guard lock(m.mu);
    m.pending = true;
  }
  m.cv.notify_all();
}

// Renames the file to a backup and starts a new one under the same descriptor number, so
// writers in other threads never see a closed descriptor.
void rotate(std::size_t incoming) {
  std::lock_guard lock(g_rotate_mu);
  if (g_size.load() + incoming <= g_rotation.max_bytes) return;  // another thread did it
  const int current = g_fd.load(std::memory_order_acquire);
  std::string error;
  // Two rotations in one millisecond would give one name: the second takes the next one.
  std::string backup;
  for (int ms = 0; ms < 1000; ++ms) {
    backup = backup_name(g_path, std::chrono::milliseconds(ms));
    if (!fs::exists(backup)) break;
  }
  // On failure, go on with the file as it is and try again after another max_bytes, not on
  // every line.
  if (std::rename(g_path.c_str(), backup.c_str()) != 0) {
    g_size.store(0);
    return;
  }
  int fd = open_append(g_path, error);
  if (fd < 0) {  // keep writing to the renamed file
    g_size.store(0);
    return;
  }
  ::dup2(fd, current);
  ::close(fd);
  g_size.store(0);
  kick_mill();
}

}  // namespace

void set_rotation(const Rotation& rotation) {
  g_rotation = rotation;
  if (rotation.max_bytes == 0 || g_path.empty()) return;
  g_size.store(file_size(g_fd.load()));
  Mill& m = mill();
  {
    std::lock_guard lock(m.mu);
    m.path = g_path;
    m.rotation = rotation;
    if (!m.started) {
      m.started = true;
      std::thread(mill_loop).detach();  // lives as long as the process, as the log does
    }
  }
  kick_mill();  // lumberjack cleans up old backups when it opens the file too
}

void settle_rotation() {
  Mill& m = mill();
  std::unique_lock lock(m.mu);
  m.cv.wait(lock, [&] { return !m.pending && !m.busy; });
}

void close_file() {
  settle_rotation();
  const int fd = g_fd.exchange(2);
  if (fd > 2) ::close(fd);
  g_path.clear();
  g_rotation = Rotation{};
}

void set_level(Level level) { g_level.store(level, std::memory_order_relaxed); }
void set_format(Format format) { g_format.store(format, std::memory_order_relaxed); }

bool open_file(const std::string& path, std::string& error) {
  int fd = open_append(path, error);
  if (fd < 0) return false;
  g_path = path;
  g_fd.store(fd, std::memory_order_release);
  return true;
}

bool reopen_file(std::string& error) {
  int current = g_fd.load(std::memory_order_acquire);
  if (g_path.empty() || current == 2) return true;
  int fd = open_append(g_path, error);
  if (fd < 0) return false;
  ::dup2(fd, current);  // atomically points the descriptor writers use at the new file
  ::close(fd);
  g_size.store(file_size(current));
  return true;
}
Level level() { return g_level.load(std::memory_order_relaxed); }

bool parse_level(std::string_view text, Level& out) {
  std::string t;
  for (char c : text) t.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
  if (t == "warning") t = "warn";
  for (int i = 0; i < 4; ++i) {
    if (t == kNames[i]) {
      out = static_cast<Level>(i);
      return true;
    }
  }
  return false;
}

void write(Level level, std::string_view msg, Fields fields) {
  char ts[64];
  utc_stamp(std::chrono::system_clock::now(), false, ts);
  std::string line;
  line.reserve(128);
  const std::string_view level_name = kNames[static_cast<int>(level)];
  if (g_format.load(std::memory_order_relaxed) == Format::Json) {
    line.append("{\"level\":");
    append_json_string(line, level_name);
    line.append(",\"time\":");
    append_json_string(line, ts);
    line.append(",\"message\":");
    append_json_string(line, msg);
    for (const auto& [k, v] : fields) {
      line.push_back(',');
      append_json_string(line, k);
      line.push_back(':');
      append_json_string(line, v);
    }
    line.push_back('}');
  } else {
    line.append("time=").append(ts).append(" level=").append(level_name);
    line.append(" msg=");
    append_value(line, msg);
    for (const auto& [k, v] : fields) {
      line.push_back(' ');
      line.append(k).push_back('=');
      append_value(line, v);
    }
  }
  line.push_back('\n');
  if (g_rotation.max_bytes != 0) {
    if (g_size.load(std::memory_order_relaxed) + line.size() > g_rotation.max_bytes) {
      rotate(line.size());
    }
    g_size.fetch_add(line.size(), std::memory_order_relaxed);
  }
  std::size_t off = 0;
  while (off < line.size()) {
    ssize_t n = ::write(g_fd.load(std::memory_order_relaxed), line.data() + off, line.size() - off);
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
}

std::string describe(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "unknown exception";
  }
}

}  // namespace portier::log
