// The cache middleware's optional disk tier (`diskPath`): every stored entry is also written to
// a file (write-through), so entries evicted from memory, and entries stored before a restart,
// are still served: a memory miss that the disk index knows is read back on the tier's own
// thread and put in memory again.
//
// One DiskTier per cache middleware. All file I/O runs on its one thread (a strand: writes,
// reads, deletions and the start-up scan are serialized); workers only look up the in-memory
// index (a mutex held for a hash lookup) and wait for a read without blocking. Writes go
// through a bounded queue: when the disk falls behind, new writes are dropped (the entry stays
// in memory) rather than queued without end. Files: `<dir>/<sha256 of key and Vary values>`,
// written to a temporary name and renamed, so a crash leaves whole files or none.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/result.h"
#include "proxy/middlewares/http_cache.h"

namespace portier::proxy::cache {

struct DiskStats {
  std::uint64_t entries = 0, bytes = 0, reads = 0, writes = 0, dropped = 0;
};

class DiskTier {
 public:
  // Creates `dir` when missing and indexes the files in it in the background. Fails when the
  // directory cannot be made or written.
  static Result<std::shared_ptr<DiskTier>> open(const std::string& dir, std::size_t max_bytes);
  ~DiskTier();
  DiskTier(const DiskTier&) = delete;
  DiskTier& operator=(const DiskTier&) = delete;

  // Queues `e` to be written under `key`.
  void write(const std::string& key, std::shared_ptr<const Entry> e);
  // Reads the variant of `key` matching the request, when the index has one; resumes on the
  // caller's executor. Null when there is none or the file is gone or damaged.
  boost::asio::awaitable<std::shared_ptr<const Entry>> read(const std::string& key,
                                                            const FieldLookup& request);
  // Drop `key` / every key starting with `prefix` (files removed on the tier's thread); return
  // how many keys.
  std::size_t purge(const std::string& key);
  std::size_t purge_prefix(std::string_view prefix);
  DiskStats stats() const;
  // Waits (bounded) until queued work is done: tests and shutdown.
  void flush(std::chrono::milliseconds limit);

  // The file format, apart from the I/O (tested on its own).
  static std::string serialize(const std::string& key, const Entry& e);
  // The entry and its key, or nullopt when `bytes` is not a whole entry file.
  static std::optional<std::pair<std::string, Entry>> parse(std::string_view bytes);
  // The key and the entry without its body, from a file's first bytes; sets the header's length
  // and the body's.
  static std::optional<std::pair<std::string, Entry>> parse_header(std::string_view bytes,
                                                                   std::size_t& header_bytes,
                                                                   std::size_t& body_bytes);

 private:
  DiskTier(std::string dir, std::size_t max_bytes);
  struct Variant {
    FieldList vary;
    std::string file;
    std::size_t size = 0;
  };
  struct Slot {
    std::vector<Variant> variants;
    std::list<std::string>::iterator lru;
  };
  void scan();
  // The file of the variant of `key` matching the request ("" when none), marked recently used.
  std::string find_file(const std::string& key, const FieldLookup& request);
  void index(const std::string& key, Variant v);  // under mu_
  void evict_locked(std::vector<std::string>& doomed);
  void remove_files(std::vector<std::string> files);

  const std::string dir_;
  const std::size_t max_bytes_;
  boost::asio::thread_pool pool_{1};
  mutable std::mutex mu_;
  std::unordered_map<std::string, Slot> slots_;
  std::list<std::string> lru_;
  std::size_t bytes_ = 0;
  std::size_t queued_ = 0;  // writes waiting
  DiskStats stats_;
};

}  // namespace portier::proxy::cache
