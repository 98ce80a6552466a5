// Test certificates made with the openssl command line (a CA, and leaves it signs), so portier's
// own certificate code is not what makes them.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "support/process.h"

namespace portier::test {

struct CertFiles {
  std::filesystem::path cert;
  std::filesystem::path key;
};

// A CA named `cn` in `dir` (files <stem>.crt and <stem>.key).
CertFiles make_ca(const TempDir& dir, const std::string& stem, const std::string& cn);
// A leaf for `names` (DNS SANs, IP SANs for IP literals; the first is also the CN), signed by
// `ca`.
CertFiles make_leaf(const TempDir& dir, const CertFiles& ca, const std::string& stem,
                    const std::vector<std::string>& names, int days = 30);

// A client certificate (extendedKeyUsage clientAuth) for subject `subject` (OpenSSL's
// "/C=FR/O=Cheese/CN=alice" form), signed by `ca`, with subjectAltName `san` when not empty
// (OpenSSL's syntax: "email:a@b.test,DNS:alice.test").
CertFiles make_client(const TempDir& dir, const CertFiles& ca, const std::string& stem,
                      const std::string& subject, const std::string& san = "");

}  // namespace portier::test
