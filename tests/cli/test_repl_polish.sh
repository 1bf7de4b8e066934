#!/bin/sh
# test_repl_polish.sh - the REPL items of issue 20 ("Caseworkers and
# supervisors", REPL): an unknown or disabled user is refused at start (77,
# one line, nothing run); whoami() shows the role; a Lua error is one line
# "error: MESSAGE" without the chunk name, 65; list{} is in help().  (The
# interactive form, "error: boom" and the prompt again: tests/test_repl_pty.c.)
. "$(dirname "$0")/lib.sh"

init_db
add_users
run --as admin user add bo --role caseworker --supervisor sara; expect_rc 0 "add bo"
run --as admin user disable bo; expect_rc 0 "disable bo"

# 1. An unknown or a disabled user: refused at start, before any statement.
printf 'print("started")\nwhoami()\n' > in.lua
for who in nobody bo; do
    BEFORE=$(fingerprint)
    "$HAVEN" --as "$who" repl < in.lua > "$WORK/out" 2> "$WORK/err"; RC=$?
    OUT="$WORK/out"; ERR="$WORK/err"
    expect_rc 77 "repl as $who"
    expect_err "^haven: $who: no such active user here" "repl as $who: one line"
    no_text started "$OUT" "repl as $who ran a statement"
    [ "$(fingerprint)" = "$BEFORE" ] && pass || failt "repl as $who changed the database"
done
run --as nobody repl -e 'print("started")'
expect_rc 77 "repl -e as an unknown user"; expect_err 'no such active user' "repl -e as nobody"
no_text started "$OUT" "repl -e as nobody ran the chunk"

# 2. whoami() names the acting user and their role.
run --as amal repl -e 'whoami()'
expect_rc 0 "whoami"; expect_out '^amal \(caseworker\)$' "whoami shows the caseworker's role"
run --as sara repl -e 'whoami()'
expect_out '^sara \(supervisor\)$' "whoami shows the supervisor's role"

# 3. A Lua error: one line "error: MESSAGE", 65, no traceback, no "stdin:1:".
run --as amal repl -e 'error("boom")'
expect_rc 65 "error() is bad input, not an internal error"
expect_err '^haven: repl: error: boom$' "error() is one line"
no_text 'stdin:' "$ERR" "no chunk name in the error"
no_text traceback "$ERR" "no traceback"
run --as amal repl -e 'local t = nil; return t.x'
expect_rc 65 "a runtime error"; expect_err '^haven: repl: error: attempt to index' "a runtime error"
run --as amal repl -e 'x = = 1'
expect_rc 65 "a syntax error"; expect_err "^haven: repl: syntax error: unexpected symbol near '='$" "a syntax error"
printf 'n = 0\nfor i = 1, 2 do\n  n = n + nil\nend\nprint("not reached")\n' > in.lua
"$HAVEN" --as amal repl < in.lua > "$WORK/out" 2> "$WORK/err"; RC=$?
OUT="$WORK/out"; ERR="$WORK/err"
expect_rc 65 "an error on line 2 of a statement"
expect_err '^haven: repl: error: line 2: attempt to perform arithmetic' "the line within the statement"
no_text "not reached" "$OUT" "a script stops at the error"

# 4. help() lists list{}, and help "list" says what it takes.
run --as amal repl -e 'help()'
expect_rc 0 "help()"; expect_out '^Commands:.* list\{\.\.\.\}' "help() lists list{}"
run --as amal repl -e 'help "list"'
expect_rc 0 'help "list"'; expect_out '^list\{ stage = .*concern = one of .*neglect' 'help "list" with the codes'

run --as admin audit verify; expect_rc 0 "audit verify"
finish
