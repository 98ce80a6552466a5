// Turns AccessRecords into access log lines in Traefik's formats (pkg/middlewares/accesslog:
// logger_formatters.go for common and genericCLF, logrus' JSONFormatter for json), honouring
// fields.{defaultMode,names} and fields.headers.{defaultMode,names}.
//
// Used by AccessLog's writer thread only; not thread-safe (it keeps scratch buffers so a warm
// formatter does not allocate). Times are written in UTC and in the process' local zone
// (TZ, as localtime_r sees it).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/static_config.h"
#include "observability/access_record.h"

namespace portier::observability {

// "YYYY-MM-DDTHH:MM:SS" and the zone suffix ("Z", "+01:00") of one second.
struct SecondText {
  std::int64_t second = -1;
  bool utc = false;
  std::string date_time;
  std::string zone;
};

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
    WafRuleIds,  // portier's: the waf middleware's matched rule ids
    kFieldCount
  };

 private:
  // One place in a JSON line, in key order: a fixed field, level/msg/time, or a header group.
  struct JsonSlot {
    enum Kind { kField, kLevel, kMsg, kTime, kRequestHeaders, kOriginHeaders, kDownstreamHeaders };
    Kind kind;
    Field field;
  };
  std::vector<JsonSlot> json_order_;  // computed once
  void append_clf(const AccessRecord& r, bool traefik_fields, std::string& out);
  void append_json(const AccessRecord& r, std::chrono::system_clock::time_point now,
                   std::string& out);
  void json_headers(const std::vector<std::pair<std::string, std::string>>& headers,
                    std::string_view prefix, bool skip_host, bool& first, std::string& out);
  // The value of request header `canonical` (joined with ','), as the CLF quotes it.
  void clf_header(const AccessRecord& r, std::string_view canonical, std::string& out);

  config::AccessLogFormat format_;
  config::AccessLogFields fields_;
  bool keep_query_;
  config::AccessLogMode modes_[kFieldCount];
  std::map<std::string, config::AccessLogMode, std::less<>> header_modes_;  // found by view
  std::vector<std::size_t> order_;  // json scratch: header groups in key order
  SecondText seconds_[2];           // append_rfc3339's caches (local, UTC)
  std::vector<std::pair<std::string, std::string>> grouped_;  // header scratch
  std::string name_;                                          // scratch
  std::string joined_;                                        // scratch
};

// JSON string escaping as Go's encoding/json does it (HTML characters escaped, invalid UTF-8
// as U+FFFD), quotes included.
void append_json_string(std::string_view s, std::string& out);
// RFC 3339 with nanoseconds, trailing zeros removed (Go's time.RFC3339Nano), in UTC or local time.
// `caches` (two, may be null): the last second formatted in local time and in UTC, so lines of
// the same second skip localtime_r and the date's digits.
void append_rfc3339(std::chrono::system_clock::time_point t, bool utc, bool nanos,
                    std::string& out, SecondText* caches = nullptr);

}  // namespace portier::observability
