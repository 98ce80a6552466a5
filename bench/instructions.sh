#!/usr/bin/env bash
# User-space instructions per request under callgrind: steadier than CPU time on a shared
# machine, so a change's cost on the request path can be told from noise (docs/performance.md).
#
#   bench/instructions.sh [PORTIER_BIN] MODE
#
# MODE: ka (HTTP/1.1 keep-alive, 20 000 requests over 10 connections), tka (the same over TLS;
# the 10 handshakes are in the count, equally for every build), h2 (HTTP/2 over TLS, 20 000
# requests, 10 connections x 10 streams), cl (a new connection per request, wrk -c5 for 8 s)
# or hs (a TLS handshake per request, wrk -c5 for 8 s). Runs PORTIER_BIN (default
# build/src/app/portier, --workers=1) under callgrind in front of whoami
# (build/tools/whoami/whoami); counting starts 4 s after the first response (start-up and
# loading do not count). Prints "MODE BIN: requests N instructions I per_request I/N". Needs
# valgrind, h2load (nghttp2-client), wrk, curl, openssl. Loopback only; bounded loads.
#
# CACHE=1: callgrind also simulates the caches (a 512 KiB, 8-way last level, as this machine's
# L2; first levels as the host's) and prints their misses per request too: instruction and data
# first-level (I1mr, D1mr, D1mw) and last-level (ILmr, DLmr, DLmw). A model: the machine has no
# hardware counters (docs/performance.md, 2026-12-08).
set -euo pipefail
mode=${!#}
bin=""
[ $# -ge 2 ] && bin=$(realpath "$1")  # relative to where it was called from
cd "$(dirname "$0")/.."
bin=${bin:-$(realpath build/src/app/portier)}
name=instructions
. tools/lib/callgrind_env.sh
backend=$(free_port) web=$(free_port) secure=$(free_port)
make_cert
cat > "$dir/static.yml" <<EOF
entryPoints:
  web: {address: "127.0.0.1:$web"}
  websecure: {address: "127.0.0.1:$secure"}
providers:
  file: {filename: "$dir/dynamic.yml"}
EOF
cat > "$dir/dynamic.yml" <<EOF
http:
  routers:
    plain: {rule: "PathPrefix(\`/\`)", service: backend, entryPoints: [web]}
    secure: {rule: "PathPrefix(\`/\`)", service: backend, entryPoints: [websecure], tls: {}}
  services:
    backend: {loadBalancer: {servers: [{url: "http://127.0.0.1:$backend"}]}}
tls:
  stores:
    default: {defaultCertificate: {certFile: "$dir/cert.pem", keyFile: "$dir/key.pem"}}
EOF

if [ "${CACHE:-0}" = 1 ]; then
  start_under_callgrind --cache-sim=yes --LL=524288,8,64
else
  start_under_callgrind
fi
for _ in $(seq 200); do
  curl -sk -m5 -o /dev/null "https://127.0.0.1:$secure/" && break
  sleep 0.3
done
sleep 4
# Warm-up: the connections, pools and lists a run needs, then counting from zero.
timeout 60 wrk -t1 -c5 -d2s -H "Connection: close" "http://127.0.0.1:$web/" >/dev/null 2>&1
callgrind_control -z "$vg" >/dev/null
case $mode in
  ka) out=$(timeout 300 h2load --h1 -n 20000 -c10 "http://127.0.0.1:$web/" 2>&1) ;;
  tka) out=$(timeout 300 h2load --h1 -n 20000 -c10 "https://127.0.0.1:$secure/" 2>&1) ;;
  h2) out=$(timeout 300 h2load -n 20000 -c10 -m10 "https://127.0.0.1:$secure/" 2>&1) ;;
  cl) out=$(timeout 60 wrk -t1 -c5 -d8s -H "Connection: close" "http://127.0.0.1:$web/") ;;
  hs) out=$(timeout 60 wrk -t1 -c5 -d8s -H "Connection: close" "https://127.0.0.1:$secure/") ;;
  *) echo "instructions: MODE is ka, tka, h2, cl or hs" >&2; exit 1 ;;
esac
n=$(echo "$out" | awk '/requests in/{print $1} /^requests:/{print $8}')
callgrind_control -d "$vg" >/dev/null
sleep 0.5
kill "$vg"
wait "$vg" 2>/dev/null || true
f=$(ls -t "$dir"/cg.out.* | head -1)  # the dump after the load, not the one at exit
ir=$(callgrind_annotate "$f" 2>/dev/null | awk '/PROGRAM TOTALS/{gsub(",","",$1); print $1}')
[ -n "$n" ] && [ "$n" -gt 0 ] || { echo "instructions: the load failed: $out" >&2; exit 1; }
echo "$mode $(basename "$bin"): requests $n instructions $ir per_request $((ir / n))"
if [ "${CACHE:-0}" = 1 ]; then
  # The events line names the columns of the totals line under it.
  callgrind_annotate "$f" 2>/dev/null | awk -v n="$n" '
    /^Ir / && !cols { for (i = 1; i <= NF; i++) names[i] = $i; cols = NF; next }
    /PROGRAM TOTALS/ {
      line = "per request:"
      for (i = 1; i <= cols; i++) {
        if (names[i] ~ /^(I1mr|D1mr|D1mw|ILmr|DLmr|DLmw)$/) {
          v = $(2 * i - 1); gsub(",", "", v); line = line sprintf(" %s %.1f", names[i], v / n)
        }
      }
      print line; exit
    }'
fi
