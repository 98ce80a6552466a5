# portier's image, built from Debian 12 packages only.
#   docker build -t portier .
#   docker run -d -p 80:80 -p 443:443 -v /var/run/docker.sock:/var/run/docker.sock:ro \
#     --group-add "$(getent group docker | cut -d: -f3)" -v portier-acme:/var/lib/portier \
#     --cap-drop ALL --cap-add NET_BIND_SERVICE portier --providers.docker
# (README.md, "Run it in front of your containers", and docs/docker.md say more.)
#
# Three stages: `build` compiles portier and whoami on debian:12; `runtime` installs the
# Debian packages of the shared libraries on debian:12-slim and collects the binary, exactly
# the libraries it links (ldd), CA certificates and the OWASP Core Rule Set; the image is that
# collection on an empty base (distroless-style: no shell, no package manager), run as uid
# 65532 with the file capability cap_net_bind_service on portier. The base images are build arguments so that a machine without a registry can pass
# its own (the e2e test makes them with debootstrap; tests/e2e/image_test.cc).
ARG BUILD_BASE=debian:12
ARG RUNTIME_BASE=debian:12-slim

FROM ${BUILD_BASE} AS build
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config ccache lld libboost1.81-dev libssl-dev nlohmann-json3-dev \
      libcli11-dev libyaml-cpp-dev libre2-dev libtomlplusplus-dev \
      libcurl4-openssl-dev libmodsecurity-dev libcrypt-dev zlib1g-dev libbrotli-dev libzstd-dev \
      libnghttp2-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Only what the compile reads, each in its own layer: a change to docs/, examples/, tests/ or
# this file's later stages reuses the compiled layer below.
COPY CMakeLists.txt ./
COPY tools/whoami/ tools/whoami/
COPY src/ src/
# JOBS: parallel compile jobs (default: every core). CCACHE_REMOTE: a ccache HTTP storage
# (http://host:port, reached with --network host) that keeps objects between builds, as the
# image test's tools/ccache_http.py does; empty (the default): no ccache.
ARG JOBS=
ARG CCACHE_REMOTE=
# The compile runs in /src/build with paths relative to /src: the same keys as a host build in
# <checkout>/build (CMakeLists.txt, PORTIER_CCACHE), whose objects the image test serves here.
RUN launcher=; if [ -n "$CCACHE_REMOTE" ]; then \
      export CCACHE_REMOTE_STORAGE="$CCACHE_REMOTE" CCACHE_REMOTE_ONLY=true CCACHE_DIR=/tmp/ccache \
        CCACHE_BASEDIR=/src CCACHE_NOHASHDIR=true LANG=C.UTF-8; \
      launcher=-DCMAKE_CXX_COMPILER_LAUNCHER=ccache; \
    fi \
    && cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DPORTIER_BUILD_TESTS=OFF \
      -DPORTIER_BUILD_BENCH=OFF -DPORTIER_CCACHE=OFF $launcher \
    && cmake --build build -j"${JOBS:-$(nproc)}" --target portier portier_modsecurity whoami \
    && mkdir -p /out/lib && strip -o /out/portier build/src/app/portier \
    && strip -o /out/lib/portier-modsecurity.so build/lib/portier/portier-modsecurity.so \
    && strip -o /out/whoami build/tools/whoami/whoami

FROM ${RUNTIME_BASE} AS runtime
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libyaml-cpp0.7 libre2-9 libtomlplusplus3 libcurl4 libssl3 \
      ca-certificates libmodsecurity3 modsecurity-crs libbrotli1 libzstd1 zlib1g libnghttp2-14 \
      libcap2-bin \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/ /out/
# The image's root: the dynamic loader and every library portier links (resolved by ldd,
# symlinks followed) or loads when a feature needs it (libcurl; libmodsecurity through
# portier's module in /usr/local/lib/portier), CA certificates (libcurl's and OpenSSL's
# default paths), the Core Rule Set the waf middleware loads, passwd/group with the user
# `portier` (65532, distroless's nonroot id) and directories it may write: /var/lib/portier
# (acme.json) and /tmp.
RUN set -eu; r=/rootfs; \
    mkdir -p $r/usr/local/bin $r/usr/local/lib/portier $r/etc/ssl/certs $r/usr/share $r/etc/portier \
      $r/var/lib/portier $r/tmp; \
    cp -a /out/portier /out/whoami $r/usr/local/bin/; \
    cp -a /out/lib/portier-modsecurity.so $r/usr/local/lib/portier/; \
    cp /usr/sbin/setcap $r/usr/local/bin/; \
    curl=$(ldconfig -p | awk '$1 == "libcurl.so.4" {print $NF; exit}'); test -n "$curl"; \
    for f in $( { ldd /out/portier /out/lib/portier-modsecurity.so "$curl" /usr/sbin/setcap \
        | awk '$2 == "=>" {print $3} $1 ~ /^\// && $1 !~ /:$/ {print $1}'; echo "$curl"; } | sort -u); do \
      mkdir -p "$r$(dirname "$f")"; cp -L "$f" "$r$f"; \
    done; \
    cp -L /etc/ssl/certs/ca-certificates.crt $r/etc/ssl/certs/; \
    mkdir -p $r/usr/lib/ssl; ln -s /etc/ssl/certs/ca-certificates.crt $r/usr/lib/ssl/cert.pem; \
    cp -aL /usr/share/modsecurity-crs $r/usr/share/; \
    printf 'root:x:0:0:root:/root:/sbin/nologin\nportier:x:65532:65532:portier:/var/lib/portier:/sbin/nologin\n' > $r/etc/passwd; \
    printf 'root:x:0:\nportier:x:65532:\n' > $r/etc/group; \
    printf 'hosts: files dns\n' > $r/etc/nsswitch.conf; \
    chown 65532:65532 $r/var/lib/portier; chmod 1777 $r/tmp; \
    chroot $r /usr/local/bin/portier --version >/dev/null; \
    printf 'http:\n  middlewares:\n    w:\n      waf: {}\n' > $r/tmp/waf.yml; \
    chroot $r /usr/local/bin/portier check --providers.file.filename=/tmp/waf.yml; \
    rm $r/tmp/waf.yml

FROM scratch
COPY --from=runtime /rootfs/ /
# Ports below 1024 for uid 65532, also with --network host (in a network namespace of its own,
# Docker >= 20.10 lets any user bind them anyway): a file capability, set here because the
# classic builder (Debian 12's `docker build`) drops it from files that COPY --from copies.
# That stores the binary a second time (2.7 MB compressed). setcap stays: without
# CAP_SETFCAP, which the container does not have, it can do nothing.
RUN ["/usr/local/bin/setcap", "cap_net_bind_service=+ep", "/usr/local/bin/portier"]
# HEALTHCHECK runs `portier healthcheck`, which sees the environment but not the server's
# arguments: ping is enabled here, so both agree. It answers on the `traefik` entrypoint,
# 127.0.0.1:8080 by default (the container's own loopback). A file mounted at
# /etc/portier/portier.yml is read without a flag.
ENV PORTIER_PING=true \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532
EXPOSE 80 443
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
  CMD ["/usr/local/bin/portier", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/portier"]
# Replaced by whatever arguments `docker run portier ...` or compose's `command:` give.
CMD ["--entryPoints.web.address=:80", "--entryPoints.websecure.address=:443"]
