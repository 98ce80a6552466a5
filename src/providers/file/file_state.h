// What the file provider decides for one file on each pass: apply what it read, keep the last
// good version, wait for the writer, or drop the file. Pure: no I/O, no clock, no logging (the
// caller reads the disk and the inotify events, passes what it saw, and logs the outcome).
//
// The rules:
//   - A file is read only once it is quiet: closed after writing (IN_CLOSE_WRITE) or renamed
//     into place (IN_MOVED_TO) since the last pass; or, when no such event was seen (a symlink
//     swap, a write through mmap, a lost event), read twice `settle` apart with the same content.
//     A file written to (IN_MODIFY) and not closed is not read: a writer may be half-way. Should
//     no close ever come (truncate(2) by path, a writer that keeps its descriptor), it is read
//     after `open_grace` without write events, and then only if two reads agree.
//   - A file that fails to decode is refused; its last good version stays served.
//   - A file that decodes to nothing (0 bytes, whitespace, comments only, `http: {}`) while its
//     last good version had objects is refused the same way: an empty file is a torn write or
//     a mistake far more often than a wish to remove everything. Deleting the file removes its
//     objects. A file that never had objects may be empty.
//   - A file that disappears is dropped only when it is still absent on the next pass (`settle`
//     later): editors that rename the old file away before writing the new one leave a moment
//     with no file.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "config/dynamic.h"
#include "config/provider_status.h"

namespace portier::providers::file {

struct Timing {
  std::chrono::milliseconds debounce{50};      // after the last event of a burst, before a pass
  std::chrono::milliseconds settle{100};       // between the two reads that must agree
  std::chrono::milliseconds open_grace{5000};  // a file open for writing is read after this
};

// What the watcher saw happen to a file since its last pass.
enum class Activity {
  None,    // no event: unchanged, or changed in a way inotify does not show
  Open,    // written (IN_MODIFY) and not closed since
  Closed,  // closed after writing (IN_CLOSE_WRITE) or renamed into place (IN_MOVED_TO)
};

struct Observation {
  enum class Kind { Content, Missing, Unreadable };
  Kind kind = Kind::Content;
  std::string content;  // Kind::Content
  std::string error;    // Kind::Unreadable: why (strerror)
  Activity activity = Activity::None;
  std::chrono::milliseconds quiet_for{0};  // since the last write event; for Activity::Open
};

// Whether an inotify event on `name`, in one of the watched directories, can concern the
// configuration; the others (a log written next to the file, an editor's swap file) are not
// looked at, so they cost no pass. `is_dir`: the event is about a directory (IN_ISDIR).
// `file_names`: with one configuration file, its name and its symlink target's (empty when
// watching a directory). Always true for directories and for ".."-names (a Kubernetes
// ConfigMap's `..data` swap changes what the files link to); otherwise the file's own names
// in one-file mode, and names the directory walk would read in directory mode (*.yml, *.yaml,
// *.json, *.toml, not starting with a dot).
bool event_matters(std::string_view name, bool is_dir, const std::vector<std::string>& file_names);

struct FileState {
  std::optional<std::string> content;            // content last decided on (applied or refused)
  std::optional<config::Configuration> good;     // the version served for this file
  std::optional<std::string> pending;            // changed without a close: read once, to confirm
  std::optional<config::ProviderIssue> refused;  // why `content` was refused (since unset)
  std::string unreadable;                        // the last read failed: why
  bool missing = false;                          // absent on the last pass
  bool waiting = false;                          // open for writing on the last pass
};

enum class Outcome {
  Unchanged,   // nothing to do
  Applied,     // `good` now holds the new content
  Broken,      // did not decode: `refused` says where; `good` stays
  Emptied,     // decoded to nothing while `good` has objects: refused; `good` stays
  Unreadable,  // could not be read (first time for this error); `good` stays
  Settling,    // changed without a close event, or just vanished: look again after `settle`
  Waiting,     // open for writing: look again once closed, or after `open_grace`
  Removed,     // absent twice in a row (or never served): drop the file and its objects
};

// One pass over one file. `path` names the file in errors and decides TOML vs YAML/JSON.
Outcome step(FileState& s, const std::string& path, const Observation& o, const Timing& t);

// Dynamic configuration from a file's text (TOML by extension, YAML or JSON otherwise).
Result<config::Configuration> decode_file(const std::string& text, const std::string& path);

// The issues to show for a file (since unset): refused content, a read error, a writer not done.
std::vector<config::ProviderIssue> issues_of(const FileState& s, const std::string& path,
                                             const Timing& t);

// The line of a "file:line:col: message" error about `path`; 0 when it names none.
int line_of(const std::string& message, const std::string& path);

}  // namespace portier::providers::file
