#!/bin/sh
# A rule error deep in a hook's body is reported at the line where it
# happened (issue 20: "A rule error at risk.lua:101 is reported at the
# `return function` line (56)"): a runtime error and a result that breaks
# the hook's contract, both at line 101 of risk.lua, in `rules check`
# and `rules test`.
. "$(dirname "$0")/lib.sh"

# deep PACK LUA: the default pack with LUA inserted as line 101 of risk.lua
# (inside the function that starts at `return function`, line 72).
deep() {
    rm -rf "$1"; cp -r "$SRC/rules/default" "$1"
    awk -v l="$2" 'NR == 101 { print l } { print }' "$SRC/rules/default/risk.lua" >"$1/risk.lua"
    [ "$(sed -n 101p "$1/risk.lua")" = "$2" ] && pass || failt "line 101 of $1/risk.lua"
    grep -n '^return function' "$1/risk.lua" | grep -q '^72:' && pass || failt "$1: return function at 72"
}

deep boom '  if case.child then error("boom") end'
run rules check boom; expect_rc 65 "a pack erring at line 101"
expect_out '^boom/risk\.lua:101: boom' "rules check: the error at line 101"
no_text 'risk.lua:72:' "$OUT" "rules check: not the return function line"
run rules test boom; expect_rc 65 "rules test on it"
expect_out '^FAIL risk_test\.lua: .*boom/risk\.lua:101: boom$' "rules test: the error at line 101"
no_text 'risk.lua:72:' "$OUT" "rules test: not the return function line"

# a bad result returned at line 101
deep shape '  if case.child then return { level = "severe", score = 1, factors = {} } end'
run rules check shape; expect_rc 65 "a pack returning a bad result at line 101"
expect_out "^shape/risk\\.lua:101: risk result: 'level' must be one of low, medium, high, critical" \
    "rules check: the bad result at the line of its return"
no_text 'risk.lua:72:' "$OUT" "rules check: not the return function line"
run rules test shape; expect_rc 65 "rules test on it"
expect_out "^FAIL risk_test\\.lua: .*shape/risk\\.lua:101: risk result: 'level'" "rules test: the line of the return"
no_text 'risk.lua:72:' "$OUT" "rules test: not the return function line"
# the normal return (line 126 now) is still fine: only cases with a child
# take the early return, and the error is one line
deep late '  if case.child and case.child.age == 99 then return { level = "severe", score = 1, factors = {} } end'
run rules check late; expect_rc 0 "the early return not taken: the pack is fine"

finish
