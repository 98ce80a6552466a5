// Resident memory that only start-up needed.
//
// Parsing the configuration, loading certificates and initialising OpenSSL run code and read
// constants that no request touches again; their pages stay mapped into the process and count
// in its resident set (15 MB idle, most of it such pages). nginx's worker never has them: it
// is forked after its master did that work, and fork copies no page-table entries for a file
// mapping. release_loaded_code_pages() does the same for a running process: it unmaps the pages
// of the read-only segments (code, constants) of the program and every library loaded. Their
// content is the file's, so the next access maps them again from the page cache (a minor
// fault); nothing is lost. Writable segments, with relocated data (RELRO) and variables, are
// left alone, and so is a library with text relocations (it wrote into its code when loaded).
//
// The loaded objects are walked with dl_iterate_phdr, which holds the dynamic loader's lock: no
// library is loaded or unloaded meanwhile, so no range can become another mapping under us.
#pragma once

#include <cstddef>

namespace portier::resident {

struct Released {
  std::size_t segments = 0;  // read-only segments whose pages were unmapped
  std::size_t bytes = 0;     // their size (not all of it was resident)
};

// Thread-safe with respect to the process's other threads: they fault the pages they use back
// in.
Released release_loaded_code_pages();

// Resident bytes of this process (smaps_rollup's Rss), 0 if unknown.
std::size_t resident_bytes();

}  // namespace portier::resident
