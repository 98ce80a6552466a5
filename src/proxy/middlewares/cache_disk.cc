#include "proxy/middlewares/cache_disk.h"

#include <openssl/evp.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <limits>
#include <nlohmann/json.hpp>

#include "common/log.h"

namespace portier::proxy::cache {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr std::string_view kMagic = "PORTIER-CACHE 1\n";
constexpr std::size_t kMaxQueued = 64;               // writes waiting for the disk
constexpr std::size_t kMaxHeader = 256 * 1024;       // an entry's header line, at most
constexpr std::string_view kTmpSuffix = ".tmp";

std::string file_name(const std::string& key, const FieldList& vary) {
  std::string material = key;
  for (const auto& [n, v] : vary) material.append(1, '\0').append(n).append(1, '\0').append(v);
  unsigned char digest[32];
  unsigned int len = 0;
  EVP_Digest(material.data(), material.size(), digest, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

json pairs(const FieldList& l) {
  json a = json::array();
  for (const auto& [n, v] : l) a.push_back({n, v});
  return a;
}

bool read_pairs(const json& j, FieldList& out) {
  if (!j.is_array()) return false;
  for (const auto& p : j) {
    if (!p.is_array() || p.size() != 2 || !p[0].is_string() || !p[1].is_string()) return false;
    out.emplace_back(p[0].get<std::string>(), p[1].get<std::string>());
  }
  return true;
}

// The file's first `limit` bytes (all of it when shorter).
std::optional<std::string> slurp(const std::string& path, std::size_t limit) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string data(std::min<std::size_t>(limit, size), '\0');
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  data.resize(static_cast<std::size_t>(in.gcount()));
  return data;
}

}  // namespace

std::string DiskTier::serialize(const std::string& key, const Entry& e) {
  const Freshness& f = e.freshness;
  json h = {{"key", key},
            {"status", e.status},
            {"fields", pairs(e.fields)},
            {"vary", pairs(e.vary)},
            {"responseTime", f.response_time},
            {"initialAge", f.corrected_initial_age},
            {"lifetime", f.lifetime},
            {"staleWhileRevalidate", f.stale_while_revalidate},
            {"staleIfError", f.stale_if_error},
            {"mustRevalidate", f.must_revalidate},
            {"noCache", f.no_cache},
            {"etag", e.etag},
            {"lastModified", e.last_modified},
            {"bodyBytes", e.body.size()}};
  std::string out(kMagic);
  out.append(h.dump()).append("\n").append(e.body);
  return out;
}

std::optional<std::pair<std::string, Entry>> DiskTier::parse_header(std::string_view bytes,
                                                                    std::size_t& header_bytes,
                                                                    std::size_t& body_bytes) {
  if (!bytes.starts_with(kMagic)) return std::nullopt;
  const std::size_t nl = bytes.find('\n', kMagic.size());
  if (nl == std::string_view::npos) return std::nullopt;
  json h = json::parse(bytes.substr(kMagic.size(), nl - kMagic.size()), nullptr, false);
  if (!h.is_object()) return std::nullopt;
  try {
    std::pair<std::string, Entry> out;
    out.first = h.at("key").get<std::string>();
    Entry& e = out.second;
    e.status = h.at("status").get<int>();
    Freshness& f = e.freshness;
    f.response_time = h.at("responseTime").get<Seconds>();
    f.corrected_initial_age = h.at("initialAge").get<Seconds>();
    f.lifetime = h.at("lifetime").get<Seconds>();
    f.stale_while_revalidate = h.at("staleWhileRevalidate").get<Seconds>();
    f.stale_if_error = h.at("staleIfError").get<Seconds>();
    f.must_revalidate = h.at("mustRevalidate").get<bool>();
    f.no_cache = h.at("noCache").get<bool>();
    e.etag = h.at("etag").get<std::string>();
    e.last_modified = h.at("lastModified").get<std::string>();
    body_bytes = h.at("bodyBytes").get<std::size_t>();
    if (!read_pairs(h.at("fields"), e.fields) || !read_pairs(h.at("vary"), e.vary)) {
      return std::nullopt;
    }
    header_bytes = nl + 1;
    return out;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

std::optional<std::pair<std::string, Entry>> DiskTier::parse(std::string_view bytes) {
  std::size_t header = 0, body = 0;
  auto out = parse_header(bytes, header, body);
  if (!out || bytes.size() != header + body) return std::nullopt;  // cut short, or trailing bytes
  out->second.body.assign(bytes.substr(header));
  return out;
}

DiskTier::DiskTier(std::string dir, std::size_t max_bytes)
    : dir_(std::move(dir)), max_bytes_(max_bytes) {}

DiskTier::~DiskTier() { pool_.join(); }

Result<std::shared_ptr<DiskTier>> DiskTier::open(const std::string& dir, std::size_t max_bytes) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error{"cache.diskPath `" + dir + "`: " + ec.message()};
  const std::string probe = dir + "/.probe" + std::string(kTmpSuffix);
  {
    std::ofstream out(probe);
    if (!out || !(out << "x")) return Error{"cache.diskPath `" + dir + "` is not writable"};
  }
  fs::remove(probe, ec);
  std::shared_ptr<DiskTier> t(new DiskTier(dir, max_bytes));
  asio::post(t->pool_, [raw = t.get()] { raw->scan(); });
  return t;
}

void DiskTier::scan() {
  std::error_code ec;
  std::size_t found = 0;
  for (const auto& de : fs::directory_iterator(dir_, ec)) {
    const std::string path = de.path().string();
    if (!de.is_regular_file(ec)) continue;
    if (path.ends_with(kTmpSuffix)) {  // a write a crash interrupted
      fs::remove(path, ec);
      continue;
    }
    // Only the header is read here; the body's length is checked against the file's size.
    auto head = slurp(path, kMaxHeader);
    std::size_t header = 0, body = 0;
    auto parsed = head ? parse_header(*head, header, body) : std::nullopt;
    const auto size = fs::file_size(path, ec);
    if (!parsed || ec || size != header + body) {
      fs::remove(path, ec);  // damaged or cut short
      continue;
    }
    std::lock_guard l(mu_);
    index(parsed->first, Variant{parsed->second.vary, de.path().filename().string(), size});
    ++found;
  }
  std::vector<std::string> doomed;
  {
    std::lock_guard l(mu_);
    evict_locked(doomed);
  }
  remove_files(std::move(doomed));
  if (found > 0) log::info("cache: disk entries found", {{"dir", dir_}, {"entries", std::to_string(found)}});
}

void DiskTier::index(const std::string& key, Variant v) {
  auto [it, fresh] = slots_.try_emplace(key);
  Slot& slot = it->second;
  if (fresh) {
    lru_.push_front(key);
    slot.lru = lru_.begin();
  } else {
    lru_.splice(lru_.begin(), lru_, slot.lru);
  }
  for (auto& old : slot.variants) {
    if (old.vary == v.vary) {
      bytes_ -= old.size;
      bytes_ += v.size;
      old = std::move(v);
      return;
    }
  }
  bytes_ += v.size;
  slot.variants.push_back(std::move(v));
}

void DiskTier::evict_locked(std::vector<std::string>& doomed) {
  while (bytes_ > max_bytes_ && !lru_.empty()) {
    auto it = slots_.find(lru_.back());
    for (auto& v : it->second.variants) {
      bytes_ -= v.size;
      doomed.push_back(v.file);
    }
    lru_.pop_back();
    slots_.erase(it);
  }
}

void DiskTier::remove_files(std::vector<std::string> files) {
  if (files.empty()) return;
  asio::post(pool_, [this, files = std::move(files)] {
    std::error_code ec;
    for (const auto& f : files) fs::remove(dir_ + "/" + f, ec);
  });
}

void DiskTier::write(const std::string& key, std::shared_ptr<const Entry> e) {
  {
    std::lock_guard l(mu_);
    if (queued_ >= kMaxQueued) {
      ++stats_.dropped;
      return;
    }
    ++queued_;
  }
  asio::post(pool_, [this, key, e = std::move(e)] {
    std::string data;
    try {
      data = serialize(key, *e);
    } catch (const json::exception&) {
      // The head is JSON, whose strings are UTF-8; a field value with obs-text (a Latin-1 file
      // name, say) is not. The entry stays in memory only. (Thrown on this thread, it ended
      // the process.)
      log::warn("cache: entry not written to disk",
                {{"dir", dir_}, {"key", key}, {"reason", "a field value is not UTF-8"}});
      std::lock_guard l(mu_);
      --queued_;
      ++stats_.dropped;
      return;
    }
    const std::string name = file_name(key, e->vary);
    const std::string tmp = dir_ + "/" + name + std::string(kTmpSuffix);
    bool ok = false;
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      ok = out && out.write(data.data(), static_cast<std::streamsize>(data.size())) && out.flush();
    }
    std::error_code ec;
    if (ok) fs::rename(tmp, dir_ + "/" + name, ec);
    if (!ok || ec) {
      fs::remove(tmp, ec);
      log::warn("cache: disk write failed", {{"dir", dir_}, {"key", key}});
    }
    std::vector<std::string> doomed;
    {
      std::lock_guard l(mu_);
      --queued_;
      if (ok && !ec) {
        index(key, Variant{e->vary, name, data.size()});
        ++stats_.writes;
        evict_locked(doomed);
      }
    }
    // Already on the tier's thread: remove at once (an evicted file is never the one just
    // written, which is the most recently used).
    for (const auto& f : doomed) fs::remove(dir_ + "/" + f, ec);
  });
}

namespace {

// Runs on the tier's thread. A named coroutine, not a lambda: GCC 12 destroys a lambda
// temporary's captures twice when it is spawned inside a co_await expression.
asio::awaitable<std::shared_ptr<const Entry>> read_file(std::string path) {
  auto data = slurp(path, std::numeric_limits<std::size_t>::max());
  if (!data) co_return nullptr;
  auto parsed = DiskTier::parse(*data);
  if (!parsed) co_return nullptr;
  co_return std::make_shared<const Entry>(std::move(parsed->second));
}

}  // namespace

std::string DiskTier::find_file(const std::string& key, const FieldLookup& request) {
  std::lock_guard l(mu_);
  auto it = slots_.find(key);
  if (it == slots_.end()) return "";
  for (const auto& v : it->second.variants) {
    bool match = true;
    for (const auto& [n, val] : v.vary) match = match && request(n).value_or("") == val;
    if (match) {
      lru_.splice(lru_.begin(), lru_, it->second.lru);
      return dir_ + "/" + v.file;
    }
  }
  return "";
}

asio::awaitable<std::shared_ptr<const Entry>> DiskTier::read(const std::string& key,
                                                             const FieldLookup& request) {
  const std::string path = find_file(key, request);
  std::shared_ptr<const Entry> entry;
  if (!path.empty()) {
    // The read runs on the tier's thread; this coroutine resumes on its own executor.
    entry = co_await asio::co_spawn(pool_, read_file(path), asio::use_awaitable);
  }
  if (entry) {
    std::lock_guard l(mu_);
    ++stats_.reads;
  }
  co_return entry;
}

std::size_t DiskTier::purge(const std::string& key) {
  std::vector<std::string> files;
  {
    std::lock_guard l(mu_);
    auto it = slots_.find(key);
    if (it == slots_.end()) return 0;
    for (auto& v : it->second.variants) {
      bytes_ -= v.size;
      files.push_back(v.file);
    }
    lru_.erase(it->second.lru);
    slots_.erase(it);
  }
  remove_files(std::move(files));
  return 1;
}

std::size_t DiskTier::purge_prefix(std::string_view prefix) {
  std::vector<std::string> files;
  std::size_t n = 0;
  {
    std::lock_guard l(mu_);
    for (auto it = slots_.begin(); it != slots_.end();) {
      if (!std::string_view(it->first).starts_with(prefix)) {
        ++it;
        continue;
      }
      for (auto& v : it->second.variants) {
        bytes_ -= v.size;
        files.push_back(v.file);
      }
      lru_.erase(it->second.lru);
      it = slots_.erase(it);
      ++n;
    }
  }
  remove_files(std::move(files));
  return n;
}

DiskStats DiskTier::stats() const {
  std::lock_guard l(mu_);
  DiskStats s = stats_;
  s.entries = slots_.size();
  s.bytes = bytes_;
  return s;
}

void DiskTier::flush(std::chrono::milliseconds limit) {
  auto done = std::make_shared<std::promise<void>>();
  auto f = done->get_future();
  asio::post(pool_, [done] { done->set_value(); });
  f.wait_for(limit);
}

}  // namespace portier::proxy::cache
