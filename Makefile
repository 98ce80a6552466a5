# The two commands of the README. Each installs what is missing (Debian 12 packages, via
# tools/deps.sh), builds, and does its job.
#   make run    build and start portier on examples/quickstart with two whoami backends
#   make test   build and run every test (ctest)
#   make bench  run bench/run.sh (portier vs nginx vs HAProxy)
BUILD ?= build
JOBS ?= 2
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release

.PHONY: all build run test bench format clean

all: build

# Packages first: on a fresh machine even cmake is missing.
build:
	tools/deps.sh build
	@test -f $(BUILD)/CMakeCache.txt || cmake -S . -B $(BUILD) $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j$(JOBS)

run: build
	BUILD=$(BUILD) tools/quickstart.sh

test:
	tools/deps.sh test
	$(MAKE) build
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS)

bench:
	tools/deps.sh bench
	$(MAKE) build
	PORTIER_BIN=$(BUILD)/src/app/portier bench/run.sh

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD)
