# portier image: built on Debian 12 from Debian packages only, in two stages.
#   docker build -t portier .
#   docker run --network host -v $PWD/examples/quickstart:/etc/portier portier
FROM debian:12 AS build
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config libboost1.81-dev libssl-dev nlohmann-json3-dev \
      libcli11-dev libcpp-httplib-dev libyaml-cpp-dev libre2-dev libtomlplusplus-dev \
      libcurl4-openssl-dev libmodsecurity-dev libcrypt-dev zlib1g-dev libbrotli-dev libzstd-dev libnghttp2-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DPORTIER_BUILD_TESTS=OFF \
      -DPORTIER_BUILD_BENCH=OFF \
    && cmake --build /build -j"$(nproc)" --target portier whoami

FROM debian:12-slim
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libyaml-cpp0.7 libre2-9 libtomlplusplus3 libcpp-httplib0.11 libcurl4 libssl3 \
      ca-certificates libmodsecurity3 modsecurity-crs libbrotli1 libzstd1 zlib1g libnghttp2-14 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /build/src/app/portier /usr/local/bin/portier
COPY --from=build /build/tools/whoami/whoami /usr/local/bin/whoami
EXPOSE 80 443
ENTRYPOINT ["/usr/local/bin/portier"]
CMD ["--configFile=/etc/portier/portier.yml"]
