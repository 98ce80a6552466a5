#include "support/named.h"

#include <openssl/rand.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace portier::test {
namespace {

constexpr const char* kNamed = "/usr/sbin/named";
constexpr const char* kNsupdate = "/usr/bin/nsupdate";
constexpr const char* kDig = "/usr/bin/dig";

std::string base64(const unsigned char* p, std::size_t n) {
  static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < n; i += 3) {
    unsigned v = p[i] << 16 | (i + 1 < n ? p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
    out += a[v >> 18 & 63];
    out += a[v >> 12 & 63];
    out += i + 1 < n ? a[v >> 6 & 63] : '=';
    out += i + 2 < n ? a[v & 63] : '=';
  }
  return out;
}

// Runs `argv` with `input` on its stdin (through a file), returning {exit status, output}.
std::pair<int, std::string> run(const std::vector<std::string>& argv, const std::string& input,
                                const TempDir& dir) {
  static int n = 0;
  auto in = dir.write("in-" + std::to_string(++n), input);
  std::string cmd;
  for (const auto& a : argv) cmd += "'" + a + "' ";
  cmd += "< '" + in.string() + "' 2>&1";
  FILE* f = ::popen(cmd.c_str(), "r");
  if (f == nullptr) return {-1, ""};
  std::string out;
  std::array<char, 512> buf{};
  while (std::size_t k = std::fread(buf.data(), 1, buf.size(), f)) out.append(buf.data(), k);
  int status = ::pclose(f);
  return {status, out};
}

}  // namespace

Named::Named(std::string zone) : zone_(std::move(zone)) {
  unsigned char secret[32];
  RAND_bytes(secret, sizeof secret);
  key_secret_ = base64(secret, sizeof secret);
  port_ = free_port();
  const std::string d = dir_.path().string();
  dir_.write("named.conf", "options {\n  directory \"" + d + "\";\n  pid-file \"" + d +
                               "/named.pid\";\n  session-keyfile \"" + d +
                               "/session.key\";\n  listen-on port " + std::to_string(port_) +
                               " { 127.0.0.1; };\n  listen-on-v6 { none; };\n  recursion no;\n"
                               "  dnssec-validation no;\n  notify no;\n};\n"
                               "controls { };\n" +
                               key_file() + "zone \"" + zone_ + "\" {\n  type primary;\n  file \"" +
                               d + "/zone.db\";\n  allow-update { key \"" + key_name_ +
                               "\"; };\n};\n");
  dir_.write("zone.db",
             "$TTL 60\n@ IN SOA localhost. hostmaster.localhost. 1 3600 600 86400 60\n"
             "@ IN NS localhost.\n@ IN A 127.0.0.1\n* IN A 127.0.0.1\n");
  proc_ = Process::start({kNamed, "-g", "-c", d + "/named.conf"}, dir_.path() / "named.log");
  if (!proc_->wait_for_log("[0-9] (running)\n", std::chrono::seconds(15))) {
    throw std::runtime_error("named did not start: " + proc_->log());
  }
}

Named::~Named() { proc_.reset(); }

std::string Named::key_file() const {
  return "key \"" + key_name_ + "\" {\n  algorithm hmac-sha256;\n  secret \"" + key_secret_ +
         "\";\n};\n";
}

bool Named::update_txt(bool add, const std::string& fqdn, const std::string& value) const {
  return update((add ? "add " + fqdn + " 60" : "delete " + fqdn) + " TXT \"" + value + "\"");
}

bool Named::update(const std::string& line) const {
  std::string script =
      "server 127.0.0.1 " + std::to_string(port_) + "\nupdate " + line + "\nsend\n";
  auto [status, out] =
      run({kNsupdate, "-y", "hmac-sha256:" + key_name_ + ":" + key_secret_}, script, dir_);
  return status == 0;
}

std::string Named::txt(const std::string& fqdn) const {
  auto [status, out] =
      run({kDig, "@127.0.0.1", "-p", std::to_string(port_), "+short", "TXT", fqdn}, "", dir_);
  std::string clean;
  for (char c : out) {
    if (c != '"') clean += c;
  }
  return clean;
}

}  // namespace portier::test
