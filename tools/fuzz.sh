#!/usr/bin/env bash
# Fuzzes the HTTP parser with libFuzzer (clang, AddressSanitizer, UBSan) for SECONDS (default 60),
# starting from tests/fuzz/corpus. New interesting inputs land in build-fuzz/corpus; copy the
# ones worth keeping into tests/fuzz/corpus (fuzz_replay runs them in `make test`).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
tools/deps.sh build
command -v clang++ >/dev/null || { echo "fuzz: needs clang (apt-get install clang)" >&2; exit 1; }
cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DPORTIER_FUZZ=ON -DPORTIER_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz -j2 --target http_fuzz
mkdir -p build-fuzz/corpus
build-fuzz/tests/http_fuzz -max_total_time="$seconds" -max_len=8192 build-fuzz/corpus tests/fuzz/corpus
