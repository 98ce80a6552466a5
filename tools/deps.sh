#!/usr/bin/env bash
# Installs the Debian 12 packages portier needs, only the ones missing.
#   tools/deps.sh build   - compilers and libraries to build portier and whoami
#   tools/deps.sh test    - build + what the test suite uses
#   tools/deps.sh bench   - build + nginx, haproxy, wrk for bench/run.sh
# Runs apt-get as root, or through sudo when not root. Prints nothing when all is there.
set -euo pipefail

build_pkgs=(
  build-essential cmake pkg-config
  lld                       # LLVM's linker: places serving's functions together (--symbol-ordering-file)
  ccache                    # compiles through it (CMakeLists.txt); the image test reuses its objects
  libboost1.81-dev          # Asio (C++20 coroutines), boost::system::result, Boost.URL
  libssl-dev                # OpenSSL 3 (libssl.a and libcrypto.a are linked into portier)
  libcrypt-dev              # libxcrypt: crypt_rn for basicAuth's bcrypt/SHA-crypt hashes
  nlohmann-json3-dev libcli11-dev libcpp-httplib-dev libyaml-cpp-dev
  libtomlplusplus-dev       # TOML files (static and dynamic), as Traefik accepts
  libcurl4-openssl-dev      # the Docker Engine API client (and ACME later)
  libre2-dev                # RE2: the rule language's regexes (Go syntax, linear time)
  zlib1g-dev                # gzip: rotated log files (log.compress), the compress middleware
  libbrotli-dev libzstd-dev # br and zstd for the compress middleware
  libnghttp2-dev            # HTTP/2 framing and HPACK (the h2 codec; the parser of requests stays ours)
  libmodsecurity-dev        # ModSecurity v3 for the waf middleware (pulls libmodsecurity3)
  modsecurity-crs           # the OWASP Core Rule Set the waf middleware loads by default (crs: true)
  libgtest-dev libgmock-dev libbenchmark-dev
)
# docker.io: the e2e tests start their own dockerd; busybox-static: healthchecks in the test image;
# clang: the fuzz_30s test (libFuzzer, ASan, UBSan; tools/fuzz.sh)
# prometheus: scrapes portier in the metrics tests
# chromium, chromium-driver, python3-selenium: the dashboard's browser test (tests/browser)
# nghttp2-client: nghttp (an HTTP/2 client for the h2 tests) and h2load (bench)
# bind9, bind9-dnsutils: named and dig, for the DNS-through-a-UDP-router test; named, nsupdate and
#   dig for the ACME DNS-01 tests (tests/support/named.*)
# python3-grpcio: a real gRPC server and client for the gRPC tests (tests/support/grpc_echo.py)
# redis-server: shared ACME storage across portier instances (tests start their own on loopback;
#   portier speaks RESP itself: Debian 12's libhiredis 0.14 has no TLS, which Redis users need)
# debootstrap, docker-compose: the image test (base images without a registry; the compose
#   example); systemd: systemd-analyze verify for the example unit
test_pkgs=(curl python3 docker.io busybox-static openssl pebble clang prometheus
  chromium chromium-driver python3-selenium nghttp2-client bind9 bind9-dnsutils python3-grpcio
  debootstrap docker-compose systemd redis-server)
# libnginx-mod-http-modsecurity: nginx with ModSecurity, for the WAF comparison (NGINX_CONF=proxy-waf.nginx.conf)
bench_pkgs=(nginx-light haproxy wrk util-linux libnginx-mod-http-modsecurity)

want=("${build_pkgs[@]}")
case "${1:-build}" in
  build) ;;
  test) want+=("${test_pkgs[@]}") ;;
  bench) want+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  *) echo "usage: $0 build|test|bench" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
# The headers the compile reads are kept at Debian 12's current versions, as the image's build
# gets them: the build packages and the C library's and kernel's headers, when the package lists
# know a newer one. Then ccache keys match and the image test's compile inside `docker build`
# reuses this machine's objects (CMakeLists.txt, PORTIER_CCACHE).
headers=("${build_pkgs[@]}" linux-libc-dev libc6-dev libstdc++-12-dev)
outdated() {
  apt list --upgradable 2>/dev/null | cut -d/ -f1 | grep -Fx -f <(printf '%s\n' "${headers[@]}") || true
}
mapfile -t old < <(outdated)
[ ${#missing[@]} -eq 0 ] && [ ${#old[@]} -eq 0 ] && exit 0

[ ${#missing[@]} -gt 0 ] && echo "deps: installing ${missing[*]}" >&2
[ ${#old[@]} -gt 0 ] && echo "deps: upgrading ${old[*]} (Debian 12's current headers, as the image gets them)" >&2
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps: need root or sudo to install: ${missing[*]} ${old[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has no package lists; an old list may lack 1.81. Update once per run.
"${sudo[@]}" apt-get update -qq
# nginx-light's postinst tries to start nginx on :80; policy-rc.d keeps services from starting.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee /usr/sbin/policy-rc.d >/dev/null
  "${sudo[@]}" chmod +x /usr/sbin/policy-rc.d
  trap '"${sudo[@]}" rm -f /usr/sbin/policy-rc.d' EXIT
fi
mapfile -t old < <(outdated)  # the fresh lists may know more
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" "${old[@]}" >&2
