#!/usr/bin/env bash
# bench/run.sh - portier against nginx and HAProxy, proxying to the same nginx backend.
#
# Prints the Markdown tables of docs/performance.md on stdout (progress goes to stderr) and
# writes them to bench/results/latest.md. See bench/README.md for what is measured and why.
#
# Env: PROXIES="nginx haproxy portier"  ROUNDS=3  DURATION=10  WARMUP=2  CONNS=50
#      SCENARIOS="keep-alive close tls-keep-alive tls-handshake" (and, not in the default list,
#      h2: HTTP/2 over TLS with h2load -m10, CONNS connections; tcp and tcp-close: HTTP through
#      HAProxy's and portier's TCP passthrough, keep-alive or a new connection per request;
#      nginx is left out of them: Debian 12 has no nginx stream module. They need the default
#      PORTIER_DYNAMIC, which defines portier's TCP router)
#      PORTIER_BIN=<path> skips the build.
#      PORTIER_BASE_BIN=<path> with "portier-base" in PROXIES: a second portier binary (the
#      build before a change, say), measured in the same rounds as the first.
#      PORTIER_DYNAMIC=<file in bench/conf> replaces dynamic.yml (e.g. dynamic-middlewares.yml:
#      the same routers with five cheap middlewares, for the pipeline's cost).
#      NGINX_CONF=<file in bench/conf> replaces proxy.nginx.conf (proxy-cache.nginx.conf: with
#      proxy_cache, against PORTIER_DYNAMIC=dynamic-cache.yml, for the cache middleware;
#      proxy-waf.nginx.conf: nginx with ModSecurity and the CRS, against dynamic-waf.yml).
#      WRK_HEADERS="Name: value|Name: value" sends these fields with every wrk request (e.g. a
#      browser's, so a WAF sees a request like a browser's rather than wrk's bare one).
#      PORTIER_FLAGS="<static flags>" are added to portier's command line; @TMP@ in them is the
#      run's temp dir (e.g. "--metrics.prometheus" or "--accessLog.filePath=@TMP@/access.log
#      --accessLog.format=json", for what observability costs).
# Everything listens on 127.0.0.1. Only processes this script started are stopped, by PID.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly ROOT BENCH=$ROOT/bench
readonly PROXIES=${PROXIES:-nginx haproxy portier}
readonly ROUNDS=${ROUNDS:-3} DURATION=${DURATION:-10} WARMUP=${WARMUP:-2} CONNS=${CONNS:-50}
readonly SCENARIOS=${SCENARIOS:-keep-alive close tls-keep-alive tls-handshake}
readonly PORTIER_DYNAMIC=${PORTIER_DYNAMIC:-dynamic.yml}
readonly PORTIER_FLAGS=${PORTIER_FLAGS:-}
readonly NGINX_CONF=${NGINX_CONF:-proxy.nginx.conf}
readonly WRK_HEADERS=${WRK_HEADERS:-}
readonly NGINX=/usr/sbin/nginx HAPROXY=/usr/sbin/haproxy WRK=/usr/bin/wrk H2LOAD=/usr/bin/h2load
readonly START_DEADLINE_S=15 STOP_GRACE_S=5
CLK_TCK=$(getconf CLK_TCK)
readonly CLK_TCK

started=()     # PIDs of live processes this script started; cleanup stops exactly these
tmp=""
exiting=""     # set once cleanup runs
pin_server=()  # taskset prefix for backend and proxy
pin_client=()  # taskset prefix for wrk
server_cpu=-   # the CPU of backend and proxy, - when unpinned
client_cpu=-   # the CPU of wrk, - when unpinned
pinning=""

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
procfs() { python3 -B "$BENCH/lib/procfs.py" "$@"; }

forget() {  # forget PID: drop a reaped PID so a later process reusing it is never signalled
  local keep=() p
  for p in "${started[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  started=("${keep[@]}")
}

stop() {  # stop PID: TERM the process tree rooted at PID, KILL what is left after the grace
  local pid=$1 i
  local -a tree left
  mapfile -t tree < <(procfs pids "$pid")
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < STOP_GRACE_S * 10; i++)); do
    mapfile -t left < <(procfs live "${tree[@]}")
    [[ ${#left[@]} -eq 0 ]] && break
    sleep 0.1
  done
  mapfile -t left < <(procfs live "${tree[@]}")
  if [[ ${#left[@]} -gt 0 ]]; then
    log "PID(s) ${left[*]} ignored SIGTERM for ${STOP_GRACE_S}s; sending SIGKILL"
    kill -KILL "${left[@]}" 2>/dev/null || true
  fi
  # Reap it, except on the way out: bash 5.2's `wait` inside an EXIT trap that interrupted
  # another `wait` can block forever on an already reaped child. Exiting reaps anyway.
  [[ -n $exiting ]] || wait "$pid" 2>/dev/null || true
  forget "$pid"
}

cleanup() {
  local rc=$? pid
  set +e
  exiting=1
  for pid in "${started[@]}"; do stop "$pid"; done
  if [[ -n $tmp ]]; then
    if [[ $rc -eq 0 ]]; then rm -rf "$tmp"; else log "configs and logs kept in $tmp"; fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'log interrupted; exit 130' INT
trap 'log terminated; exit 143' TERM

setup_pinning() {
  local cpus
  read -r -a cpus <<<"$(python3 -B -c 'import os; print(*sorted(os.sched_getaffinity(0)))')"
  if [[ ${#cpus[@]} -ge 2 ]]; then
    server_cpu=${cpus[0]}
    pin_server=(taskset -c "$server_cpu")
    client_cpu=${cpus[1]}
    pin_client=(taskset -c "$client_cpu")
    pinning="backend and proxy pinned to CPU ${cpus[0]}, wrk to CPU ${cpus[1]}"
  else
    pinning="unpinned: only 1 CPU, so wrk competes with backend and proxy"
    log "only 1 CPU available; running unpinned"
  fi
}

build_portier() {
  if [[ -n ${PORTIER_BIN:-} ]]; then
    [[ -x $PORTIER_BIN ]] || die "PORTIER_BIN=$PORTIER_BIN is not an executable"
    return
  fi
  log "building portier (Release)"
  (cd "$ROOT" && cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >&2 &&
    cmake --build build -j2 --target portier >&2) ||
    die "portier does not build; fix it, set PORTIER_BIN, or leave it out of PROXIES"
  PORTIER_BIN=$ROOT/build/src/app/portier
}

free_ports() {  # free_ports N: N distinct free TCP ports on 127.0.0.1
  python3 -B - "$1" <<'EOF'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
EOF
}

render() {  # render TEMPLATE PORT TLS_PORT TCP_PORT: bench/conf/TEMPLATE -> $tmp/TEMPLATE
  sed -e "s|@TMP@|$tmp|g" -e "s|@PORT@|$2|g" -e "s|@TLS_PORT@|${3:-}|g" -e "s|@TCP_PORT@|${4:-}|g" \
    -e "s|@BACKEND_PORT@|$backend_port|g" -e "s|@BENCH@|$BENCH|g" "$BENCH/conf/$1" >"$tmp/$1"
}

make_certificate() {  # the same EC P-256 certificate for every proxy's HTTPS listener
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=bench.local -addext subjectAltName=DNS:bench.local \
    -keyout "$tmp/bench.key" -out "$tmp/bench.crt" 2>/dev/null || die "openssl failed"
  cat "$tmp/bench.crt" "$tmp/bench.key" >"$tmp/bench.pem"  # HAProxy wants both in one file
}

launched=""
launch() {  # launch NAME CMD...: start CMD on the server CPU, log to $tmp/NAME.log
  local name=$1
  shift
  "${pin_server[@]}" "$@" >"$tmp/$name.log" 2>&1 &
  launched=$!
  started+=("$launched")
}

wait_ready() {  # wait_ready NAME PID PORT: until GET / answers with the backend's body
  local name=$1 pid=$2 port=$3 deadline=$((SECONDS + START_DEADLINE_S))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 20 "$tmp/$name.log" >&2 || true
      die "$name exited during startup (log above, full log in $tmp/$name.log)"
    fi
    if [[ $(curl -s --max-time 1 "http://127.0.0.1:$port/" || true) == "hello from the backend" ]]
    then return; fi
    sleep 0.1
  done
  tail -n 20 "$tmp/$name.log" >&2 || true
  die "$name did not serve the backend's answer on 127.0.0.1:$port within ${START_DEADLINE_S}s"
}

check_alive() {  # check_alive NAME PID: a server that died mid-run makes every number after it junk
  kill -0 "$2" 2>/dev/null || die "$1 (PID $2) died during the run; log in $tmp/$1.log"
}

start_backend() {
  mkdir -p "$tmp/backend-temp"
  render backend.nginx.conf ""
  launch backend "$NGINX" -p "$tmp" -e "$tmp/backend.error.log" -c "$tmp/backend.nginx.conf"
  backend_pid=$launched
  wait_ready backend "$backend_pid" "$backend_port"
}

proxy_pid=""
start_proxy() {  # start_proxy NAME PORT TLS_PORT TCP_PORT: sets proxy_pid
  local name=$1 port=$2 tls_port=$3 tcp_port=$4
  case $name in
    nginx)
      mkdir -p "$tmp/nginx-temp"
      render "$NGINX_CONF" "$port" "$tls_port" "$tcp_port"
      launch nginx "$NGINX" -p "$tmp" -e "$tmp/nginx.error.log" -c "$tmp/$NGINX_CONF" ;;
    haproxy)
      render haproxy.cfg "$port" "$tls_port" "$tcp_port"
      launch haproxy "$HAPROXY" -db -f "$tmp/haproxy.cfg" ;;
    portier|portier-base)
      local bin=$PORTIER_BIN
      [[ $name == portier ]] || bin=$PORTIER_BASE_BIN
      render portier.yml "$port" "$tls_port" "$tcp_port"
      [[ $name == portier ]] || mv "$tmp/portier.yml" "$tmp/$name.yml"
      render "$PORTIER_DYNAMIC" "$port" "$tls_port" "$tcp_port"
      [[ $PORTIER_DYNAMIC == dynamic.yml ]] || mv "$tmp/$PORTIER_DYNAMIC" "$tmp/dynamic.yml"
      # shellcheck disable=SC2086 # PORTIER_FLAGS is a list of flags
      launch "$name" "$bin" --configFile="$tmp/$name.yml" --workers=1 --log.level=warn \
        ${PORTIER_FLAGS//@TMP@/$tmp} ;;
  esac
  proxy_pid=$launched
  wait_ready "$name" "$proxy_pid" "$port"
  [[ $(curl -s --max-time 2 --cacert "$tmp/bench.crt" --resolve "bench.local:$tls_port:127.0.0.1" \
    "https://bench.local:$tls_port/" || true) == "hello from the backend" ]] ||
    die "$name does not serve HTTPS on 127.0.0.1:$tls_port (log in $tmp/$name.log)"
  if [[ " $SCENARIOS " == *" tcp"* && $name != nginx ]]; then
    [[ $(curl -s --max-time 2 "http://127.0.0.1:$tcp_port/" || true) == "hello from the backend" ]] ||
      die "$name does not pass TCP through on 127.0.0.1:$tcp_port (log in $tmp/$name.log)"
  fi
}

run_wrk() {  # run_wrk SECONDS OUT URL [wrk args...]: one bounded wrk run on the client CPU
  local secs=$1 out=$2 url=$3 pid
  shift 3
  timeout -k 5 $((secs + 30)) "${pin_client[@]}" "$WRK" -t1 -c"$CONNS" -d"${secs}s" --latency \
    "$@" "$url" >"$out" 2>&1 &
  pid=$!
  started+=("$pid")
  wait "$pid" || die "wrk failed (exit $?): $(tail -n 3 "$out")"
  forget "$pid"
}

run_h2load() {  # run_h2load SECONDS OUT URL: one bounded h2load run (HTTP/2 over TLS)
  local secs=$1 out=$2 url=$3 pid
  timeout -k 5 $((secs + 30)) "${pin_client[@]}" "$H2LOAD" -t1 -c"$CONNS" -m10 -D"$secs" \
    --log-file="$out.requests" -H ":authority: bench.local" "$url" >"$out" 2>&1 &
  pid=$!
  started+=("$pid")
  wait "$pid" || die "h2load failed (exit $?): $(tail -n 3 "$out")"
  forget "$pid"
}

sample() { procfs sample "$server_cpu" "$client_cpu" "$proxy_pid" "$backend_pid"; }

declare -A pid_of ports_of  # per proxy: its PID, and "PORT TLS_PORT TCP_PORT"

scenario_load() {  # scenario_load NAME SCENARIO: sets url, args and load for NAME in SCENARIO
  local name=$1 scenario=$2 port tls_port tcp_port
  read -r port tls_port tcp_port <<<"${ports_of[$name]}"
  args=()
  url="http://127.0.0.1:$port/"
  [[ $scenario == tls-* ]] && url="https://127.0.0.1:$tls_port/"
  [[ $scenario == tcp* ]] && url="http://127.0.0.1:$tcp_port/"
  [[ $scenario == close || $scenario == tls-handshake || $scenario == tcp-close ]] &&
    args=(-H "Connection: close")
  if [[ -n $WRK_HEADERS ]]; then
    local h hs
    IFS='|' read -r -a hs <<<"$WRK_HEADERS"
    for h in "${hs[@]}"; do args+=(-H "$h"); done
  fi
  load=run_wrk
  if [[ $scenario == h2 ]]; then
    load=run_h2load
    url="https://127.0.0.1:$tls_port/"
  fi
}

# Debian 12 packages no nginx stream module (libnginx-mod-stream): no L4 nginx to compare.
skips() { [[ $2 == tcp* && $1 == nginx ]]; }  # skips NAME SCENARIO

one_round() {  # one_round NAME SCENARIO ROUND: one measured run, appended to results.tsv
  local name=$1 scenario=$2 round=$3 out other client url load
  # server CPU busy, client CPU busy/total, proxy, backend, the proxy's user-mode part
  local s0 c0 t0 p0 b0 u0 s1 c1 t1 p1 b1 u1
  local -a args
  scenario_load "$name" "$scenario"
  proxy_pid=${pid_of[$name]}
  out=$tmp/out/wrk-$name-$scenario-$round.txt
  read -r s0 c0 t0 p0 b0 u0 <<<"$(sample)"
  $load "$DURATION" "$out" "$url" "${args[@]}"
  read -r s1 c1 t1 p1 b1 u1 <<<"$(sample)"
  check_alive backend "$backend_pid"
  check_alive "$name" "$proxy_pid"
  # Other load on the server CPU skews the result; a saturated client caps req/s.
  other=0 client=0
  if [[ $server_cpu != - ]]; then
    other=$(((s1 - s0) - (p1 - p0) - (b1 - b0)))
    client=$((100 * (c1 - c0) / (t1 - t0)))
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$scenario" "$round" $((p1 - p0)) \
    "$other" "$client" "$out" $((u1 - u0)) >>"$tmp/results.tsv"
  log "$name $scenario round $round/$ROUNDS: $(python3 -B "$BENCH/lib/wrk_parse.py" "$out");" \
    "other load on the proxy's CPU $((other * 100 / (DURATION * CLK_TCK)))%," \
    "wrk's CPU ${client}% busy (wrk and others)"
}

# Every proxy runs from the start (an idle one costs nothing), and each round of a scenario
# measures them one after the other: the machine's drift (this VM's hypervisor takes CPU
# time at random, and its speed changes for minutes at a time) then falls on all of them
# alike, where measuring one proxy's rounds after another's compared different machines.
bench_all() {  # bench_all NAME...: warm-up, then interleaved rounds of every scenario; peak RSS
  local name scenario round url load
  local -a args
  for scenario in $SCENARIOS; do
    for name in "$@"; do
      skips "$name" "$scenario" && continue
      scenario_load "$name" "$scenario"
      $load "$WARMUP" "$tmp/out/warmup.txt" "$url" "${args[@]}"
    done
    for ((round = 1; round <= ROUNDS; round++)); do
      for name in "$@"; do
        skips "$name" "$scenario" && continue
        one_round "$name" "$scenario" "$round"
      done
    done
  done
  for name in "$@"; do
    printf '%s\t%s\n' "$name" "$(procfs hwm "${pid_of[$name]}")" >>"$tmp/rss.tsv"
    stop "${pid_of[$name]}"
  done
}

footer() {
  local cpu nginx haproxy wrk portier=""
  cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
  nginx=$("$NGINX" -v 2>&1 | sed 's|.*nginx/||')
  haproxy=$("$HAPROXY" -v | awk 'NR == 1 { print $3 }')
  wrk=$({ "$WRK" -v 2>&1 || true; } | awk 'NR == 1 { sub(/^debian\//, "", $2); print $2 }')
  if [[ " $PROXIES " == *" portier "* ]]; then
    portier=", portier $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo none)"
  fi
  if [[ " $PROXIES " == *" portier-base "* ]]; then portier+=", portier-base $PORTIER_BASE_BIN"; fi
  echo "Machine: $(nproc) CPUs ($cpu), Linux $(uname -r); $pinning."
  echo "Versions: nginx $nginx, HAProxy $haproxy, wrk $wrk$portier."
  echo "Each cell is the median of $ROUNDS rounds of ${DURATION}s after a ${WARMUP}s warm-up" \
    "(wrk -t1 -c$CONNS --latency). CPU µs/req is the proxy's utime+stime (all its processes)" \
    "over the requests wrk completed, \"of it user\" its utime alone; peak RSS is VmHWM summed over its processes after both" \
    "scenarios. Generated $(date -u +%F)."
  echo "Command: \`PROXIES=\"$PROXIES\" SCENARIOS=\"$SCENARIOS\" ROUNDS=$ROUNDS" \
    "DURATION=$DURATION WARMUP=$WARMUP CONNS=$CONNS bench/run.sh\`"
}

main() {
  "$ROOT/tools/deps.sh" bench
  local name
  local -a proxies ports
  read -r -a proxies <<<"$PROXIES"
  [[ ${#proxies[@]} -gt 0 ]] || die "PROXIES is empty"
  for name in ROUNDS DURATION WARMUP CONNS; do
    [[ ${!name} =~ ^[1-9][0-9]*$ ]] || die "$name must be a positive integer, not '${!name}'"
  done
  for name in "${proxies[@]}"; do
    [[ $name =~ ^(nginx|haproxy|portier|portier-base)$ ]] || die "unknown proxy '$name' in PROXIES"
    [[ $name != portier-base || -x ${PORTIER_BASE_BIN:-} ]] ||
      die "portier-base needs PORTIER_BASE_BIN=<an executable portier>"
  done
  if [[ " $PROXIES " == *" portier "* ]]; then build_portier; fi
  setup_pinning
  tmp=$(mktemp -d /tmp/portier-bench.XXXXXX)
  # The load tools' output (h2load logs every request) goes to a directory of its own: written
  # beside the proxies' configuration, it would be events in the directory portier's file
  # provider watches.
  mkdir -p "$tmp/out"
  chmod 711 "$tmp"  # nginx workers run as nobody when started as root
  : >"$tmp/results.tsv"
  : >"$tmp/rss.tsv"

  for name in $SCENARIOS; do
    [[ $name =~ ^(keep-alive|close|tls-keep-alive|tls-handshake|h2|tcp|tcp-close)$ ]] ||
      die "unknown scenario '$name' in SCENARIOS"
  done
  make_certificate
  read -r -a ports <<<"$(free_ports $((3 * ${#proxies[@]} + 1)))"
  backend_port=${ports[0]}
  start_backend
  log "backend: nginx on 127.0.0.1:$backend_port; $pinning"

  local i=1
  for name in "${proxies[@]}"; do
    start_proxy "$name" "${ports[i]}" "${ports[i + 1]}" "${ports[i + 2]}"
    pid_of[$name]=$proxy_pid
    ports_of[$name]="${ports[i]} ${ports[i + 1]} ${ports[i + 2]}"
    log "$name: PID(s) $(procfs pids "$proxy_pid" | tr '\n' ' ')"
    i=$((i + 3))
  done
  bench_all "${proxies[@]}"

  {
    python3 -B "$BENCH/lib/report.py" "$CLK_TCK" "$CONNS" "$tmp/results.tsv" "$tmp/rss.tsv"
    footer
  } >"$tmp/report.md"
  mkdir -p "$BENCH/results"
  cp "$tmp/report.md" "$BENCH/results/latest.md"
  cat "$tmp/report.md"
}

main "$@"
