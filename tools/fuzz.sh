#!/usr/bin/env bash
# Fuzzes portier with libFuzzer (clang, AddressSanitizer, UBSan) in its own build dir
# (build-fuzz): each target for SECONDS (default 60), starting from its seed corpus
# tests/fuzz/corpus/<target>, two targets at a time (FUZZ_JOBS).
#
#   tools/fuzz.sh [SECONDS] [TARGET...]     targets: http response request rule labels config
#                                           client_hello proxy_header h2_stream dns_message
#
# FUZZ_SEED=N fixes libFuzzer's seed: the same mutations in the same order on every run (CI
# sets it, so a CI run fails only on what the same run finds here too); unset, each run
# explores afresh.
#
# New interesting inputs land in build-fuzz/corpus/<target>: copy the ones worth keeping into
# tests/fuzz/corpus/<target> (the <target>_replay tests run them in `make test`). A crash leaves
# its input in build-fuzz/artifacts/ and makes the script fail. Exit 77 (skipped) without clang.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(http response request rule labels config client_hello proxy_header h2_stream dns_message)
jobs=${FUZZ_JOBS:-2}

command -v clang++ >/dev/null || { echo "fuzz: needs clang (apt-get install clang); skipped" >&2; exit 77; }
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
start=$(date +%s)
# OSS-Fuzz's flags: -O1 with line tables only (stack traces keep file:line), assertions on.
cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
  -DPORTIER_FUZZ=ON -DPORTIER_BUILD_BENCH=OFF -DPORTIER_CCACHE=OFF "${launcher[@]}" >/dev/null
cmake --build build-fuzz -j2 --target $(printf '%s_fuzz ' "${targets[@]}")
echo "fuzz: build took $(( $(date +%s) - start )) s" >&2

mkdir -p build-fuzz/artifacts
run() {
  local t=$1 max_len=4096
  [ "$t" = http ] || [ "$t" = response ] || [ "$t" = request ] && max_len=8192
  local seed=()
  [ -n "${FUZZ_SEED:-}" ] && seed=(-seed="$FUZZ_SEED")
  local dict=()
  [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
  mkdir -p "build-fuzz/corpus/$t"
  if build-fuzz/tests/"${t}_fuzz" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 "${seed[@]}" "${dict[@]}" \
      -artifact_prefix="build-fuzz/artifacts/$t-" \
      "build-fuzz/corpus/$t" "tests/fuzz/corpus/$t" >"build-fuzz/$t.log" 2>&1; then
    echo "fuzz: $t: ok ($(grep -o 'stat::number_of_executed_units: [0-9]*' "build-fuzz/$t.log" |
      grep -o '[0-9]*$') runs)" >&2
  else
    echo "fuzz: $t: FAILED, see build-fuzz/$t.log" >&2
    tail -40 "build-fuzz/$t.log" >&2
    return 1
  fi
}
failed=0
pids=()
for t in "${targets[@]}"; do
  run "$t" &
  pids+=($!)
  if [ ${#pids[@]} -ge "$jobs" ]; then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p" || failed=1; done
echo "fuzz: total $(( $(date +%s) - start )) s" >&2
exit $failed
