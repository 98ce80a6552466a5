# The two commands of the README. Each installs what is missing (Debian 12 packages, via
# tools/deps.sh), builds, and does its job.
#   make run    build portier and whoami only, start portier on examples/quickstart with two
#               whoami backends
#   make test   build and run every test (ctest), the image's included
#   make test-image  only the image's: build the Docker image, run the compose example against it
#   make bench  run bench/run.sh (portier vs nginx vs HAProxy)
BUILD ?= build
JOBS ?= 2
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release

.PHONY: all build configure run test test-image bench image format clean

all: build

# Packages first: on a fresh machine even cmake is missing.
build: configure
	cmake --build $(BUILD) -j$(JOBS)

configure:
	tools/deps.sh build
	@test -f $(BUILD)/CMakeCache.txt || cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

# Only the two binaries the quickstart runs, not the test suite and the benchmark.
run: configure
	cmake --build $(BUILD) -j$(JOBS) --target portier whoami
	BUILD=$(BUILD) tools/quickstart.sh

# The Docker image (Dockerfile); IMAGE=name:tag to tag it otherwise.
IMAGE ?= portier
image:
	docker build -t $(IMAGE) .

# Every test. The image's compiles portier inside `docker build` from this build's ccache
# objects (CMakeLists.txt, PORTIER_CCACHE), so it costs minutes, not a second compile.
test:
	tools/deps.sh test
	$(MAKE) build
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS)

# tests/e2e/image_test.cc: build the image, run examples/compose-host (root; Debian's mirror).
test-image:
	tools/deps.sh test
	$(MAKE) build
	ctest --test-dir $(BUILD) --output-on-failure -L image

bench:
	tools/deps.sh bench
	$(MAKE) build
	PORTIER_BIN=$(BUILD)/src/app/portier bench/run.sh

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD)
