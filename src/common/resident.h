// Resident memory that only start-up needed.
//
// Parsing the configuration, loading certificates and initialising OpenSSL run code and read
// constants that no request touches again; their pages stay mapped into the process and count
// in its resident set (15 MB idle, most of it such pages). nginx's worker never has them: it
// is forked after its master did that work, and fork copies no page-table entries for a file
// mapping. release_clean_file_pages() does the same for a running process: it unmaps the pages
// of every read-only private mapping of a file that holds no page of its own (program and
// library code, read-only data). Their content is the file's, so the next access maps them
// again from the page cache (a minor fault); nothing is lost. Mappings that were ever written
// (relocated data, Anonymous > 0 in smaps) and writable ones are left alone.
#pragma once

#include <cstddef>
#include <string>

namespace portier::resident {

struct Released {
  std::size_t mappings = 0;  // mappings whose pages were unmapped
  std::size_t bytes = 0;     // resident bytes they had
};

// Reads `smaps` (default /proc/self/smaps) and unmaps what it can. Thread-safe with respect to
// the process's other threads: they fault the pages they use back in.
Released release_clean_file_pages(const std::string& smaps = "/proc/self/smaps");

// Resident bytes of this process (smaps_rollup's Rss), 0 if unknown.
std::size_t resident_bytes();

}  // namespace portier::resident
