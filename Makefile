# krach — top-level build and test entry points.
#   make          build the engine (release)
#   make test     install what tests need, build the sanitizer engine, run every test
#   make asan     build the engine with AddressSanitizer + UBSan
#   make clean    remove build trees
#   make bench    build and run the DSP benchmarks (bench/run.sh; needs faust, valgrind)
.PHONY: all engine asan test test-c test-py deps clean bench

PY      := /usr/bin/python3
JOBS    := $(shell nproc 2>/dev/null || echo 2)
RELEASE := build/release
ASAN    := build/asan

all: engine

engine:
	@cmake -S . -B $(RELEASE) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(RELEASE) -j $(JOBS)

asan:
	@cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DKRACH_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN) -j $(JOBS)

deps:
	@scripts/deps.sh test

test: deps engine asan
	@$(MAKE) --no-print-directory test-c test-py

test-c:
	cd $(ASAN) && ctest --output-on-failure

test-py:
	KRACH_ENGINE=$(CURDIR)/$(ASAN)/krach-engine \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/scripts/lsan.supp:print_suppressions=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	PYTHONPATH=$(CURDIR)/python $(PY) -m pytest -q python/tests

clean:
	rm -rf build

bench:
	@bench/run.sh --faust-fast-math --callgrind
