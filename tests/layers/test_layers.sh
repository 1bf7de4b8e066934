#!/bin/sh
# test_layers.sh - tools/check-layers.sh finds each breach of the house
# rules in a small made-up tree (and only those), and passes the real tree.
#   sh test_layers.sh SOURCE_DIR GENERATED_DIR ENGINE_OBJECT...
set -u
SRC=$1
GEN=$2
shift 2
CC=${CC:-cc}
CHECK="$SRC/tools/check-layers.sh"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/haven-layers-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); }
failt() { FAILED=$((FAILED + 1)); echo "FAIL: $*" >&2; }

# expect_err PATTERN WHAT: the last run's stderr has a line matching PATTERN.
expect_err() {
    if grep -Eq -- "$1" "$WORK/err"; then pass; else
        failt "$2: no /$1/ in: $(head -c 600 "$WORK/err")"; fi
}
expect_no_err() {
    if grep -Eq -- "$1" "$WORK/err"; then
        failt "$2: /$1/ reported: $(grep -E -- "$1" "$WORK/err" | head -3)"; else pass; fi
}

# ---- the real tree is in order ------------------------------------------------
sh "$CHECK" "$SRC" "$GEN" "$@" >"$WORK/out" 2>"$WORK/err"
if [ $? -eq 0 ]; then pass; else failt "the real tree: $(head -c 2000 "$WORK/err")"; fi

# ---- a made-up tree with one breach of each kind ---------------------------------------
T="$WORK/tree"
mkdir -p "$T/engine/include" "$T/bindings/cli" "$T/tools" "$T/obj"
cat >"$T/tools/floors.txt" <<'EOF'
# floor file...
0 low.c low.h
2 mid.c mid.h ping.c ping.h pong.c pong.h big.c big.h
EOF
echo '/* public */' >"$T/engine/include/haven.h"
for h in low mid ping pong big; do
    echo "int hv__${h}(int x);" >"$T/engine/$h.h"
done
# low.c (floor 0) includes and calls mid (floor 2): an include and a call up.
cat >"$T/engine/low.c" <<'EOF'
#include "low.h"
#include "mid.h"
int hv__low(int x) { return x > 0 ? hv__mid(x - 1) : 0; }
EOF
cat >"$T/engine/mid.c" <<'EOF'
#include "mid.h"
int hv__mid(int x) { return x + 1; }
/* Defined here, declared in no header. */
int hv__mid_hidden(int x);
int hv__mid_hidden(int x) { return x; }
EOF
# ping and pong call each other through a third file's worth of distance
# (ping -> pong -> ping): a loop.
cat >"$T/engine/ping.c" <<'EOF'
#include "ping.h"
#include "pong.h"
int hv__ping(int x) { return x > 0 ? hv__pong(x - 1) : 0; }
EOF
cat >"$T/engine/pong.c" <<'EOF'
#include "pong.h"
#include "ping.h"
int hv__pong(int x) { return x > 0 ? hv__ping(x - 1) : 1; }
EOF
# big.c: over 900 lines, with one function of 160 lines.
{
    echo '#include "big.h"'
    echo 'int hv__big(int x)'
    echo '{'
    i=0
    while [ $i -lt 160 ]; do echo "    x += $i;"; i=$((i + 1)); done
    echo '    return x;'
    echo '}'
    i=0
    while [ $i -lt 800 ]; do echo "/* filler $i */"; i=$((i + 1)); done
} >"$T/engine/big.c"
# An engine file on no floor.
echo 'int hv__stray(void);' >"$T/engine/stray.h"
# A front end reaching into the engine.
cat >"$T/bindings/cli/main.c" <<'EOF'
#include <stdio.h>
#include "haven.h"
#include "mid.h"
#include <mid.h>
#include <../engine/low.h>
int main(void) { return 0; }
EOF
for f in low mid ping pong big; do
    "$CC" -c -I"$T/engine" "$T/engine/$f.c" -o "$T/obj/$f.c.o" || failt "cc $f.c"
done
sh "$CHECK" "$T" - "$T"/obj/*.o >"$WORK/out" 2>"$WORK/err"
rc=$?
if [ $rc -eq 1 ]; then pass; else failt "the made-up tree: exit $rc, want 1"; fi
expect_err '^bindings/cli/main.c:3: includes "mid.h"' "a front end including an engine header"
expect_no_err 'main.c:2:' "haven.h is allowed"
expect_err '^bindings/cli/main.c:4: includes <mid.h>' "an engine header reached with <...>"
expect_err '^bindings/cli/main.c:5: includes <../engine/low.h>' "a path up reached with <...>"
expect_err '^engine/low.c:2: includes mid.h \(floor 2\) from floor 0' "an include going up"
expect_err '^engine/low.c calls hv__mid in engine/mid.c: floor 0 calls up to floor 2' "a call going up"
expect_err '^engine/ping.c and engine/pong.c call each other in a loop' "a call loop"
expect_no_err 'engine/(low|mid).c and engine/(low|mid).c call each other' "no loop where there is none"
expect_err '^engine/big.c: 96[0-9] lines \(at most 900\)' "a file over 900 lines"
expect_err '^engine/big.c:2: hv__big is 16[0-9] lines \(at most 150\)' "a function over 150 lines"
expect_err '^engine/mid.c defines hv__mid_hidden, not declared in engine/mid.h' "an undeclared hv__ function"
expect_err '^engine/mid.c:4: a prototype typed into a .c file' "a prototype in a .c file"
expect_err '^engine/stray.h: not on a floor' "a file on no floor"
expect_err 'check-layers: 11 breaches' "the count: each breach once"

# nm failing must not pass for "no calls at all".
NM=false sh "$CHECK" "$T" - "$T"/obj/*.o >"$WORK/out" 2>"$WORK/err"
rc=$?
if [ $rc -eq 1 ]; then pass; else failt "a failing nm: exit $rc, want 1"; fi
expect_err 'false failed on the engine' "a failing nm is named"

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
