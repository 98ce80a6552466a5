#!/usr/bin/env bash
# How fast a labelled container becomes routable: from `docker run` returning to the first 200
# through portier, over RUNS containers (default 20), median and max. Needs root: like the e2e
# tests it starts its own containerd and dockerd (own directories and sockets, stopped on exit)
# and imports an offline whoami image. Loopback only.
#   bench/docker_speed.sh            (PORTIER_BIN, WHOAMI_BIN default to build/)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-20}
PORTIER_BIN=${PORTIER_BIN:-build/src/app/portier}
WHOAMI_BIN=${WHOAMI_BIN:-build/tools/whoami/whoami}
[ "$(id -u)" -eq 0 ] || { echo "docker_speed: needs root (starts its own dockerd)" >&2; exit 1; }
tools/deps.sh test

root=$(mktemp -d /tmp/pdspeed.XXXX)
pids=()
cleanup() {
  docker -H "unix://$root/docker.sock" rm -f $(docker -H "unix://$root/docker.sock" ps -aq 2>/dev/null) >/dev/null 2>&1 || true
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  grep " $root/" /proc/self/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$root"
}
trap cleanup EXIT
D="docker -H unix://$root/docker.sock"

containerd --root "$root/containerd" --state "$root/cstate" --address "$root/containerd.sock" \
  >"$root/containerd.log" 2>&1 & pids+=($!)
for _ in $(seq 100); do [ -S "$root/containerd.sock" ] && break; sleep 0.1; done
dockerd --iptables=false --ip-masq=false --bridge=none --storage-driver=vfs \
  --data-root "$root/docker" --exec-root "$root/exec" --pidfile "$root/docker.pid" \
  -H "unix://$root/docker.sock" --containerd "$root/containerd.sock" >"$root/dockerd.log" 2>&1 &
pids+=($!)
for _ in $(seq 300); do $D version >/dev/null 2>&1 && break; sleep 0.1; done
mkdir -p "$root/rootfs" && cp "$WHOAMI_BIN" "$root/rootfs/whoami"
tar -C "$root/rootfs" -cf "$root/image.tar" .
$D import --change 'ENTRYPOINT ["/whoami"]' "$root/image.tar" portier-whoami:speed >/dev/null

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$PORTIER_BIN" --entryPoints.web.address=127.0.0.1:$port --workers=1 --log.level=warn \
  --providers.docker.endpoint="unix://$root/docker.sock" >"$root/portier.log" 2>&1 & pids+=($!)
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.05; done

samples=()
for i in $(seq "$RUNS"); do
  cport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  $D run -d --name "s$i" --network host -l "traefik.http.routers.s$i.rule=Host(\`s$i.localhost\`)" \
    -l "traefik.http.services.s$i.loadbalancer.server.port=$cport" portier-whoami:speed \
    --addr "127.0.0.1:$cport" >/dev/null
  t0=$(date +%s%N)
  ok=0
  for _ in $(seq 2000); do  # bounded: at most ~2000 polls (a few seconds)
    if [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Host: s$i.localhost" "http://127.0.0.1:$port/")" = 200 ]; then
      ok=1; break
    fi
  done
  t1=$(date +%s%N)
  [ $ok = 1 ] || { echo "docker_speed: s$i never became routable" >&2; exit 1; }
  samples+=($(( (t1 - t0) / 1000 )))
  $D rm -f "s$i" >/dev/null
done
printf '%s\n' "${samples[@]}" | sort -n | awk -v runs="$RUNS" '
  { v[NR] = $1 } END { printf "docker run -> first 200 through portier, %d runs: median %.1f ms, max %.1f ms\n", runs, v[int((NR+1)/2)] / 1000, v[NR] / 1000 }'
