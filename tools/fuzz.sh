#!/bin/sh
# make fuzz: builds each harness with clang's libFuzzer (+ASan/UBSan) and
# runs it for a bounded time on its corpus; new inputs land in the corpus.
set -eu
SECONDS_EACH=${1:-60}
command -v clang >/dev/null || { echo "fuzz: clang is needed (apt-get install clang)" >&2; exit 1; }
OUT=build-fuzz
mkdir -p "$OUT"
FLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -std=c11"
INC="-Iengine/include -Iengine -Ibindings/cli $(pkg-config --cflags lua5.4 sqlite3 yaml-0.1 jansson libsodium)"
LIBS="$(pkg-config --libs lua5.4 sqlite3 yaml-0.1 jansson libsodium) -lm"
SRC="engine/*.c"
for h in workflow kv rules; do
    extra="" seeds=""
    [ "$h" = kv ] && extra="bindings/cli/kv.c"
    # the project's own files seed the search (read, never written)
    [ "$h" = workflow ] && seeds="workflows tests/fixtures/workflows"
    [ "$h" = rules ] && seeds="rules"
    # shellcheck disable=SC2086
    clang $FLAGS -DHV_BUILDING_LIBRARY $INC $SRC $extra tests/fuzz/fuzz_$h.c $LIBS -o "$OUT/fuzz_$h"
    echo "== fuzz_$h for ${SECONDS_EACH}s"
    "$OUT/fuzz_$h" -max_total_time="$SECONDS_EACH" -max_len=65536 -timeout=10 \
        -rss_limit_mb=2048 "tests/fuzz/corpus/$h" $seeds
done
