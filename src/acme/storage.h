// acme.json, in Traefik v2/v3's format, so a file Traefik wrote works as-is:
//
//   { "<resolver>": {
//       "Account": { "Email": "...", "Registration": { "body": {...}, "uri": "..." },
//                    "PrivateKey": "<base64 of DER>", "KeyType": "4096" },
//       "Certificates": [ { "domain": { "main": "a.test", "sans": ["b.test"] },
//                           "certificate": "<base64 of the PEM chain>",
//                           "key": "<base64 of the PEM key>", "Store": "default" } ],
//       "PortierFailures": [ ... portier's retry state; Traefik ignores unknown keys ... ] } }
//
// Several resolvers may share a file: save() re-reads the file and replaces only its resolver's
// "Account", "Certificates" and "PortierFailures", keeping everything else as it was. Reads and
// writes of one path are serialized by a process-wide mutex per path. Writes are atomic (temp
// file in the same directory with mode 0600, fsync, rename, fsync of the directory).
//
// Threading: a Storage may be used from any thread; it holds no state besides its path.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace portier::acme {

struct StoredAccount {
  std::string email;
  nlohmann::json registration_body = nlohmann::json::object();
  std::string registration_uri;
  std::string private_key_der;  // as decoded from base64; never logged
  std::string key_type;         // Traefik's KeyType field, kept as found
  bool operator==(const StoredAccount&) const = default;
};

struct StoredCertificate {
  std::vector<std::string> domains;  // main first
  std::string cert_pem;
  std::string key_pem;
  std::string store = "default";
  bool operator==(const StoredCertificate&) const = default;
};

// Retry state of one name set (portier only).
struct FailureState {
  std::vector<std::string> domains;
  int failures = 0;
  std::int64_t next_attempt_ms = 0;  // unix milliseconds
  std::string last_error;
  bool operator==(const FailureState&) const = default;
};

struct ResolverData {
  std::optional<StoredAccount> account;
  std::vector<StoredCertificate> certificates;
  std::vector<FailureState> failures;
  bool operator==(const ResolverData&) const = default;
};

// Where a resolver keeps its data: acme.json (Storage, below) or Redis (redis_storage.h).
// Called with the manager's mutex held; may block on I/O (bounded by the backend's timeouts).
class StorageBackend {
 public:
  virtual ~StorageBackend() = default;
  virtual Result<ResolverData> load() = 0;
  virtual Result<bool> save(const ResolverData& data) = 0;
  // For logs: the path, or the URL without its password.
  virtual std::string where() const = 0;
};

class Storage : public StorageBackend {
 public:
  Storage(std::string path, std::string resolver)
      : path_(std::move(path)), resolver_(std::move(resolver)) {}

  // Missing file: empty data. A file with group/other permission bits: an error (as Traefik).
  // An unparseable file: renamed to <path>.corrupt-<unix time>, logged, empty data.
  // Entries Traefik would also drop (no certificate or key) are skipped.
  Result<ResolverData> load() override;
  // Read-modify-write of this resolver's entry; atomic; creates the file with mode 0600.
  Result<bool> save(const ResolverData& data) override;
  std::string where() const override { return path_; }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::string resolver_;
};

// Pure conversions, exposed for tests.
ResolverData resolver_from_json(const nlohmann::json& resolver);
// Writes `data` into `resolver` (an existing object is updated, unknown keys kept).
void resolver_to_json(const ResolverData& data, nlohmann::json& resolver);

}  // namespace portier::acme
