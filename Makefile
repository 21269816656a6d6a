# krach — top-level build and test entry points.
#   make          build the engine (release)
#   make test     install what tests need, build the sanitizer engine, run every test
#   make asan     build the engine with AddressSanitizer + UBSan
#   make nofaust  build the engine without the FAUST backend (tests check its refusals)
#   make rtguard  build the real-time hygiene engine (aborts if the audio thread allocates, locks or blocks)
#   make clean    remove build trees
#   make bench    build and run the DSP benchmarks (bench/run.sh; needs faust, valgrind)
#   make fuzz     build the libFuzzer harnesses with clang and run each for 60 s (scripts/fuzz.sh)
#   make fuzz-long  every harness at once for FUZZ_HOURS (default 2) or FUZZ_SECONDS; prints
#                 executions and exec/s per harness
#   make soak     one hour of audio of an edited-every-cycle session under ASan (scripts/soak.py)
#   make soak-valgrind  the same, a few minutes, on the release engine under valgrind memcheck
.PHONY: all engine asan nofaust rtguard test test-c test-py deps clean bench soak soak-valgrind test-soak fuzz fuzz-long test-fuzz

PY      := /usr/bin/python3
JOBS    := $(shell nproc 2>/dev/null || echo 2)
RELEASE := build/release
ASAN    := build/asan
RTGUARD := build/rtguard
NOFAUST := build/nofaust

all: engine

engine:
	@cmake -S . -B $(RELEASE) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(RELEASE) -j $(JOBS)

asan:
	@cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DKRACH_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN) -j $(JOBS)

nofaust:
	@cmake -S . -B $(NOFAUST) -DCMAKE_BUILD_TYPE=Release -DKRACH_FAUST=OFF >/dev/null
	@cmake --build $(NOFAUST) -j $(JOBS) --target krach-engine

rtguard:
	@cmake -S . -B $(RTGUARD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKRACH_RT_GUARD=ON >/dev/null
	@cmake --build $(RTGUARD) -j $(JOBS)

deps:
	@scripts/deps.sh test

test: deps engine asan rtguard nofaust
	@$(MAKE) --no-print-directory test-c test-py test-soak test-fuzz

test-c:
	cd $(ASAN) && LSAN_OPTIONS=suppressions=$(CURDIR)/scripts/lsan.supp:print_suppressions=0 \
	    ctest --output-on-failure
	cd $(RTGUARD) && ctest --output-on-failure -R rtguard

test-py:
	KRACH_ENGINE=$(CURDIR)/$(ASAN)/krach-engine \
	KRACH_RTGUARD_ENGINE=$(CURDIR)/$(RTGUARD)/krach-engine \
	KRACH_NOFAUST_ENGINE=$(CURDIR)/$(NOFAUST)/krach-engine \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/scripts/lsan.supp:print_suppressions=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	PYTHONPATH=$(CURDIR)/python $(PY) -m pytest -q python/tests

# Soak (docs/reliability.md): SOAK_MINUTES of audio; CI runs a short one.
SOAK_ASAN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:quarantine_size_mb=16 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/scripts/lsan.supp:print_suppressions=0
soak: asan
	$(SOAK_ASAN_ENV) $(PY) scripts/soak.py --engine $(ASAN)/krach-engine --minutes $(or $(SOAK_MINUTES),60)

soak-valgrind: engine
	$(PY) scripts/soak.py --engine $(RELEASE)/krach-engine --minutes $(or $(SOAK_MINUTES),4) \
	  --wrap "valgrind --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --track-fds=no"

# Fuzzing (engine/fuzz): `make fuzz` runs each harness FUZZ_SECONDS (60);
# `make fuzz-long` runs all five at once for FUZZ_HOURS (2) or FUZZ_SECONDS
# (KRACH_FUZZ_WORK=DIR keeps the corpora); `make test` a short bounded pass
# (16 s each, five harnesses). Seeds and regressions are also replayed by
# ctest in build/asan (fuzz_<target>).
fuzz:
	scripts/fuzz.sh $(or $(FUZZ_SECONDS),60)

fuzz-long:
	scripts/fuzz.sh --parallel $(or $(FUZZ_SECONDS),$(shell echo $$(( $(or $(FUZZ_HOURS),2) * 3600 ))))

test-fuzz:
	scripts/fuzz.sh 16

test-soak:
	$(SOAK_ASAN_ENV) $(PY) scripts/soak.py --engine $(ASAN)/krach-engine --minutes 3 --quiet

clean:
	rm -rf build

bench:
	@bench/run.sh --faust-fast-math --callgrind
