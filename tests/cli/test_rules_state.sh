#!/bin/sh
# Every rule call starts clean (issue 15, point 2): a chunk-level local of a
# hook file does not survive from one case to the next, so the third
# child's decision can never hold what the rule saw of the first two.
. "$(dirname "$0")/lib.sh"

rm -rf counting; cp -r "$SRC/rules/default" counting
# Its own registration.lua, so not the shipped pack's registration tests.
rm -f counting/tests/registration_test.lua
# Its reasons are codes pack.yaml declares (codes: is the file's last key).
for n in 1 2 3 4 5 6 7 8 9 10 11 12; do
    printf '  calls_seen_%s: "Calls seen: %s"\n' "$n" "$n" >> counting/pack.yaml
done
cat > counting/registration.lua <<'LUA'
local seen = {}          -- kept between calls only if the state is shared
return function(case, ctx)
  seen[#seen + 1] = case.source
  return { eligible = true, urgency = #seen > 1 and "immediate" or "normal",
           reasons = { "calls_seen_" .. #seen } }
end
LUA
run --as admin --now "$T0" init --simulated --agency CP --workflow "$SRC/workflows/iasc.yaml" --rules counting
expect_rc 0 "init with the counting pack"
run --as admin user add amal --role caseworker; expect_rc 0 "add a caseworker"
for i in 1 2 3; do
    run --as amal --now "$T0" register "child.name=Child $i" child.age=9 child.sex=female \
        source=school concerns=neglect consent.registration=caregiver "location=Block $i"
    expect_rc 0 "registration $i"
done
[ "$(sql "SELECT group_concat(urgency, ' ') FROM (SELECT urgency FROM cases ORDER BY id)")" = "normal normal normal" ] \
    && pass || failt "urgency decided with state from earlier cases: $(sql 'SELECT group_concat(urgency) FROM cases')"
[ "$(sql "SELECT count(*) FROM events WHERE kind = 'registered' AND decision LIKE '%calls_seen_1%'")" = 3 ] \
    && pass || failt "each call saw only its own case: $(sql "SELECT decision FROM events WHERE kind = 'registered'")"
[ "$(sql "SELECT count(*) FROM events WHERE decision LIKE '%calls_seen_2%'")" = 0 ] \
    && pass || failt "a second call saw the first case"
finish
