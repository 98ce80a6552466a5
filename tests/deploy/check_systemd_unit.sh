#!/usr/bin/env bash
# examples/systemd/portier.service passes `systemd-analyze verify` without a word (it exits 0
# on unknown keys, so its output is what counts), with the built binary in ExecStart, and keeps
# the settings docs/deployment.md promises.
#   check_systemd_unit.sh UNIT PORTIER_BIN
set -euo pipefail
unit=$1 bin=$2
command -v systemd-analyze >/dev/null || { echo "systemd-analyze is missing (Debian's systemd)"; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed "s#/usr/local/bin/portier#$bin#g" "$unit" >"$dir/portier.service"
out=$(systemd-analyze verify "$dir/portier.service" 2>&1) || { echo "$out"; exit 1; }
[ -z "$out" ] || { echo "systemd-analyze verify: $out"; exit 1; }
for want in '^LimitNOFILE=1048576$' '^AmbientCapabilities=CAP_NET_BIND_SERVICE$' \
  '^CapabilityBoundingSet=CAP_NET_BIND_SERVICE$' '^User=portier$' '^StateDirectory=portier$'; do
  grep -q "$want" "$unit" || { echo "missing: $want"; exit 1; }
done
# The binary the unit starts accepts the unit's arguments (--configFile).
# (Read whole before grep: with pipefail, `grep -q` quitting early would fail the pipe on SIGPIPE.)
help=$("$bin" --help)
grep -q -- --configFile <<<"$help" || { echo "portier --help does not list --configFile"; exit 1; }
echo "ok: $unit"
