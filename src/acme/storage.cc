#include "acme/storage.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <random>

#include "common/base64.h"
#include "common/log.h"

namespace portier::acme {
namespace {

// One mutex per storage path for the whole process: resolvers sharing a file must not interleave
// their read-modify-write cycles.
std::mutex& path_mutex(const std::string& path) {
  static std::mutex registry_mu;
  static std::map<std::string, std::unique_ptr<std::mutex>> registry;
  std::lock_guard lock(registry_mu);
  std::error_code ec;
  auto canon = std::filesystem::weakly_canonical(path, ec);
  auto& m = registry[ec ? path : canon.string()];
  if (!m) m = std::make_unique<std::mutex>();
  return *m;
}

std::string sys_error(const std::string& what) { return what + ": " + std::strerror(errno); }

enum class ReadStatus { Ok, Missing, Failed };

ReadStatus read_file(const std::string& path, std::string& out, std::string& err) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return ReadStatus::Missing;
    err = sys_error("cannot open " + path);
    return ReadStatus::Failed;
  }
  char buf[8192];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  bool ok = n == 0;
  if (!ok) err = sys_error("cannot read " + path);
  ::close(fd);
  return ok ? ReadStatus::Ok : ReadStatus::Failed;
}

bool write_all(int fd, const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

Result<bool> write_atomic(const std::string& path, const std::string& data) {
  std::filesystem::path p(path);
  std::filesystem::path dir = p.has_parent_path() ? p.parent_path() : std::filesystem::path(".");
  std::string tmpl = (dir / ("." + p.filename().string() + ".tmp-XXXXXX")).string();
  int fd = ::mkstemp(tmpl.data());  // mode 0600
  if (fd < 0) return Error{sys_error("cannot create a temporary file next to " + path)};
  bool ok = ::fchmod(fd, 0600) == 0 && write_all(fd, data) && ::fsync(fd) == 0;
  std::string err = ok ? "" : sys_error("cannot write " + tmpl);
  if (::close(fd) != 0 && ok) {
    ok = false;
    err = sys_error("cannot close " + tmpl);
  }
  if (ok && ::rename(tmpl.c_str(), path.c_str()) != 0) {
    ok = false;
    err = sys_error("cannot rename " + tmpl + " to " + path);
  }
  if (!ok) {
    ::unlink(tmpl.c_str());
    return Error{err};
  }
  // The rename is durable only once the directory entry is.
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return true;
}

std::string octal_mode(mode_t m) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

std::string str(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string b64field(const nlohmann::json& j, const char* key) {
  auto d = base64_decode(str(j, key));
  return d ? *d : std::string();
}

}  // namespace

ResolverData resolver_from_json(const nlohmann::json& r) {
  ResolverData out;
  if (!r.is_object()) return out;
  if (auto a = r.find("Account"); a != r.end() && a->is_object()) {
    StoredAccount acc;
    acc.email = str(*a, "Email");
    acc.private_key_der = b64field(*a, "PrivateKey");
    acc.key_type = str(*a, "KeyType");
    if (auto reg = a->find("Registration"); reg != a->end() && reg->is_object()) {
      if (auto b = reg->find("body"); b != reg->end() && b->is_object()) {
        acc.registration_body = *b;
      }
      acc.registration_uri = str(*reg, "uri");
    }
    out.account = std::move(acc);
  }
  if (auto cs = r.find("Certificates"); cs != r.end() && cs->is_array()) {
    for (const auto& c : *cs) {
      if (!c.is_object()) continue;
      StoredCertificate sc;
      if (auto d = c.find("domain"); d != c.end() && d->is_object()) {
        if (std::string main = str(*d, "main"); !main.empty()) sc.domains.push_back(main);
        if (auto s = d->find("sans"); s != d->end() && s->is_array()) {
          for (const auto& n : *s) {
            if (n.is_string()) sc.domains.push_back(n.get<std::string>());
          }
        }
      }
      sc.cert_pem = b64field(c, "certificate");
      sc.key_pem = b64field(c, "key");
      if (std::string store = str(c, "Store"); !store.empty()) sc.store = store;
      // Traefik drops entries without a certificate or key when it loads the file; so do we.
      if (sc.domains.empty() || sc.cert_pem.empty() || sc.key_pem.empty()) continue;
      out.certificates.push_back(std::move(sc));
    }
  }
  if (auto fs = r.find("PortierFailures"); fs != r.end() && fs->is_array()) {
    for (const auto& f : *fs) {
      if (!f.is_object()) continue;
      FailureState st;
      if (auto d = f.find("domains"); d != f.end() && d->is_array()) {
        for (const auto& n : *d) {
          if (n.is_string()) st.domains.push_back(n.get<std::string>());
        }
      }
      if (auto n = f.find("failures"); n != f.end() && n->is_number_integer()) {
        st.failures = n->get<int>();
      }
      if (auto n = f.find("nextAttemptMs"); n != f.end() && n->is_number_integer()) {
        st.next_attempt_ms = n->get<std::int64_t>();
      }
      st.last_error = str(f, "lastError");
      if (!st.domains.empty() && st.failures > 0) out.failures.push_back(std::move(st));
    }
  }
  return out;
}

void resolver_to_json(const ResolverData& data, nlohmann::json& r) {
  if (!r.is_object()) r = nlohmann::json::object();
  if (data.account) {
    const auto& a = *data.account;
    // Keep members of the stored Account portier does not know about.
    nlohmann::json& acc = r["Account"];
    if (!acc.is_object()) acc = nlohmann::json::object();
    acc["Email"] = a.email;
    nlohmann::json& reg = acc["Registration"];
    if (!reg.is_object()) reg = nlohmann::json::object();
    reg["body"] = a.registration_body;
    reg["uri"] = a.registration_uri;
    acc["PrivateKey"] = base64_encode(a.private_key_der);
    acc["KeyType"] = a.key_type;
  } else {
    r.erase("Account");
  }
  nlohmann::json certs = nlohmann::json::array();
  for (const auto& c : data.certificates) {
    nlohmann::json domain{{"main", c.domains.empty() ? "" : c.domains[0]}};
    if (c.domains.size() > 1) {
      domain["sans"] = std::vector<std::string>(c.domains.begin() + 1, c.domains.end());
    }
    certs.push_back({{"domain", domain},
                     {"certificate", base64_encode(c.cert_pem)},
                     {"key", base64_encode(c.key_pem)},
                     {"Store", c.store}});
  }
  r["Certificates"] = std::move(certs);
  if (data.failures.empty()) {
    r.erase("PortierFailures");
  } else {
    nlohmann::json fs = nlohmann::json::array();
    for (const auto& f : data.failures) {
      fs.push_back({{"domains", f.domains},
                    {"failures", f.failures},
                    {"nextAttemptMs", f.next_attempt_ms},
                    {"lastError", f.last_error}});
    }
    r["PortierFailures"] = std::move(fs);
  }
}

Result<ResolverData> Storage::load() {
  std::lock_guard lock(path_mutex(path_));
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    if (errno == ENOENT) return ResolverData{};
    return Error{sys_error("cannot stat " + path_)};
  }
  if ((st.st_mode & 0077) != 0) {
    std::string access = (st.st_mode & 0044) != 0 ? "readable" : "writable";
    return Error{path_ + " has permissions " + octal_mode(st.st_mode) + "; it must not be " +
                 access + " by group or others (chmod 600 " + path_ + ")"};
  }
  std::string text, err;
  if (read_file(path_, text, err) == ReadStatus::Failed) return Error{err};
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return ResolverData{};  // as Traefik
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    std::string aside = path_ + ".corrupt-" + std::to_string(std::time(nullptr));
    if (::rename(path_.c_str(), aside.c_str()) != 0) {
      return Error{path_ + " is not valid JSON and cannot be moved aside: " + std::strerror(errno)};
    }
    log::error("acme: the storage file is not valid JSON; kept aside, starting empty",
               {{"resolver", resolver_}, {"storage", path_}, {"kept", aside}});
    return ResolverData{};
  }
  auto it = j.find(resolver_);
  return it == j.end() ? ResolverData{} : resolver_from_json(*it);
}

Result<bool> Storage::save(const ResolverData& data) {
  std::lock_guard lock(path_mutex(path_));
  nlohmann::json all = nlohmann::json::object();
  std::string text, err;
  auto rs = read_file(path_, text, err);
  if (rs == ReadStatus::Failed) return Error{err};
  if (rs == ReadStatus::Ok && text.find_first_not_of(" \t\r\n") != std::string::npos) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    // load() set a corrupt file aside; one that became corrupt since is replaced, and said so.
    if (j.is_object()) {
      all = std::move(j);
    } else {
      log::error("acme: the storage file became invalid JSON; rewriting it",
                 {{"resolver", resolver_}, {"storage", path_}});
    }
  }
  resolver_to_json(data, all[resolver_]);
  return write_atomic(path_, all.dump(2) + "\n");
}

}  // namespace portier::acme
