// Turns AccessRecords into access log lines in Traefik's formats (pkg/middlewares/accesslog:
// logger_formatters.go for common and genericCLF, logrus' JSONFormatter for json), honouring
// fields.{defaultMode,names} and fields.headers.{defaultMode,names}.
//
// Used by AccessLog's writer thread only; not thread-safe (it keeps scratch buffers so a warm
// formatter does not allocate). Times are written in UTC and in the process' local zone
// (TZ, as localtime_r sees it).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/static_config.h"
#include "observability/access_record.h"

namespace portier::observability {

class AccessLogFormatter {
 public:
  explicit AccessLogFormatter(const config::AccessLog& cfg);

  // Appends one line, '\n' included, to `out`. `now` is the json format's `time` key (when the
  // line is written, as logrus stamps it).
  void append(const AccessRecord& r, std::chrono::system_clock::time_point now, std::string& out);

  // The mode a field (Traefik's key, "ClientUsername") or header ("user-agent") gets.
  config::AccessLogMode field_mode(std::string_view field) const;
  config::AccessLogMode header_mode(std::string_view canonical_name) const;

  // Traefik's key for each field this formatter writes, in Field order.
  enum Field {
    StartUTC,
    StartLocal,
    Duration,
    Overhead,
    RouterName,
    ServiceName,
    ServiceURL,
    ServiceAddr,
    ClientAddr,
    ClientHost,
    ClientPort,
    ClientUsername,
    RequestAddr,
    RequestHost,
    RequestPort,
    RequestMethod,
    RequestPath,
    RequestProtocol,
    RequestScheme,
    RequestContentSize,
    OriginDuration,
    OriginContentSize,
    OriginStatus,
    DownstreamStatus,
    DownstreamContentSize,
    RequestCount,
    GzipRatio,
    RetryAttempts,
    TLSVersion,
    TLSCipher,
    TLSClientSubject,
    EntryPointName,
    kFieldCount
  };
  static std::string_view field_name(Field f);

 private:
  struct Entry {
    std::string key;
    std::string value;  // JSON text
    // The key's place among the fixed keys in byte order (Go's sorted map keys); entries of one
    // header group (request_*, ...) share their prefix's rank and are ordered by key.
    int rank = 0;
  };
  // Ranks of the fixed keys and of the header prefixes, computed once.
  int field_rank_[kFieldCount] = {};
  std::string digits_;  // append_json's scratch
  int rank_level_ = 0, rank_msg_ = 0, rank_time_ = 0;
  int rank_request_ = 0, rank_origin_ = 0, rank_downstream_ = 0;
  void append_clf(const AccessRecord& r, bool traefik_fields, std::string& out);
  void append_json(const AccessRecord& r, std::chrono::system_clock::time_point now,
                   std::string& out);
  Entry& next_entry();
  void add_string(Field f, std::string_view v);
  void add_number(Field f, std::string_view digits);
  void add_headers(const std::vector<std::pair<std::string, std::string>>& headers,
                   std::string_view prefix, bool skip_host);
  // The value of request header `canonical` (joined with ','), as the CLF quotes it.
  void clf_header(const AccessRecord& r, std::string_view canonical, std::string& out);

  config::AccessLogFormat format_;
  config::AccessLogFields fields_;
  bool keep_query_;
  config::AccessLogMode modes_[kFieldCount];
  std::map<std::string, config::AccessLogMode, std::less<>> header_modes_;  // found by view
  std::vector<Entry> entries_;  // json scratch; capacity kept
  std::size_t used_ = 0;
  std::vector<std::pair<std::string, std::string>> grouped_;  // header scratch
  std::string name_;                                          // scratch
  std::string joined_;                                        // scratch
};

// JSON string escaping as Go's encoding/json does it (HTML characters escaped, invalid UTF-8
// as U+FFFD), quotes included.
void append_json_string(std::string_view s, std::string& out);
// RFC 3339 with nanoseconds, trailing zeros removed (Go's time.RFC3339Nano), in UTC or local time.
void append_rfc3339(std::chrono::system_clock::time_point t, bool utc, bool nanos,
                    std::string& out);

}  // namespace portier::observability
