# pushback - the two commands: `make run` and `make test`.
# Everything else is a step of theirs you may call alone.

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all build deps run test test-fast test-asan fuzz fuzz-build bench format clean install

all: build

deps:
	@scripts/install-deps

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

run: deps build
	@scripts/run-demo $(BUILD)

# Every test: the normal build, the same suite under ASan+UBSan, and each
# fuzzer briefly.
test: deps build
	@scripts/test-all $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)

# Only the normal build's suite.
test-fast: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-asan:
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DPB_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@cd $(ASAN_BUILD) && ctest --output-on-failure

fuzz-build:
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DPB_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)

fuzz: deps fuzz-build
	@scripts/run-fuzzers $(FUZZ_BUILD) $(FUZZ_SECONDS)

bench: deps build
	@bench/run $(BUILD)
	@bench/srs $(BUILD)

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)

# Binaries to PREFIX/sbin and PREFIX/bin, man pages to PREFIX/share/man.
PREFIX ?= /usr
install: build
	@cmake --install $(BUILD) --prefix $(PREFIX)
