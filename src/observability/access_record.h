// One finished request as the access log sees it: a plain value, copied out of the request's
// Stream by the codec when the exchange ends and handed to the log writer thread. The strings
// keep their capacity from one use to the next (the queue's slots are reused), so a warm worker
// fills a record without allocating. Field names follow Traefik's access log (CoreLogData keys).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace portier::observability {

struct AccessRecord {
  std::chrono::system_clock::time_point start;  // StartUTC / StartLocal: the head was received
  std::chrono::nanoseconds duration{0};         // Duration: until the last byte to the client
  std::chrono::nanoseconds origin_duration{0};  // OriginDuration: request sent to response done
                                                // (0 when no server was asked)
  std::string client_addr;      // ClientAddr: "ip:port" as accepted ("[v6]:port")
  std::string client_host;      // ClientHost: the ip
  std::string client_port;      // ClientPort
  std::string client_username;  // ClientUsername: set by basicAuth/digestAuth, else "" ("-")
  std::string request_addr;     // RequestAddr: the Host as sent (may carry a port)
  std::string request_host;     // RequestHost: without the port
  std::string request_port;     // RequestPort: "" when the Host has none ("-")
  std::string request_method;   // RequestMethod
  std::string request_path;     // RequestPath: the target as sent, query included
  std::string request_protocol; // RequestProtocol: "HTTP/1.1"
  std::string request_scheme;   // RequestScheme: "http" / "https"
  std::uint64_t request_content_size = 0;  // RequestContentSize: body bytes read from the client
  std::string entrypoint;       // the entrypoint's name (not a Traefik log field; metrics use it)
  std::string router_name;      // RouterName: "" when no router matched
  std::string service_name;     // ServiceName: the service that answered ("" for none)
  std::string service_url;      // ServiceURL: the server's URL
  std::string service_addr;     // ServiceAddr: the server's host:port
  int origin_status = 0;        // OriginStatus: the server's status; 0 when none answered
  std::uint64_t origin_content_size = 0;   // OriginContentSize: body bytes from the server
  int downstream_status = 0;    // DownstreamStatus: what the client got; 0 when nothing was sent
  std::uint64_t downstream_content_size = 0;  // DownstreamContentSize: body bytes to the client
  int retry_attempts = 0;       // RetryAttempts: tries of a server beyond the first
  std::uint64_t request_count = 0;  // RequestCount: requests this process has received, ever
  std::string tls_version;      // TLSVersion: "1.3"; "" on plain HTTP
  std::string tls_cipher;       // TLSCipher: OpenSSL's name ("TLS_AES_128_GCM_SHA256")
  std::string tls_client_subject;  // TLSClientSubject: the client certificate's subject, or ""
  std::string waf_rule_ids;  // WafRuleIds (a portier field): the waf middleware's matched rules
  // Filled only when the log's header mode is not drop (AccessLog::wants_headers()); names as
  // sent, one entry per field line.
  std::vector<std::pair<std::string, std::string>> request_headers;
  std::vector<std::pair<std::string, std::string>> origin_headers;      // the server's response
  std::vector<std::pair<std::string, std::string>> downstream_headers;  // as sent to the client
};

}  // namespace portier::observability
