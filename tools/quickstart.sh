#!/usr/bin/env bash
# Starts portier on examples/quickstart with two whoami backends; Ctrl-C stops all three.
# Used by `make run`. Expects a build in ${BUILD:-build}.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
portier="$build/src/app/portier"
whoami="$build/tools/whoami/whoami"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 0' INT TERM

"$whoami" --addr 127.0.0.1:8081 --name whoami-1 >/dev/null & pids+=($!)
"$whoami" --addr 127.0.0.1:8082 --name whoami-2 >/dev/null & pids+=($!)
"$portier" --configFile=examples/quickstart/portier.yml & pids+=($!)

for _ in $(seq 50); do
  curl -s -o /dev/null http://127.0.0.1:8000/ && break
  sleep 0.1
done
cat <<MSG

portier is running on http://127.0.0.1:8000 (config: examples/quickstart/).
Try:
  curl -H 'Host: whoami.localhost' http://127.0.0.1:8000/        # spread over whoami-1 and whoami-2
  curl -H 'Host: whoami.localhost' http://127.0.0.1:8000/api/x   # always whoami-2
  curl http://127.0.0.1:8000/                                    # 404: no router matches
Press Ctrl-C to stop.

MSG
wait "${pids[2]}"
