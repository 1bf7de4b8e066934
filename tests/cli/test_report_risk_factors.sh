#!/bin/sh
# The report's risk factors (issue 21) are counted from the factors of each
# case's current risk decision kept per case (case_risk_factors, schema
# 15), kept by a trigger on the events in the same transaction as every
# write that appends a risk.lua decision.  After a mixed history
# (registrations, assessments that change the risk, rules apply of a pack
# that words the factors differently, a closure, a transfer, a reopening,
# an import) the report's risk factors, for the agency, a team and one
# caseworker, equal a recount by plain SQL from the events (the latest
# risk.lua decision of each open case), and `audit verify --deep` fails
# (65) on a summary changed outside haven.
. "$(dirname "$0")/lib.sh"
init_db

# recount DB [SCOPE]: "code cases" lines, most cases first, from the events
# of the open cases (SCOPE: an SQL condition on c), by plain SQL.
recount() {
    sqlite3 "$1" "SELECT fa.value || ' ' || count(DISTINCT c.id) FROM cases c
        JOIN events ev ON ev.seq = (SELECT max(x.seq) FROM events x, json_each(x.decision) y
            WHERE x.case_id = c.id AND json_extract(y.value, '$.hook') = 'risk.lua')
        JOIN json_each(ev.decision) d JOIN json_each(d.value, '$.result.factors') fa
        WHERE c.status = 'open' AND ${2:-1} AND json_extract(d.value, '$.hook') = 'risk.lua'
          AND fa.type = 'text'
        GROUP BY fa.value ORDER BY count(DISTINCT c.id) DESC, fa.value"
}
# figures FILE: the report's risk factors as "code cases" lines.
figures() {
    command sqlite3 :memory: "SELECT json_extract(value, '$.code') || ' ' ||
        json_extract(value, '$.open_cases') FROM json_each(readfile('$1'), '$.risk_factors')"
}
# check DB TIME WHAT: the reports of mona (agency), sara (team) and amal
# (own) at TIME equal the recounts.
check() {
    for who in "mona 1" "sara c.assignee_id IN (SELECT id FROM users WHERE login IN
               ('sara', 'amal', 'bilal'))" "amal c.assignee_id = (SELECT id FROM users
               WHERE login = 'amal')"; do
        as=${who%% *}; scope=${who#* }
        run --db "$1" --as "$as" --now "$2" --json report
        [ "$RC" -eq 0 ] || { failt "$3: report as $as: $(cat "$ERR")"; continue; }
        cp "$OUT" "$WORK/r.json"
        got=$(figures "$WORK/r.json"); want=$(recount "$1" "$scope")
        [ "$got" = "$want" ] && pass ||
            failt "$3: $as's risk factors [$got], recount [$want]"
    done
    [ "${4:-}" = none ] || [ -n "$(recount "$1")" ] && pass || failt "$3: no open case has a factor"
}

reg() { # reg WHO TIME NAME AGE CONCERNS: registers a child, sets REF
    run --as "$1" --now "$2" register child.name="$3" child.age="$4" child.sex=female \
        location=Riverside source=school concerns="$5" consent.registration=caregiver
    expect_rc 0 "register $3"; REF=$(head -1 "$OUT" | cut -d' ' -f1)
}
reg amal 2026-11-28T09:00:00Z Noor 3 neglect; A=$REF
reg amal 2026-11-28T15:00:00Z Lina 9 child_labour; B=$REF
reg bilal 2026-11-29T10:00:00Z Sami 10 emotional_distress; C=$REF
reg bilal 2026-11-30T08:00:00Z Huda 9 child_labour,school_decline; D=$REF
# (a registration scores no risk: none yet)
check "$HAVEN_DB" 2026-11-30T09:00:00Z "after registrations" none

# assessments that change the risk (a concern, an urgent safety)
before=$(recount "$HAVEN_DB")
run --as amal --now 2026-12-01T10:00:00Z assess "$A" kind=initial safety=concern; expect_rc 0 "assess A"
run --as amal --now 2026-12-01T11:00:00Z assess "$B" kind=initial safety=urgent; expect_rc 0 "assess B"
run --as bilal --now 2026-12-02T10:00:00Z assess "$C" kind=initial safety=ok; expect_rc 0 "assess C"
[ "$(recount "$HAVEN_DB")" != "$before" ] && pass || failt "the assessments changed no factor"
check "$HAVEN_DB" 2026-12-03T09:00:00Z "after assessments"

# rules apply of a pack that calls a child of 5 to 11 child_under_5 (a
# code the pack declares) and weighs it 2: the open cases' current
# decisions change
PACK="$WORK/pack"
cp -r "$SRC/rules/default" "$PACK"
sed -i 's/add(1, "child_under_12")/add(2, "child_under_5")/' "$PACK/risk.lua"
sed -i 's/^version: "[^"]*"/version: "9.9.0"/' "$PACK/pack.yaml"
before=$(recount "$HAVEN_DB")
run --as admin --now 2026-12-04T09:00:00Z rules apply "$PACK"; expect_rc 0 "rules apply"
after=$(recount "$HAVEN_DB")
[ "$after" != "$before" ] && pass || failt "rules apply changed no factor"
# (C, 10, scored again: child_under_5 now; B, at critical's floor, keeps
# its decision and its child_under_12)
[ "$(echo "$after" | grep '^child_under_5 ')" != "$(echo "$before" | grep '^child_under_5 ')" ] &&
    pass || failt "no case holds child_under_5 after apply: [$after]"
check "$HAVEN_DB" 2026-12-04T10:00:00Z "after rules apply"

# a closure (death, from any stage), approved: A's factors no longer count
run --as amal --now 2026-12-06T10:00:00Z close "$A" reason=death; expect_rc 0 "close A"
run --as sara --now 2026-12-06T11:00:00Z approve "$A"; expect_rc 0 "approve A's closure"
check "$HAVEN_DB" 2026-12-07T09:00:00Z "after a closure"

# a transfer (a supervisor's override of the consent), approved
run --as sara --now 2026-12-08T10:00:00Z transfer "$C" agency="Hill unit" \
    override="ZZOVERRIDE the child is in danger here"; expect_rc 0 "transfer C"
run --as mona --now 2026-12-08T11:00:00Z approve "$C"; expect_rc 0 "approve C's transfer"
check "$HAVEN_DB" 2026-12-09T09:00:00Z "after a transfer"

# reopened: A counts again, with its current decision
run --as sara --now 2026-12-20T10:00:00Z reopen "$A" reason=back_in_area; expect_rc 0 "reopen A"
run --as amal --now 2026-12-21T10:00:00Z assess "$A" kind=initial safety=urgent; expect_rc 0 "assess A again"
check "$HAVEN_DB" 2026-12-21T11:00:00Z "after a reopening"

# the kept rows are right, and verify --deep agrees
run --as mona audit verify --deep; expect_rc 0 "verify --deep on a kept summary"

# an import: the imported cases' factors counted in the other database
run --as sara --now 2026-12-22T14:00:00Z export --format json --override court_order --out all.json
expect_rc 0 "export"
NEW="$WORK/new.db"
run --db "$NEW" --as admin --now "$T0" init --simulated --agency CP --workflow "$SRC/workflows/iasc.yaml" \
    --rules "$SRC/rules/default"; expect_rc 0 "init another"
add_users "$NEW"
run --db "$NEW" --as sara --now 2026-12-22T15:00:00Z import --format json all.json; expect_rc 0 "import"
check "$NEW" 2026-12-22T16:00:00Z "after an import"
run --db "$NEW" --as mona audit verify --deep; expect_rc 0 "verify --deep on the import"

# the summary changed outside haven: audit verify --deep says so (65)
row=$(sql "SELECT for_case || ',' || quote(factor) FROM case_risk_factors ORDER BY 1 LIMIT 1")
[ -n "$row" ] && pass || failt "the summary holds rows"
sql "DELETE FROM case_risk_factors WHERE for_case = ${row%%,*} AND factor = ${row#*,}" >/dev/null
run --as mona audit verify --deep; expect_rc 65 "a removed factor fails verify --deep"
expect_err "risk factors kept per case differ from a recount .* 1 row " "verify names the summary"
sql "INSERT INTO case_risk_factors (for_case, factor) VALUES (${row%%,*}, ${row#*,})" >/dev/null
run --as mona audit verify --deep; expect_rc 0 "verify --deep once put back"
sql "INSERT INTO case_risk_factors (for_case, factor) VALUES (${row%%,*}, 'planted')" >/dev/null
run --as mona audit verify --deep; expect_rc 65 "a planted factor fails verify --deep"
sql "DELETE FROM case_risk_factors WHERE factor = 'planted'" >/dev/null
run --as mona audit verify --deep; expect_rc 0 "verify --deep once removed"
# the summary holds factor codes only: every one a code of the pack
codes=$(sql "SELECT count(*) FROM case_risk_factors WHERE factor NOT GLOB '[a-z_0-9]*'
             OR factor GLOB '*[^a-z_0-9]*'")
[ "$codes" = 0 ] && pass || failt "$codes kept factors are not codes"

echo "passed $PASSED, failed $FAILED"
[ "$FAILED" -eq 0 ]
