#!/bin/sh
# test_rules_diff_digest.sh - `haven rules diff` of the same pack as the one
# in force is answered from the digest of the pack's files (SHA-256 over
# pack.yaml and the hook files, not the folder's path) without running the
# rules: every open case in scope counted, none changed, "answered_from":
# "digest".  A pack that differs by one byte in any of those files is run
# in full (issue 21), and so is the same pack with --full.
. "$(dirname "$0")/lib.sh"
NEW="${HAVEN_FIXTURES:?set HAVEN_FIXTURES to the build's fixtures folder}/rules/child_labour"
init_db
reg() { # AS NAME AGE CONCERNS
    run --as "$1" --now "$T0" register child.name="$2" child.age="$3" child.sex=female \
        source=school concerns="$4" consent.registration=caregiver location=Town
    [ "$RC" -eq 0 ] || failt "register $2: $(cat "$ERR")"
    REF=$(head -1 "$OUT" | cut -d' ' -f1)
}
reg amal Aya 9 child_labour
reg amal Bea 13 emotional_distress
reg bilal Dia 11 child_labour
reg amal Eda 12 child_labour; C1=$REF
run --now 2026-11-29T10:00:00Z close "$C1" reason=death
run --as sara --now 2026-11-29T11:00:00Z approve "$C1"
expect_rc 0 "a closed case"
NOW=2026-12-05T09:00:00Z
HASH=$(sql "SELECT hash FROM rule_packs ORDER BY id DESC LIMIT 1")

# ---- the pack in force against itself, and a copy of it elsewhere ----------------
cp -r "$SRC/rules/default" "$WORK/copy"
for p in "" "$WORK/copy"; do
    # shellcheck disable=SC2086
    run --as mona --now $NOW rules diff $p
    expect_rc 0 "same pack ($p)"
    expect_out '^3 open cases evaluated: 0 would change' "every open case counted ($p)"
    expect_out "^answered from the packs' digest" "the answer says where it came from ($p)"
    expect_out '^note: these cases are outside your scope' "the manager's note stays ($p)"
    no_text "the rules ran without" "$OUT" "no rule ran, nothing was left out ($p)"
    # shellcheck disable=SC2086
    run --as mona --now $NOW rules diff $p --json
    expect_rc 0 "same pack --json ($p)"
    [ "$(json_get "$OUT" '$.answered_from')" = digest ] && pass || failt "answered_from digest ($p): $(head -c 300 "$OUT")"
    [ "$(json_get "$OUT" '$.cases_evaluated') $(json_get "$OUT" '$.cases_changed')" = "3 0" ] &&
        pass || failt "3 evaluated, 0 changed ($p)"
    [ "$(json_get "$OUT" '$.errors_total') $(json_get "$OUT" '$.changed')" = "0 []" ] &&
        pass || failt "no errors, no changes ($p)"
    [ "$(json_get "$OUT" '$.old.hash')" = "$HASH" ] && [ "$(json_get "$OUT" '$.new.hash')" = "$HASH" ] &&
        pass || failt "both sides name the pack's hash ($p)"
done
# the scope still counts: a caseworker's open cases, a supervisor's team
run --as bilal --now $NOW rules diff "$WORK/copy" --json
[ "$(json_get "$OUT" '$.cases_evaluated')" = 1 ] && pass || failt "bilal's one open case"
run --as amal --now $NOW rules diff --json
[ "$(json_get "$OUT" '$.cases_evaluated')" = 2 ] && pass || failt "amal's two open cases"
run --as sara --now $NOW rules diff --json
[ "$(json_get "$OUT" '$.cases_evaluated')" = 3 ] && pass || failt "sara's team's three"
# a manager's diff is audited, saying it was answered from the digest
[ "$(sql "SELECT count(*) FROM events WHERE kind = 'rules_diffed'
          AND json_extract(data, '\$.answered_from') = 'digest'")" = 4 ] && pass ||
    failt "the audited diffs say answered_from digest"

# ---- --full: the same pack run all the same (a rule writer's check, a timing) ---
run --as mona --now $NOW rules diff --full --json
expect_rc 0 "same pack --full"
[ "$(json_get "$OUT" '$.answered_from')" = "" ] && pass || failt "--full is not answered from the digest"
[ "$(json_get "$OUT" '$.cases_evaluated') $(json_get "$OUT" '$.cases_changed')" = "3 0" ] &&
    pass || failt "--full: 3 evaluated, none changed"
run --as mona --now $NOW rules diff --full
no_text "answered from the packs' digest" "$OUT" "no digest line with --full"
run --as mona --now $NOW rules apply "$WORK/copy" --full
expect_rc 64 "--full is rules diff's"

# ---- one byte different in a hook file, or in pack.yaml: run in full -------------
for f in risk.lua pack.yaml; do
    rm -rf "$WORK/byte"; cp -r "$SRC/rules/default" "$WORK/byte"
    printf ' ' >>"$WORK/byte/$f"   # a trailing space: the same decisions
    run --as mona --now $NOW rules diff "$WORK/byte" --json
    expect_rc 0 "one byte more in $f"
    [ "$(json_get "$OUT" '$.answered_from')" = "" ] && pass || failt "$f: not answered from the digest"
    [ "$(json_get "$OUT" '$.new.hash')" != "$HASH" ] && pass || failt "$f: a different hash"
    [ "$(json_get "$OUT" '$.cases_evaluated') $(json_get "$OUT" '$.cases_changed')" = "3 0" ] &&
        pass || failt "$f: 3 evaluated, none changed"
done
# A different pack runs: one whose risk errs on one case says so.
rm -rf "$WORK/byte"; cp -r "$SRC/rules/default" "$WORK/byte"
cat >"$WORK/byte/risk.lua" <<'LUA'
return function(case, ctx)
  if case.child and case.child.age == 13 then error("no rule for thirteen") end
  return { level = "low", score = 1, factors = {} }
end
LUA
run --as mona --now $NOW rules diff "$WORK/byte" --json
expect_rc 65 "a pack that errs on one case"
[ "$(json_get "$OUT" '$.errors_total')" = 1 ] && pass || failt "the rules ran: one error"

# ---- a changed pack: computed --------------------------------------------------------
run --as mona --now $NOW rules diff "$NEW" --json
expect_rc 0 "the heavier pack"
[ "$(json_get "$OUT" '$.answered_from')" = "" ] && pass || failt "a changed pack is not answered from the digest"
[ "$(json_get "$OUT" '$.cases_evaluated') $(json_get "$OUT" '$.cases_changed') $(json_get "$OUT" '$.counts.risk_up')" = "3 2 2" ] &&
    pass || failt "the two open cases with child labour go up: $(head -c 400 "$OUT")"
run --as mona --now $NOW rules diff "$NEW"
no_text "answered from the packs' digest" "$OUT" "no digest line for a changed pack"
finish
