# ppml — convenience wrapper around CMake. `make demo` and `make check` install missing
# Debian packages first (scripts/deps.sh).
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BUILD ?= build
ASAN_BUILD ?= build-asan

.PHONY: all deps build demo check check-fast check-asan bench fuzz clean

all: build

deps:
	@bash scripts/deps.sh build

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	./$(BUILD)/ppml demo

# Unit tests, fuzz-corpus replays and CLI tests: once in the release build, then again
# with AddressSanitizer + UndefinedBehaviorSanitizer.
check: check-fast check-asan

check-fast: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

check-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPPML_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 PPML_SANITIZED=1 ctest --output-on-failure -j $(JOBS)

bench: build
	@bash scripts/deps.sh bench
	./$(BUILD)/ppml bench all --json

# libFuzzer builds of every loader (clang): build-fuzz/fuzz_<name> CORPUS_DIR
fuzz:
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPPML_SANITIZE=ON -DPPML_LIBFUZZER=ON >/dev/null
	cmake --build build-fuzz -j $(JOBS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
