# Sourced by tools/hot_functions.sh and bench/instructions.sh, which run portier under callgrind
# in front of whoami: checks what they need, and gives them a scratch directory removed at exit
# (with the processes they list in `pids`), free loopback ports and a test certificate.
#
#   name=<script name for messages>; bin=<portier binary>; . tools/lib/callgrind_env.sh
# Sets: whoami, dir, pids. Defines: free_port, make_cert (writes $dir/key.pem, $dir/cert.pem),
# start_under_callgrind.
# Run from the repository's top directory.

whoami=$(realpath build/tools/whoami/whoami)
for f in "$bin" "$whoami"; do
  [ -x "$f" ] || { echo "$name: $f is not built (make build)" >&2; exit 1; }
done
for tool in valgrind callgrind_control callgrind_annotate wrk h2load curl openssl; do
  command -v "$tool" >/dev/null || { echo "$name: needs $tool" >&2; exit 1; }
done

dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

# A port on 127.0.0.1 that nothing listens on now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# A self-signed ECDSA P-256 certificate for bench.local.
make_cert() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=bench.local -addext subjectAltName=DNS:bench.local \
    -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
}

# whoami on $backend, and portier (one worker, $dir/static.yml) under callgrind with the
# valgrind options given; sets vg to valgrind's pid. Dumps go to $dir/cg.out.N.
start_under_callgrind() {
  "$whoami" --addr "127.0.0.1:$backend" > "$dir/whoami.log" 2>&1 &
  pids+=($!)
  valgrind --tool=callgrind "$@" --callgrind-out-file="$dir/cg.out" \
    "$bin" --configFile="$dir/static.yml" --workers=1 --log.level=warn > "$dir/portier.log" 2>&1 &
  vg=$!
  pids+=($vg)
}
