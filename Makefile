# Thin wrapper around CMake.  `make` builds into build/, `make check` runs
# every test twice (a normal build and an ASan+UBSan build), `make demo`
# shows a registered child's case file.
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= 2

.PHONY: all deps configure check check-normal check-asan demo install clean format fuzz bench

all: deps configure
	cmake --build $(BUILD) -j$(JOBS)

deps:
	@sh tools/install-deps.sh

configure:
	@cmake -S . -B $(BUILD) -DHAVEN_WERROR=ON >/dev/null

check: deps check-normal check-asan

check-normal:
	cmake -S . -B $(BUILD) -DHAVEN_WERROR=ON >/dev/null
	cmake --build $(BUILD) -j$(JOBS)
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS)

check-asan:
	cmake -S . -B $(ASAN_BUILD) -DHAVEN_WERROR=ON -DHAVEN_SANITIZE=ON \
	      -DCMAKE_BUILD_TYPE=Debug >/dev/null
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	ctest --test-dir $(ASAN_BUILD) --output-on-failure -j$(JOBS)

demo: all
	@sh tools/demo.sh $(BUILD)/haven

# Benchmarks against the raw SQLite/Lua limits (bench/bench.c): prints every
# figure and writes bench/RESULTS.md.  The generated caseloads are kept in
# $(BENCH_DATA) for the next run (delete it to make them again).  A release
# build, apart from the test builds.
BENCH_BUILD ?= build-bench
BENCH_DATA  ?= $(BENCH_BUILD)/data
BENCH_SIZES ?= 10000,100000,1000000
# havend under load (bench/load.c): LOAD_CLIENTS HTTPS clients for
# LOAD_SECONDS on the caseload of LOAD_SIZE (one of BENCH_SIZES).
LOAD_SIZE    ?= 100000
LOAD_CLIENTS ?= 200
LOAD_SECONDS ?= 60
# The SQLite file against the PostgreSQL store (bench/bench_pg.c): the
# figures on both stores on the caseload of BENCH_PG_SIZE cases, in a
# throwaway cluster haven-bench starts in BENCH_PG_DIR for them
# (tests/pg/cluster.sh start DIR durable: fsync and synchronous_commit on,
# a Unix socket), about 3 minutes.  Left out, and said so in RESULTS.md,
# with BENCH_PG=0 or without a PostgreSQL server.
BENCH_PG      ?= 1
BENCH_PG_DIR  ?= /tmp/haven-bench-pg
BENCH_PG_SIZE ?= 10000
# The profile (bench/profile.sh, callgrind) runs re-scoring on the caseload
# of BENCH_PROFILE_SIZE cases.
BENCH_PROFILE_SIZE ?= 10000
bench: deps
	@sh tools/install-deps.sh bench
	cmake -S . -B $(BENCH_BUILD) -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS=-g >/dev/null
	cmake --build $(BENCH_BUILD) -j$(JOBS)
	$(BENCH_BUILD)/haven-bench --haven $(BENCH_BUILD)/haven --source . \
	    --data $(BENCH_DATA) --sizes $(BENCH_SIZES) --out bench/RESULTS.md \
	    $(if $(filter 0,$(BENCH_PG)),--pg-skip "left out (BENCH_PG=0)",--pg $(BENCH_PG_DIR) --pg-size $(BENCH_PG_SIZE))
	$(BENCH_BUILD)/haven-load --haven $(BENCH_BUILD)/haven --havend $(BENCH_BUILD)/havend \
	    --db $(BENCH_DATA)/gen-$(LOAD_SIZE).db --clients $(LOAD_CLIENTS) \
	    --seconds $(LOAD_SECONDS) --users 40 --out bench/RESULTS.md
	sh bench/sync.sh $(BENCH_BUILD)/haven $(BENCH_BUILD)/havend $(BENCH_BUILD)/haven-xfer \
	    . bench/RESULTS.md
	sh bench/profile.sh $(BENCH_BUILD)/haven-bench $(BENCH_DATA) . \
	    $(BENCH_DATA)/gen-$(BENCH_PROFILE_SIZE).db bench/RESULTS.md

# Fuzzing with libFuzzer (clang): each harness runs FUZZ_SECONDS and adds
# what it finds to tests/fuzz/corpus/, which `make check` then replays.
FUZZ_SECONDS ?= 60
fuzz: deps
	sh tools/fuzz.sh $(FUZZ_SECONDS)

# `make install [PREFIX=/usr] [DESTDIR=/tmp/stage]`: the programs, libhaven
# with haven.h, haven.pc, the CMake package (find_package(Haven)), the
# manual pages, the bash and zsh completions and the shipped workflows,
# rules and scenarios (PREFIX defaults to the configured one, /usr/local).
PREFIX ?=
install: all
	DESTDIR="$(DESTDIR)" cmake --install $(BUILD) $(if $(PREFIX),--prefix "$(PREFIX)")

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
