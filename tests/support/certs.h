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
// A leaf for `names` (DNS SANs; the first is also the CN), signed by `ca`.
CertFiles make_leaf(const TempDir& dir, const CertFiles& ca, const std::string& stem,
                    const std::vector<std::string>& names, int days = 30);

}  // namespace portier::test
