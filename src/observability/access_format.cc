#include "observability/access_format.h"

#include "common/ascii.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <ctime>

#include "common/header_name.h"

namespace portier::observability {
namespace {

using config::AccessLogMode;

constexpr std::string_view kNames[] = {"StartUTC",
                                       "StartLocal",
                                       "Duration",
                                       "Overhead",
                                       "RouterName",
                                       "ServiceName",
                                       "ServiceURL",
                                       "ServiceAddr",
                                       "ClientAddr",
                                       "ClientHost",
                                       "ClientPort",
                                       "ClientUsername",
                                       "RequestAddr",
                                       "RequestHost",
                                       "RequestPort",
                                       "RequestMethod",
                                       "RequestPath",
                                       "RequestProtocol",
                                       "RequestScheme",
                                       "RequestContentSize",
                                       "OriginDuration",
                                       "OriginContentSize",
                                       "OriginStatus",
                                       "DownstreamStatus",
                                       "DownstreamContentSize",
                                       "RequestCount",
                                       "GzipRatio",
                                       "RetryAttempts",
                                       "TLSVersion",
                                       "TLSCipher",
                                       "TLSClientSubject",
                                       "entryPointName",
                                       "WafRuleIds"};
static_assert(std::size(kNames) == AccessLogFormatter::kFieldCount);

constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

struct Broken {
  std::tm tm{};
  long offset = 0;  // seconds east of UTC
  long nanos = 0;
};

Broken breakdown(std::chrono::system_clock::time_point t, bool utc) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch());
  auto secs = std::chrono::floor<std::chrono::seconds>(ns);
  Broken b;
  b.nanos = static_cast<long>((ns - secs).count());
  const std::time_t tt = static_cast<std::time_t>(secs.count());
  if (utc) {
    gmtime_r(&tt, &b.tm);
  } else {
    localtime_r(&tt, &b.tm);
    b.offset = b.tm.tm_gmtoff;
  }
  return b;
}

template <typename T>
void append_number(T v, std::string& out) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

// Go's strconv.FormatFloat(f, 'g'-ish, -1) as encoding/json uses it: shortest digits that read
// back, fixed notation between 1e-6 and 1e21.
void append_float(double v, std::string& out) {
  char buf[64];
  const double a = v < 0 ? -v : v;
  const auto fmt = (a != 0 && (a < 1e-6 || a >= 1e21)) ? std::chars_format::scientific
                                                       : std::chars_format::fixed;
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, fmt);
  out.append(buf, end);
}

// The CLF's "%s" of a string value: `def` when empty, else quoted with '"' escaped.
void clf_value(std::string_view v, std::string_view def, bool quoted, std::string& out) {
  if (v.empty()) {
    out += def;
    return;
  }
  if (!quoted) {
    out += v;
    return;
  }
  out += '"';
  for (char c : v) {
    if (c == '"') out += '\\';
    out += c;
  }
  out += '"';
}

std::string_view path_of(const AccessRecord& r, bool keep_query) {
  std::string_view p = r.request_path;
  if (!keep_query) p = p.substr(0, p.find('?'));
  return p;
}

}  // namespace

namespace {
// Bytes a JSON string may hold as they are (Go's encoding/json: printable ASCII except '"',
// '\\' and the HTML characters '<', '>', '&').
constexpr std::array<bool, 256> kPlainJson = [] {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x80; ++c) t[c] = true;
  for (unsigned char c : {'"', '\\', '<', '>', '&'}) t[c] = false;
  return t;
}();
}  // namespace

void append_json_string(std::string_view s, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  std::size_t i = 0;
  while (i < s.size()) {
    // The common case: a run of printable ASCII that needs no escape, appended at once.
    std::size_t run = i;
    while (run < s.size() && kPlainJson[static_cast<unsigned char>(s[run])]) ++run;
    if (run != i) {
      out.append(s.data() + i, run - i);
      i = run;
      if (i == s.size()) break;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        default:
          if (c < 0x20 || c == '<' || c == '>' || c == '&') {
            out += "\\u00";
            out += kHex[c >> 4];
            out += kHex[c & 0xF];
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    // A UTF-8 sequence: copied when valid, else one U+FFFD per bad byte (Go's rule).
    std::size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    bool ok = len != 0 && c < 0xF5 && i + len <= s.size();
    std::uint32_t cp = ok ? (c & (0x7F >> len)) : 0;
    for (std::size_t k = 1; ok && k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      ok = (cc & 0xC0) == 0x80;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (ok) {  // overlong, surrogate and out-of-range forms are invalid too
      ok = !(len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) &&
           !(len == 4 && (cp < 0x10000 || cp > 0x10FFFF));
    }
    if (!ok) {
      out += "\\ufffd";
      ++i;
      continue;
    }
    if (cp == 0x2028 || cp == 0x2029) {
      out += cp == 0x2028 ? "\\u2028" : "\\u2029";
    } else {
      out.append(s.substr(i, len));
    }
    i += len;
  }
  out += '"';
}

namespace {

void append_digits(long v, int width, std::string& out) {
  char buf[12];
  for (int k = width - 1; k >= 0; --k) {
    buf[k] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  out.append(buf, static_cast<std::size_t>(width));
}

}  // namespace

namespace {

const SecondText& second_text(std::chrono::system_clock::time_point t, bool utc,
                              SecondText* caches) {
  SecondText& c = caches[utc ? 1 : 0];
  const auto secs = std::chrono::floor<std::chrono::seconds>(t).time_since_epoch().count();
  if (c.second == secs && c.utc == utc) return c;
  const Broken b = breakdown(t, utc);
  c.second = secs;
  c.utc = utc;
  c.date_time.clear();
  append_digits(b.tm.tm_year + 1900, 4, c.date_time);
  c.date_time += '-';
  append_digits(b.tm.tm_mon + 1, 2, c.date_time);
  c.date_time += '-';
  append_digits(b.tm.tm_mday, 2, c.date_time);
  c.date_time += 'T';
  append_digits(b.tm.tm_hour, 2, c.date_time);
  c.date_time += ':';
  append_digits(b.tm.tm_min, 2, c.date_time);
  c.date_time += ':';
  append_digits(b.tm.tm_sec, 2, c.date_time);
  c.zone.clear();
  if (b.offset == 0) {
    c.zone = "Z";
  } else {
    const long off = b.offset < 0 ? -b.offset : b.offset;
    c.zone += b.offset < 0 ? '-' : '+';
    append_digits(off / 3600, 2, c.zone);
    c.zone += ':';
    append_digits((off / 60) % 60, 2, c.zone);
  }
  return c;
}

}  // namespace

void append_rfc3339(std::chrono::system_clock::time_point t, bool utc, bool nanos,
                    std::string& out, SecondText* caches) {
  SecondText local[2];
  const SecondText& st = second_text(t, utc, caches != nullptr ? caches : local);
  out += st.date_time;
  if (nanos) {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch());
    long frac = static_cast<long>((ns - std::chrono::floor<std::chrono::seconds>(ns)).count());
    if (frac != 0) {
      int width = 9;
      while (frac % 10 == 0) {  // Go's RFC3339Nano drops trailing zeros
        frac /= 10;
        --width;
      }
      out += '.';
      append_digits(frac, width, out);
    }
  }
  out += st.zone;
}

AccessLogFormatter::AccessLogFormatter(const config::AccessLog& cfg)
    : format_(cfg.format), fields_(cfg.fields), keep_query_(cfg.fields.keep_query_parameters) {
  for (int f = 0; f < kFieldCount; ++f) modes_[f] = field_mode(kNames[f]);
  // The JSON keys in byte order, as Go sorts map keys: the fixed ones, and each header group
  // at its prefix's place (no fixed key starts with a prefix, so a group's keys stay together).
  std::vector<std::pair<std::string_view, JsonSlot>> keys;
  for (int f = 0; f < kFieldCount; ++f) {
    keys.push_back({kNames[f], {JsonSlot::kField, static_cast<Field>(f)}});
  }
  keys.push_back({"level", {JsonSlot::kLevel, kFieldCount}});
  keys.push_back({"msg", {JsonSlot::kMsg, kFieldCount}});
  keys.push_back({"time", {JsonSlot::kTime, kFieldCount}});
  keys.push_back({"request_", {JsonSlot::kRequestHeaders, kFieldCount}});
  keys.push_back({"origin_", {JsonSlot::kOriginHeaders, kFieldCount}});
  keys.push_back({"downstream_", {JsonSlot::kDownstreamHeaders, kFieldCount}});
  std::sort(keys.begin(), keys.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& k : keys) json_order_.push_back(k.second);
  header_modes_.insert(cfg.fields.header_names.begin(), cfg.fields.header_names.end());
}

AccessLogMode AccessLogFormatter::field_mode(std::string_view field) const {
  auto it = fields_.names.find(ascii_lower(field));
  return it != fields_.names.end() ? it->second : fields_.default_mode;
}

AccessLogMode AccessLogFormatter::header_mode(std::string_view canonical_name) const {
  auto it = header_modes_.find(canonical_name);
  return it != header_modes_.end() ? it->second : fields_.headers_default_mode;
}

void AccessLogFormatter::append(const AccessRecord& r, std::chrono::system_clock::time_point now,
                                std::string& out) {
  switch (format_) {
    case config::AccessLogFormat::Common:
      append_clf(r, true, out);
      break;
    case config::AccessLogFormat::GenericClf:
      append_clf(r, false, out);
      break;
    case config::AccessLogFormat::Json:
      append_json(r, now, out);
      break;
  }
}

void AccessLogFormatter::clf_header(const AccessRecord& r, std::string_view canonical,
                                    std::string& out) {
  const AccessLogMode mode = header_mode(canonical);
  joined_.clear();
  bool found = false;
  for (const auto& [name, value] : r.request_headers) {
    canonical_header_name(name, name_);
    if (name_ != canonical) continue;
    if (found) joined_ += ',';
    joined_ += value;
    found = true;
  }
  if (mode == AccessLogMode::Drop || !found) {
    out += "\"-\"";
  } else {
    clf_value(mode == AccessLogMode::Redact ? std::string_view("REDACTED") : joined_, "\"-\"", true,
              out);
  }
}

// Traefik's CommonLogFormatter / GenericCLFLogFormatter: a field that was dropped is written as
// its default ("-", or "-" quoted), a redacted one as REDACTED.
void AccessLogFormatter::append_clf(const AccessRecord& r, bool traefik_fields, std::string& out) {
  auto str = [&](Field f, std::string_view v, std::string_view def, bool quoted) {
    if (modes_[f] == AccessLogMode::Drop) {
      out += def;
    } else {
      clf_value(modes_[f] == AccessLogMode::Redact ? std::string_view("REDACTED") : v, def, quoted,
                out);
    }
  };
  auto num = [&](Field f, auto v) {
    if (modes_[f] == AccessLogMode::Drop) {
      out += '-';
    } else if (modes_[f] == AccessLogMode::Redact) {
      out += "\"REDACTED\"";
    } else {
      append_number(v, out);
    }
  };
  str(ClientHost, r.client_host, "-", false);
  out += " - ";
  str(ClientUsername, r.client_username.empty() ? "-" : r.client_username, "-", false);
  out += " [";
  if (modes_[StartUTC] == AccessLogMode::Keep || modes_[StartLocal] == AccessLogMode::Keep) {
    const Broken b = breakdown(r.start, modes_[StartUTC] == AccessLogMode::Keep);
    const long off = b.offset < 0 ? -b.offset : b.offset;
    char buf[64];
    int n =
        std::snprintf(buf, sizeof buf, "%02d/%s/%04d:%02d:%02d:%02d %c%02ld%02ld", b.tm.tm_mday,
                      kMonths[b.tm.tm_mon].data(), b.tm.tm_year + 1900, b.tm.tm_hour, b.tm.tm_min,
                      b.tm.tm_sec, b.offset < 0 ? '-' : '+', off / 3600, (off / 60) % 60);
    out.append(buf, static_cast<std::size_t>(n));
  } else {
    out += '-';
  }
  out += "] \"";
  str(RequestMethod, r.request_method, "-", false);
  out += ' ';
  str(RequestPath, path_of(r, keep_query_), "-", false);
  out += ' ';
  str(RequestProtocol, r.request_protocol, "-", false);
  out += "\" ";
  num(DownstreamStatus, r.downstream_status);
  out += ' ';
  num(DownstreamContentSize, r.downstream_content_size);
  out += ' ';
  clf_header(r, "Referer", out);
  out += ' ';
  clf_header(r, "User-Agent", out);
  if (traefik_fields) {
    out += ' ';
    num(RequestCount, r.request_count);
    out += ' ';
    str(RouterName, r.router_name, "\"-\"", true);
    out += ' ';
    str(ServiceURL, r.service_url, "\"-\"", true);
    out += ' ';
    const long long ms = modes_[Duration] == AccessLogMode::Keep
                             ? static_cast<long long>(r.duration.count() / 1000000)
                             : 0;
    append_number(ms, out);
    out += "ms";
  }
  out += '\n';
}





// logrus' JSONFormatter over Traefik's fields: one object per line, keys sorted (Go's
// encoding/json sorts map keys), plus level, msg and time. The order of the fixed keys and of
// the header groups is computed once (json_order_), so a line is written straight into `out`:
// no per-key buffers and no sort (only header names, when headers are kept, are sorted).
void AccessLogFormatter::append_json(const AccessRecord& r,
                                     std::chrono::system_clock::time_point now, std::string& out) {
  bool first = true;
  auto key = [&](std::string_view k) {  // a fixed key: plain ASCII, nothing to escape
    out += first ? "{\"" : ",\"";
    first = false;
    out.append(k);
    out += "\":";
  };
  auto redacted = [&](Field f) {
    if (modes_[f] != AccessLogMode::Redact) return false;
    out += "\"REDACTED\"";
    return true;
  };
  auto str = [&](Field f, std::string_view v) {
    if (modes_[f] == AccessLogMode::Drop) return;
    key(kNames[f]);
    if (!redacted(f)) append_json_string(v, out);
  };
  auto num = [&](Field f, auto v) {
    if (modes_[f] == AccessLogMode::Drop) return;
    key(kNames[f]);
    if (!redacted(f)) append_number(v, out);
  };
  auto stamp = [&](Field f, bool utc) {
    if (modes_[f] == AccessLogMode::Drop) return;
    key(kNames[f]);
    if (redacted(f)) return;
    out += '"';
    append_rfc3339(r.start, utc, true, out, seconds_);
    out += '"';
  };
  for (const JsonSlot& slot : json_order_) {
    switch (slot.kind) {
      case JsonSlot::kLevel:
        key("level");
        out += "\"info\"";
        break;
      case JsonSlot::kMsg:
        key("msg");
        out += "\"\"";
        break;
      case JsonSlot::kTime:
        key("time");
        out += '"';
        append_rfc3339(now, false, false, out, seconds_);
        out += '"';
        break;
      case JsonSlot::kRequestHeaders:
        json_headers(r.request_headers, "request_", true, first, out);
        break;
      case JsonSlot::kOriginHeaders:
        json_headers(r.origin_headers, "origin_", false, first, out);
        break;
      case JsonSlot::kDownstreamHeaders:
        json_headers(r.downstream_headers, "downstream_", false, first, out);
        break;
      case JsonSlot::kField:
        switch (slot.field) {
          case StartUTC: stamp(StartUTC, true); break;
          case StartLocal: stamp(StartLocal, false); break;
          case Duration: num(Duration, static_cast<long long>(r.duration.count())); break;
          case Overhead:
            num(Overhead, static_cast<long long>((r.duration - r.origin_duration).count()));
            break;
          case RouterName: if (!r.router_name.empty()) str(RouterName, r.router_name); break;
          case ServiceName: if (!r.service_name.empty()) str(ServiceName, r.service_name); break;
          case ServiceURL: if (!r.service_url.empty()) str(ServiceURL, r.service_url); break;
          case ServiceAddr: if (!r.service_addr.empty()) str(ServiceAddr, r.service_addr); break;
          case ClientAddr: str(ClientAddr, r.client_addr); break;
          case ClientHost: str(ClientHost, r.client_host); break;
          case ClientPort: str(ClientPort, r.client_port.empty() ? "-" : r.client_port); break;
          case ClientUsername:
            str(ClientUsername, r.client_username.empty() ? "-" : r.client_username);
            break;
          case RequestAddr: if (!r.request_addr.empty()) str(RequestAddr, r.request_addr); break;
          case RequestHost: if (!r.request_addr.empty()) str(RequestHost, r.request_host); break;
          case RequestPort:
            if (!r.request_addr.empty()) {
              str(RequestPort, r.request_port.empty() ? "-" : r.request_port);
            }
            break;
          case RequestMethod: str(RequestMethod, r.request_method); break;
          case RequestPath: str(RequestPath, path_of(r, keep_query_)); break;
          case RequestProtocol: str(RequestProtocol, r.request_protocol); break;
          case RequestScheme: str(RequestScheme, r.request_scheme); break;
          case RequestContentSize: num(RequestContentSize, r.request_content_size); break;
          // Traefik's entrypoint sets the origin fields to 0 before a service may fill them.
          case OriginDuration:
            num(OriginDuration, static_cast<long long>(r.origin_duration.count()));
            break;
          case OriginContentSize: num(OriginContentSize, r.origin_content_size); break;
          case OriginStatus: num(OriginStatus, r.origin_status); break;
          case DownstreamStatus: num(DownstreamStatus, r.downstream_status); break;
          case DownstreamContentSize:
            num(DownstreamContentSize, r.downstream_content_size);
            break;
          case RequestCount: num(RequestCount, r.request_count); break;
          case GzipRatio:
            if (r.downstream_content_size != 0 &&
                r.downstream_content_size != r.origin_content_size &&
                modes_[GzipRatio] != AccessLogMode::Drop) {
              key(kNames[GzipRatio]);
              if (!redacted(GzipRatio)) {
                append_float(static_cast<double>(r.origin_content_size) /
                                 static_cast<double>(r.downstream_content_size),
                             out);
              }
            }
            break;
          case RetryAttempts: num(RetryAttempts, r.retry_attempts); break;
          case TLSVersion: if (!r.tls_version.empty()) str(TLSVersion, r.tls_version); break;
          case TLSCipher: if (!r.tls_cipher.empty()) str(TLSCipher, r.tls_cipher); break;
          case TLSClientSubject:
            if (!r.tls_client_subject.empty()) str(TLSClientSubject, r.tls_client_subject);
            break;
          case EntryPointName: if (!r.entrypoint.empty()) str(EntryPointName, r.entrypoint); break;
          case WafRuleIds: if (!r.waf_rule_ids.empty()) str(WafRuleIds, r.waf_rule_ids); break;
          case kFieldCount: break;
        }
        break;
    }
  }
  out += first ? "{}\n" : "}\n";
}

// One header group (request_*, origin_*, downstream_*): Go's http.Header, one key per canonical
// name with its values joined by ',' (Traefik's redactHeaders), keys sorted; the request's Host
// is not a header there (it is RequestAddr).
void AccessLogFormatter::json_headers(const std::vector<std::pair<std::string, std::string>>& hs,
                                      std::string_view prefix, bool skip_host, bool& first,
                                      std::string& out) {
  if (hs.empty()) return;
  std::size_t groups = 0;
  for (const auto& [name, value] : hs) {
    canonical_header_name(name, name_);
    if (skip_host && name_ == "Host") continue;
    std::size_t g = 0;
    while (g < groups && grouped_[g].first != name_) ++g;
    if (g == groups) {
      if (groups == grouped_.size()) grouped_.emplace_back();
      grouped_[g].first = name_;
      grouped_[g].second.clear();
      ++groups;
    } else {
      grouped_[g].second += ',';
    }
    grouped_[g].second += value;
  }
  order_.clear();
  for (std::size_t g = 0; g < groups; ++g) {
    if (header_mode(grouped_[g].first) != AccessLogMode::Drop) order_.push_back(g);
  }
  std::sort(order_.begin(), order_.end(),
            [&](std::size_t a, std::size_t b) { return grouped_[a].first < grouped_[b].first; });
  for (std::size_t g : order_) {
    out += first ? '{' : ',';
    first = false;
    name_.assign(prefix).append(grouped_[g].first);
    append_json_string(name_, out);
    out += ':';
    append_json_string(header_mode(grouped_[g].first) == AccessLogMode::Redact
                           ? std::string_view("REDACTED")
                           : std::string_view(grouped_[g].second),
                       out);
  }
}

}  // namespace portier::observability
