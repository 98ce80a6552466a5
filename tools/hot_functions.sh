#!/usr/bin/env bash
# Lists the functions of portier's binary that serving requests runs, hottest first, as the
# linker's symbol ordering file: src/app/hot_functions.txt (CMakeLists.txt, PORTIER_ORDER_FUNCTIONS).
# The linker then places them together at the start of the program's code, so that serving maps
# a few hundred KiB of it rather than pages spread over all of its megabytes
# (docs/performance.md, "code layout").
#
#   tools/hot_functions.sh [PORTIER_BIN] > src/app/hot_functions.txt
#
# Runs PORTIER_BIN (default build/src/app/portier) under callgrind in front of whoami
# (build/tools/whoami/whoami) through the traffic below (wrk, h2load, curl) and quiet seconds;
# start-up and loading do not count (callgrind's counters start 4 s after the first response). Needs
# valgrind, wrk, h2load (nghttp2-client), curl and openssl. Loopback only; each load is bounded
# in requests or seconds. A name that is no longer in the program is ignored by the linker, so
# a stale list costs locality, never correctness; rerun this after changes to the request path.
set -euo pipefail
bin=${1:+$(realpath "$1")}  # relative to where it was called from
cd "$(dirname "$0")/.."
bin=${bin:-$(realpath build/src/app/portier)}
name=hot_functions
. tools/lib/callgrind_env.sh
backend=$(free_port) web=$(free_port) secure=$(free_port) l4=$(free_port)

make_cert
cat > "$dir/static.yml" <<EOF
entryPoints:
  web: {address: "127.0.0.1:$web"}
  websecure: {address: "127.0.0.1:$secure"}
  l4: {address: "127.0.0.1:$l4"}
providers:
  file: {filename: "$dir/dynamic.yml"}
EOF
cat > "$dir/dynamic.yml" <<EOF
http:
  routers:
    plain: {rule: "PathPrefix(\`/\`)", service: backend, entryPoints: [web]}
    secure: {rule: "PathPrefix(\`/\`)", service: backend, entryPoints: [websecure], tls: {}}
    redirect: {rule: "Host(\`redirect.local\`)", service: backend, entryPoints: [web], middlewares: [to-https]}
    headers: {rule: "Host(\`mw.local\`)", service: backend, entryPoints: [websecure], tls: {}, middlewares: [security, gzip]}
  middlewares:
    to-https: {redirectScheme: {scheme: https, permanent: true}}
    security: {headers: {stsSeconds: 31536000, frameDeny: true, contentTypeNosniff: true}}
    gzip: {compress: {}}
  services:
    backend: {loadBalancer: {servers: [{url: "http://127.0.0.1:$backend"}]}}
tcp:
  routers:
    passthrough: {rule: "HostSNI(\`*\`)", service: backend, entryPoints: [l4]}
  services:
    backend: {loadBalancer: {servers: [{address: "127.0.0.1:$backend"}]}}
tls:
  stores:
    default: {defaultCertificate: {certFile: "$dir/cert.pem", keyFile: "$dir/key.pem"}}
EOF

start_under_callgrind --demangle=no
# Up when the port accepts. Not with a request: what a server's first request runs once (the
# upstream pool's set-up) must fall within the profile, as it does for a server whose first
# request comes after loading's pages are released (Lifecycle.ServingMapsLittleOfTheProgramsCode).
for _ in $(seq 200); do
  (exec 3<>"/dev/tcp/127.0.0.1/$web") 2>/dev/null && break
  sleep 0.3
done
# Three profiles, each a callgrind dump (a dump also zeroes the counters). The first: what
# every setup runs, plain HTTP: keep-alive and Connection: close, a redirect to HTTPS, the
# housekeeping ticks of quiet seconds (parking, the trim after a burst). The second: HTTPS
# over HTTP/1.1 and HTTP/2, handshakes (OpenSSL's code, linked in: CMakeLists.txt,
# PORTIER_STATIC_OPENSSL). The third: middlewares (security headers, compress) and TCP
# passthrough. Functions of the first come first, hottest first, then those only the second
# ran, then the third's: a plain HTTP server maps none of the TLS code, and whatever runs on
# every request shares as few 64 KiB windows as it can.
sleep 4  # loading done and its pages released (2 s after the load): neither is serving
callgrind_control -z "$vg" >/dev/null
load() { timeout 60 "$@" >/dev/null 2>&1 || echo "hot_functions: load failed: $*" >&2; }
for _ in 1 2 3; do
  load curl -s -m5 "http://127.0.0.1:$web/"
  load curl -s -m5 -H "Connection: keep-alive" -H "X-Forwarded-For: 192.0.2.1" \
    "http://127.0.0.1:$web/"
  load curl -s -m5 -H "Host: redirect.local" "http://127.0.0.1:$web/"
done
sleep 3
load wrk -t1 -c10 -d3s -H "Connection: keep-alive" "http://127.0.0.1:$web/"
load wrk -t1 -c5 -d3s -H "Connection: close" "http://127.0.0.1:$web/"
sleep 3
callgrind_control -d "$vg" >/dev/null
for _ in 1 2 3; do
  load curl -s -m5 -k --http1.1 "https://127.0.0.1:$secure/"
  load curl -s -m5 -k "https://127.0.0.1:$secure/"  # HTTP/2 (ALPN)
done
load wrk -t1 -c10 -d3s "https://127.0.0.1:$secure/"
load wrk -t1 -c5 -d3s -H "Connection: close" "https://127.0.0.1:$secure/"
load h2load -n 3000 -c10 -m10 "https://127.0.0.1:$secure/"
sleep 3
callgrind_control -d "$vg" >/dev/null
for _ in 1 2 3; do
  load curl -s -m5 -k --compressed -H "Host: mw.local" "https://127.0.0.1:$secure/"
  load curl -s -m5 -k --http1.1 --compressed -H "Host: mw.local" "https://127.0.0.1:$secure/"
done
load wrk -t1 -c10 -d3s "http://127.0.0.1:$l4/"
sleep 2
callgrind_control -d "$vg" >/dev/null
sleep 0.5
kill "$vg"
wait "$vg" 2>/dev/null || true

# Every function of the program itself with a cost, most instructions first, per dump.
# callgrind_annotate prints "cost (pct)  file:function [object]".
for out in "$dir"/cg.out.1 "$dir"/cg.out.2 "$dir"/cg.out.3; do
  test -s "$out" || { echo "hot_functions: no profile $out" >&2; exit 1; }
  callgrind_annotate --threshold=100 --inclusive=no "$out" 2>/dev/null
done |
  awk -v obj="[$bin]" '
    $NF == obj {
      fn = $(NF - 1)
      sub(/^.*:/, "", fn)
      sub(/\047[0-9]+$/, "", fn)  # a quote and a number: callgrind marks a recursive call so
      if (fn != "" && !(fn in seen)) { seen[fn] = 1; print fn }
    }'
