#!/bin/sh
# test_rules_diff.sh - `haven rules diff` (a dry run: which open cases a new
# rule pack would change, writing nothing but, for a manager or an
# administrator, one audited rules_diffed event) and `haven rules apply` (the
# switch, with the affected risks and due dates updated in one
# transaction).  The fixture pack weighs child labour 14 instead of 6.
. "$(dirname "$0")/lib.sh"
# The default pack with child labour weighing 14 instead of 6, made from
# rules/default by CMakeLists.txt.
NEW="${HAVEN_FIXTURES:?set HAVEN_FIXTURES to the build's fixtures folder}/rules/child_labour"
init_db
# Everything but the audit trail: a manager's diff changes nothing else.
fingerprint() {
    sqlite3 "$HAVEN_DB" .dump | grep -v -e '^INSERT INTO events' -e "^INSERT INTO sqlite_sequence VALUES('events'" |
        sha256sum | cut -d' ' -f1
}

reg() { # AS NAME AGE CONCERNS: registers, sets REF
    run --as "$1" --now "$T0" register child.name="$2" child.age="$3" child.sex=female \
        source=school concerns="$4" consent.registration=caregiver location=Town
    [ "$RC" -eq 0 ] || { failt "register $2: $(cat "$ERR")"; return; }
    REF=$(head -1 "$OUT" | cut -d' ' -f1)
}
walk() { # REF: initial assessment, BIA, plan, approval, a follow-up
    run --now 2026-11-29T09:00:00Z assess "$1" kind=initial safety=ok
    expect_rc 0 "initial assessment of $1"
    run --now 2026-12-01T09:00:00Z assess "$1" kind=comprehensive safety=ok \
        elements.childs_views=a elements.family_relationships=b \
        elements.safe_environment=c elements.development_identity=d \
        elements.strengths_resources=e needs.1=psychosocial_support
    expect_rc 0 "BIA of $1"
    run --now 2026-12-02T09:00:00Z plan "$1" \
        goal="Within six months she is safe and back at school" \
        indicators.1=attendance target_date=2027-06-01 addresses.1=school \
        actions.1.title=Visit actions.1.responsible=caseworker \
        actions.1.type=direct_support actions.1.due=2027-01-01
    expect_rc 0 "plan of $1"
    run --as sara --now 2026-12-03T09:00:00Z approve "$1"
    expect_rc 0 "approval of $1"
    run --now 2026-12-04T09:00:00Z followup "$1" method=meeting safety=ok
    expect_rc 0 "follow-up of $1"
}

# amal: two with child labour (one walked to follow-up), one without (walked);
# bilal: one with child labour; a closed case with child labour.
reg amal Aya 9 child_labour;                 A1=$REF; walk "$A1"
reg amal Bea 13 child_labour,school_decline; A2=$REF
reg amal Cem 10 emotional_distress;          A3=$REF; walk "$A3"
reg bilal Dia 11 child_labour;               B1=$REF
reg amal Eda 12 child_labour;                C1=$REF
run --now 2026-11-29T09:00:00Z assess "$C1" kind=initial safety=ok
run --now 2026-11-29T10:00:00Z close "$C1" reason=death
run --as sara --now 2026-11-29T11:00:00Z approve "$C1"
expect_rc 0 "a closed case with child labour"
NOW=2026-12-05T09:00:00Z

# ---- the pack in force against itself: nothing changes -------------------------
before=$(fingerprint)
run --as mona --now $NOW rules diff
expect_rc 0 "diff of the pack in force against itself"
expect_out '^4 open cases evaluated: 0 would change' "nothing changes against itself"

# ---- the heavier pack: exactly the open cases with child labour -----------------
run --as mona --now $NOW rules diff "$NEW"
expect_rc 0 "rules diff NEWPACK"
want=$(sql "SELECT c.ref FROM cases c JOIN case_concerns k ON k.case_id = c.id
            WHERE k.code = 'child_labour' AND c.status = 'open' ORDER BY c.ref")
got=$(grep ' risk: ' "$OUT" | cut -d' ' -f1 | sort)
[ "$got" = "$want" ] && pass || failt "listed cases: '$got', want '$want'"
[ "$(echo "$want" | wc -l)" -eq 3 ] && pass || failt "three open cases with child labour"
# A manager may not read the cases: levels and intervals in whole days only.
expect_out "^$A1 risk: medium → high$" "old and new risk level"
expect_out "^$A1 follow-up: every 14 days → every 7 days$" \
    "the walked case's follow-up comes more often"
expect_out "^$A1 review: every 90 days → every 30 days$" "and its review"
expect_out "^note: these cases are outside your scope" "the manager is told what is left out"
no_text "child_labour" "$OUT" "no factor code for a manager"
no_text "$A3 " "$OUT" "the case without child labour is not listed"
no_text "$C1" "$OUT" "the closed case is not listed"
expect_out '^3 open cases evaluated|^4 open cases evaluated: 3 would change' "the summary"
expect_out '^  risk_up: 3$' "three risks up"
expect_out '^  followup_more_often: 1$' "one follow-up more often"
expect_out '^  review_more_often: 1$' "one review more often"
[ "$(fingerprint)" = "$before" ] && pass || failt "rules diff wrote to the database"
[ "$(sql "SELECT count(*) FROM events WHERE kind = 'rules_diffed' AND case_id IS NULL
          AND json_extract(data, '\$.new.version') = '1.2.0'")" = 1 ] && pass ||
    failt "a manager's diff is audited: $(sql "SELECT kind, data FROM events WHERE kind = 'rules_diffed'")"

run --as mona --now $NOW rules diff "$NEW" --json
expect_rc 0 "rules diff --json"
[ "$(json_ok "$OUT")" = 1 ] && pass || failt "--json parses: $(head -c 300 "$OUT")"
[ "$(json_get "$OUT" '$.cases_changed')" = 3 ] && pass || failt "cases_changed 3"
[ "$(json_get "$OUT" '$.counts.risk_up')" = 3 ] && pass || failt "counts.risk_up 3"
[ "$(json_get "$OUT" '$.changed[0].risk.new.level')" = high ] && pass || failt "new level in JSON"
[ "$(json_get "$OUT" '$.new.version')" = 1.2.0 ] && pass || failt "new version in JSON"
run --as mona --now $NOW rules diff "$NEW" --hooks risk --json
[ "$(json_get "$OUT" '$.counts.followup_more_often')" = "" ] && pass || failt "--hooks risk compares only risk"
[ "$(fingerprint)" = "$before" ] && pass || failt "--json wrote to the database"

# The supervisor of the team sees the scores, factors and methods.
run --as sara --now $NOW rules diff "$NEW"
expect_rc 0 "sara's diff"
expect_out "^$A1 risk: medium \\(7\\) → high \\(15\\) \\(child_labour" "old and new risk with factors"
expect_out "^$A1 follow-up: every 14 days by home_visit_scheduled → every 7 days" \
    "the walked case's follow-up comes more often, by what method"
no_text "outside your scope" "$OUT" "the team's cases are in sara's scope"

# ---- a caseworker sees only their own cases ----------------------------------------
run --as bilal --now $NOW rules diff "$NEW"
expect_rc 0 "bilal's diff"
expect_out "^$B1 risk: " "bilal's case"
no_text "$A1" "$OUT" "amal's case not in bilal's diff"
expect_out '^1 open case evaluated: 1 would change' "bilal evaluates one case"
run --as sara --now $NOW rules diff "$NEW" --json
[ "$(json_get "$OUT" '$.cases_evaluated')" = 4 ] && pass || failt "the supervisor sees the team"

# ---- a pack that errs on one case: reported per case, exit 65 ---------------------
mkdir -p "$WORK/bad"; cp "$NEW"/*.lua "$NEW/pack.yaml" "$WORK/bad/"
cat >"$WORK/bad/risk.lua" <<'LUA'
return function(case, ctx)
  if case.child and case.child.age == 13 then error("no rule for thirteen") end
  if case.child and case.child.age == 11 then while true do end end
  return { level = "low", score = 1, factors = {} }
end
LUA
run --as mona --now $NOW rules diff "$WORK/bad"
expect_rc 65 "a pack that errs"
# A manager may not read the cases: the hook's file and the kind, not the
# message nor the line (where a rule raises may depend on the case).
expect_out "^rule error: $A2 risk \\(new pack\\): risk.lua: runtime error$" "the error names the case, hook and kind"
expect_out "^rule error: $B1 risk \\(new pack\\): risk.lua: timeout" "the loop is stopped"
no_text "thirteen" "$OUT" "a manager is not shown the rule's message"
expect_err 'rules diff: the rules failed on 2 evaluations' "one line on stderr"
[ "$(fingerprint)" = "$before" ] && pass || failt "an erring diff wrote to the database"
# The caseworker whose case it is sees the message in full.
run --as amal --now $NOW rules diff "$WORK/bad"
expect_rc 65 "a pack that errs, for the caseworker"
expect_out "^rule error: $A2 risk \\(new pack\\): .*bad/risk.lua:2: no rule for thirteen" "the caseworker sees the message"

# ---- a broken pack: 65 with file:line, nothing changed ------------------------------
mkdir -p "$WORK/broken"; cp "$NEW"/*.lua "$NEW/pack.yaml" "$WORK/broken/"
printf 'return function(case, ctx)\n  return {\nend\n' >"$WORK/broken/risk.lua"
run --as mona --now $NOW rules diff "$WORK/broken"
expect_rc 65 "a broken pack"
expect_err 'broken/risk.lua:[0-9]+:' "the syntax error with file:line"
run --as admin --now $NOW rules apply "$WORK/broken"
expect_rc 65 "applying a broken pack"
expect_err 'broken/risk.lua:[0-9]+:' "apply names file:line"
run --as admin --now $NOW rules apply "$WORK/bad"
expect_rc 65 "applying a pack that errs on a case"
expect_err "rules apply: .*$A2.*: risk.lua: runtime error; nothing changed" "apply names the case, hook and kind"
no_text "thirteen" "$ERR" "an administrator is not shown the rule's message"
[ "$(fingerprint)" = "$before" ] && pass || failt "a refused apply changed the database"

# ---- apply: administrators only ----------------------------------------------------
run --as mona --now $NOW rules apply "$NEW"
expect_rc 77 "a manager cannot apply"
run --as amal --now $NOW rules apply "$NEW"
expect_rc 77 "a caseworker cannot apply"
[ "$(fingerprint)" = "$before" ] && pass || failt "a denied apply changed the database"

# ---- apply --------------------------------------------------------------------------------
due_before=$(sql "SELECT t.due_at FROM tasks t JOIN cases c ON c.id = t.case_id
                  WHERE c.ref = '$A1' AND t.kind = 'followup' AND t.status = 'open'")
other_due=$(sql "SELECT group_concat(t.due_at) FROM tasks t JOIN cases c ON c.id = t.case_id
                 WHERE c.ref = '$A3' AND t.status = 'open'")
run --as admin --now $NOW rules apply "$NEW"
expect_rc 0 "apply"
expect_out 'default 1.2.0 .* 3 of 4 open cases changed' "apply says what changed"
[ "$(sql "SELECT risk_level FROM cases WHERE ref = '$A1'")" = high ] && pass || failt "A1's risk is high"
[ "$(sql "SELECT risk_score FROM cases WHERE ref = '$A1'")" = 15.0 ] && pass || failt "A1's score is 15"
[ "$(sql "SELECT risk_level FROM cases WHERE ref = '$A3'")" = low ] && pass || failt "A3 unchanged"
due_after=$(sql "SELECT t.due_at FROM tasks t JOIN cases c ON c.id = t.case_id
                 WHERE c.ref = '$A1' AND t.kind = 'followup' AND t.status = 'open'")
[ "$due_after" -eq $((due_before - 7 * 86400)) ] && pass || failt "A1's follow-up due a week earlier: $due_before -> $due_after"
[ "$(sql "SELECT group_concat(t.due_at) FROM tasks t JOIN cases c ON c.id = t.case_id
          WHERE c.ref = '$A3' AND t.status = 'open'")" = "$other_due" ] && pass || failt "A3's tasks unchanged"
events=$(sql "SELECT group_concat(c.ref) FROM events e JOIN cases c ON c.id = e.case_id
              WHERE e.kind = 'rules_applied' ORDER BY c.ref")
[ "$(echo "$events" | tr ',' '\n' | sort | tr '\n' ' ')" = "$(echo "$want" | tr '\n' ' ')" ] && pass || failt "one event per changed case: $events"
[ "$(sql "SELECT json_extract(data, '\$.pack.version') || ' ' || json_extract(data, '\$.previous.version')
          FROM events WHERE kind = 'rules_applied' LIMIT 1")" = "1.2.0 1.1.0" ] && pass || failt "the event names both versions"
[ "$(sql "SELECT count(*) FROM events WHERE kind = 'rules_applied' AND json_extract(data, '\$.pack.hash') IS NOT NULL AND json_extract(data, '\$.previous.hash') IS NOT NULL")" = 3 ] && pass || failt "the events carry both hashes"
[ "$(sql "SELECT version FROM rule_packs ORDER BY id DESC LIMIT 1")" = 1.2.0 ] && pass || failt "the new pack is in force"
run --as mona --now $NOW rules diff "$NEW"
expect_rc 0 "diff after apply"
expect_out '^4 open cases evaluated: 0 would change' "a second diff shows no changes"
run --as admin --now $NOW rules apply "$NEW"
expect_rc 0 "applying the same pack again"
expect_out 'already in force' "nothing to do"
finish
