// Structured logging to stderr (or a file): one line per event, `time level msg key=value...`,
// or one JSON object per line (Traefik's log.format json: level, time, message, fields).
//
// Thread-safe: each line is formatted in a local buffer and written with a single write(2), so
// lines from different workers never interleave. Never pass secrets (keys, passwords) as fields.
#pragma once

#include <cstdint>
#include <exception>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace portier::log {

// Off: nothing is written (set by `portier check`, which prints its own report).
enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3, Off = 4 };

using Fields = std::initializer_list<std::pair<std::string_view, std::string_view>>;

enum class Format { Common, Json };

void set_level(Level level);
void set_format(Format format);
// Appends to `path` (created 0644) from now on instead of stderr. Call once, at start-up, before
// other threads log. False with `error` set when it cannot be opened.
bool open_file(const std::string& path, std::string& error);
// Reopens the file given to open_file (after logrotate moved it; SIGUSR1). The descriptor keeps
// its number, so a line being written by another thread goes to the old file or the new one,
// never nowhere. False with `error` set when it cannot be reopened (logging goes on to the old).
bool reopen_file(std::string& error);
// Size-based rotation of the file given to open_file (Traefik's log.maxSize, maxBackups, maxAge,
// compress; lumberjack's rules): before a line would take the file past max_bytes, it is renamed
// <name>-<UTC yyyy-mm-ddThh-mm-ss.mmm><.ext> and a new file started (by the thread that logs;
// a rename and an open). A helper thread then gzips backups (compress) and removes those beyond
// max_backups or older than max_age_days (0: no limit). max_bytes 0 turns rotation off. Call at
// start-up, after open_file, before other threads log.
struct Rotation {
  std::uint64_t max_bytes = 0;
  int max_backups = 0;
  int max_age_days = 0;
  bool compress = false;
};
void set_rotation(const Rotation& rotation);
// Tests: waits until the helper thread has nothing left to do.
void settle_rotation();
// Tests: back to stderr, rotation off. No other thread may be logging.
void close_file();
Level level();
// Accepts debug, info, warn (warning), error, in any case. False for anything else.
bool parse_level(std::string_view text, Level& out);

inline bool enabled(Level l) { return static_cast<int>(l) >= static_cast<int>(level()); }

void write(Level level, std::string_view msg, Fields fields = {});

inline void debug(std::string_view msg, Fields f = {}) {
  if (enabled(Level::Debug)) write(Level::Debug, msg, f);
}
inline void info(std::string_view msg, Fields f = {}) {
  if (enabled(Level::Info)) write(Level::Info, msg, f);
}
inline void warn(std::string_view msg, Fields f = {}) {
  if (enabled(Level::Warn)) write(Level::Warn, msg, f);
}
inline void error(std::string_view msg, Fields f = {}) {
  if (enabled(Level::Error)) write(Level::Error, msg, f);
}

// What an exception says: its what() ("std::bad_alloc" for that one), or "unknown exception"
// for one not derived from std::exception.
std::string describe(std::exception_ptr e);

// A completion handler for a coroutine spawned with nothing waiting for it (instead of
// asio::detached, which drops an exception silently): an exception that escapes it is logged at
// error level, `msg` with the exception's text as `error`.
struct Escaped {
  std::string_view msg;
  void operator()(std::exception_ptr e) const {
    if (e) error(msg, {{"error", describe(e)}});
  }
};

}  // namespace portier::log
