#!/bin/sh
# test_harden_repl.sh - REPL failures are one line with the documented exit
# code (red-team review after issue 15, point 3): the clock of a live
# database (advance, engine:set_now) is refused `haven: clock: ...` with 64,
# an error in the Lua that was typed is `haven: repl: error: ...` with
# 65, a syntax error too; never a stack traceback or 70.  haven.open{now=}
# on a live database fails softly: nil, message, 64.  (The interactive
# `! ...` lines: tests/test_repl_pty.c.)
. "$(dirname "$0")/lib.sh"

run --as admin init --agency CP --workflow "$SRC/workflows/iasc.yaml" --rules "$SRC/rules/default"
expect_rc 0 "init a live database"
add_users

# one_line CODE PATTERN WHAT: exit CODE, stderr one line "haven: ..." with
# PATTERN, no traceback.
one_line() {
    expect_rc "$1" "$3"
    expect_err "$2" "$3"
    no_text traceback "$ERR" "$3: a traceback"
}
run repl -e 'advance("1d")'
one_line 64 '^haven: clock: this database is live' "advance on a live database"
run repl -e 'engine:set_now("2027-01-01")'
one_line 64 '^haven: clock: this database is live' "engine:set_now on a live database"
run repl -e 'engine:advance("1w")'
one_line 64 '^haven: clock: this database is live' "engine:advance on a live database"
run repl -e 'error("boom")'
one_line 65 '^haven: repl: error: boom$' "error() in user code"
run repl -e 'local t = nil; return t.x'
one_line 65 '^haven: repl: error: attempt to index' "a Lua error in user code"
run repl -e 'x = = 1'
one_line 65 "^haven: repl: syntax error: unexpected symbol near '='$" "a syntax error"
printf 'x = 1\nadvance("2d")\nprint("not reached")\n' > in.lua
"$HAVEN" repl < in.lua > "$WORK/out" 2> "$WORK/err"; RC=$?
one_line 64 '^haven: clock: this database is live' "advance from stdin"
no_text "not reached" "$OUT" "stdin stops at the first error"
printf 'error("boom")\n' > in.lua
"$HAVEN" repl < in.lua > "$WORK/out" 2> "$WORK/err"; RC=$?
one_line 65 '^haven: repl: error: boom$' "error() from stdin"
printf 'x = {\n' > in.lua
"$HAVEN" repl < in.lua > "$WORK/out" 2> "$WORK/err"; RC=$?
one_line 65 '^haven: repl: stdin: the input ended inside a statement$' "stdin ends inside a statement"

# The module: haven.open{now=} on a live database is an expected failure.
cat > script.lua <<'LUA'
local haven = require "haven"
local e, msg, code, status = haven.open{ db = os.getenv("HAVEN_DB"), as = "amal", now = "2027-01-01T00:00:00Z" }
print("open", e, code, status, msg)
local e2 <close> = assert(haven.open{ db = os.getenv("HAVEN_DB"), as = "amal" })
local ok, err = pcall(e2.set_now, e2, "2027-01-01")
print("set_now", ok, err)
LUA
if command -v lua5.4 >/dev/null; then
    LUA_CPATH="$HAVEN_LUA_DIR/?.so;;" LD_PRELOAD="${HAVEN_PRELOAD:-}" ASAN_OPTIONS=detect_leaks=0 \
        lua5.4 script.lua > "$WORK/out" 2> "$WORK/err"; RC=$?
    expect_rc 0 "the script runs"
    expect_out '^open	nil	64	USAGE	clock: this database is live' "haven.open{now=} returns nil, message, 64"
    expect_out '^set_now	false	clock: this database is live' "set_now raises the engine's message"
else
    failt "lua5.4 is not installed"
fi
finish
