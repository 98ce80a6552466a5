#include "common/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

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

}  // namespace

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
  using namespace std::chrono;
  auto now = system_clock::now();
  std::time_t secs = system_clock::to_time_t(now);
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char ts[64];
  std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
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
  std::size_t off = 0;
  while (off < line.size()) {
    ssize_t n = ::write(g_fd.load(std::memory_order_relaxed), line.data() + off, line.size() - off);
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
}

}  // namespace portier::log
