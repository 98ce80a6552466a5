#!/usr/bin/env bash
# Makes the base images the Dockerfile starts from, debian:12 and debian:12-slim, without a
# registry: debootstrap (minbase, Debian's own mirror) into a root filesystem, then
# `docker import`. For machines that reach a Debian mirror but no registry (the e2e test of the
# image, tests/e2e/image_test.cc, runs it). Needs root, debootstrap and a docker CLI.
#   tools/debian_base.sh CACHE_DIR [DOCKER_HOST]
# The two tarballs are kept in CACHE_DIR (debian12.tar, debian12-slim.tar) and reused: only the
# first run bootstraps (about 2 minutes). The mirror is $DEBIAN_MIRROR, default deb.debian.org.
set -euo pipefail
cache=${1:?usage: $0 CACHE_DIR [DOCKER_HOST]}
[ $# -ge 2 ] && export DOCKER_HOST=$2
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
mkdir -p "$cache"

if [ ! -s "$cache/debian12.tar" ] || [ ! -s "$cache/debian12-slim.tar" ]; then
  root=$(mktemp -d "$cache/rootfs.XXXXXX")
  # debootstrap mounts /proc and /sys in the target while it works; a failed run may leave them.
  cleanup() {
    awk -v r="$root/" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r | xargs -r umount -l
    rm -rf --one-file-system "$root"
  }
  trap cleanup EXIT
  debootstrap --variant=minbase bookworm "$root" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
    { tail -20 "$cache/debootstrap.log" >&2; exit 1; }
  # The official image's sources: the release, its updates and security.
  rm -f "$root/etc/apt/sources.list"
  cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  # The official image's apt settings: downloaded packages are deleted after installing, no
  # translations.
  cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
  tar -C "$root" --numeric-owner -cf "$cache/debian12.tar.tmp" .
  mv "$cache/debian12.tar.tmp" "$cache/debian12.tar"
  # slim, as the official debian:12-slim: no documentation, manual pages or translations, and
  # dpkg told to leave them out of every package installed later.
  rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
    "$root"/usr/share/locale/* "$root"/usr/share/groff/* "$root"/usr/share/lintian/*
  cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
EOF
  tar -C "$root" --numeric-owner -cf "$cache/debian12-slim.tar.tmp" .
  mv "$cache/debian12-slim.tar.tmp" "$cache/debian12-slim.tar"
fi

docker import --change 'CMD ["bash"]' "$cache/debian12.tar" debian:12 >/dev/null
docker import --change 'CMD ["bash"]' "$cache/debian12-slim.tar" debian:12-slim >/dev/null
echo "debian:12 and debian:12-slim imported from $cache"
