// Structured logging to stderr: one line per event, `time level msg key=value...`.
//
// Thread-safe: each line is formatted in a local buffer and written with a single write(2), so
// lines from different workers never interleave. Never pass secrets (keys, passwords) as fields.
#pragma once

#include <initializer_list>
#include <string_view>
#include <utility>

namespace portier::log {

// Off: nothing is written (set by `portier check`, which prints its own report).
enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3, Off = 4 };

using Fields = std::initializer_list<std::pair<std::string_view, std::string_view>>;

void set_level(Level level);
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

}  // namespace portier::log
