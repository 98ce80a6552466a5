#include "support/certs.h"

#include <cstdlib>
#include <stdexcept>

namespace portier::test {
namespace {

void run(const std::string& cmd) {
  if (std::system((cmd + " >/dev/null 2>&1").c_str()) != 0) {
    throw std::runtime_error("command failed: " + cmd);
  }
}

}  // namespace

CertFiles make_ca(const TempDir& dir, const std::string& stem, const std::string& cn) {
  CertFiles f{dir.path() / (stem + ".crt"), dir.path() / (stem + ".key")};
  run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj '/CN=" +
      cn + "' -keyout '" + f.key.string() + "' -out '" + f.cert.string() + "'");
  return f;
}

CertFiles make_leaf(const TempDir& dir, const CertFiles& ca, const std::string& stem,
                    const std::vector<std::string>& names, int days) {
  CertFiles f{dir.path() / (stem + ".crt"), dir.path() / (stem + ".key")};
  std::string san;
  for (const auto& n : names) {
    // IP literals become IP SANs (a server reached at https://127.0.0.1:port).
    const bool ip =
        n.find_first_not_of("0123456789.") == std::string::npos || n.find(':') != std::string::npos;
    san += (san.empty() ? "" : ",") + std::string(ip ? "IP:" : "DNS:") + n;
  }
  auto csr = dir.path() / (stem + ".csr");
  auto ext =
      dir.write(stem + ".ext", "subjectAltName=" + san +
                                   "\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n");
  run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj '/CN=" + names[0] +
      "' -keyout '" + f.key.string() + "' -out '" + csr.string() + "'");
  run("openssl x509 -req -in '" + csr.string() + "' -CA '" + ca.cert.string() + "' -CAkey '" +
      ca.key.string() + "' -CAcreateserial -days " + std::to_string(days) + " -extfile '" +
      ext.string() + "' -out '" + f.cert.string() + "'");
  return f;
}

CertFiles make_client(const TempDir& dir, const CertFiles& ca, const std::string& stem,
                      const std::string& subject, const std::string& san) {
  CertFiles f{dir.path() / (stem + ".crt"), dir.path() / (stem + ".key")};
  auto csr = dir.path() / (stem + ".csr");
  auto ext =
      dir.write(stem + ".ext", (san.empty() ? "" : "subjectAltName=" + san + "\n") +
                                   "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n");
  run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj '" + subject +
      "' -keyout '" + f.key.string() + "' -out '" + csr.string() + "'");
  run("openssl x509 -req -in '" + csr.string() + "' -CA '" + ca.cert.string() + "' -CAkey '" +
      ca.key.string() + "' -CAcreateserial -days 30 -extfile '" + ext.string() + "' -out '" +
      f.cert.string() + "'");
  return f;
}

}  // namespace portier::test
