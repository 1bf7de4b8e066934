#!/bin/sh
# test_harden_rules.sh - a manager's crafted pack cannot read declared form
# fields through `rules diff` (red-team review after issue 15, point 1).
# A pack that declares `needs: fields: national_id: number, hiv_status:
# code` and returns the id as its score, or a factor code only when the
# status is positive, would print every child's id and status to a manager.
# Now: (a) a case outside the acting user's scope is shown to the rules as
# the base view, without declared form fields, and the diff says it is
# partial; (b) such a caller sees per case only levels, intervals in whole
# days and verdicts, never the score or codes; (c) the score is a number
# from 0 to 1000 in tenths, so `rules apply` cannot store an id; (d) such a
# caller sees a rule error as the hook file and the kind, never the line
# (an error() on line 3 + age spells the age).
. "$(dirname "$0")/lib.sh"

init_db
run --now "$T0" register child.name=Noor child.age=12 child.sex=female source=school \
    concerns=neglect consent.registration=caregiver "location=Zedtown/Street 1" \
    form.national_id=987654321 form.hiv_status=positive
expect_rc 0 "register a child with an id and a status in her form"
REF=$(head -1 "$OUT" | cut -d' ' -f1)
run --now 2026-11-29T09:00:00Z assess "$REF" kind=initial safety=ok
expect_rc 0 "initial assessment (the risk is stored)"
NOW=2026-11-30T09:00:00Z

# pack NAME: the default pack declaring the two fields and the factor code.
pack() {
    rm -rf "$1"; cp -r "$SRC/rules/default" "$1"
    sed -i '/^needs:/,/transition_plan/d' "$1/pack.yaml"
    sed -i 's/^codes:/needs:\n  fields:\n    transition_plan: boolean\n    national_id: number\n    hiv_status: code\ncodes:\n  status_positive: "Positive"/' \
        "$1/pack.yaml"
}
# The issue's pack: the default risk, with the id as its score and a factor
# when the status is positive (sample cases have neither: it passes its vet).
pack evil
sed -i 's/^  return { level = level, score = score, factors = factors }$/  if case.form.hiv_status == "positive" then factors[#factors + 1] = "status_positive" end\n  return { level = level, score = case.form.national_id or score, factors = factors }/' \
    evil/risk.lua
grep -q national_id evil/risk.lua && pass || failt "the evil risk.lua was not made"
# The same without the id: the factor alone.
pack status
sed -i 's/^  return { level = level, score = score, factors = factors }$/  if case.form.hiv_status == "positive" then factors[#factors + 1] = "status_positive" end\n  return { level = level, score = score + (factors[#factors] == "status_positive" and 1 or 0), factors = factors }/' \
    status/risk.lua

for who in mona admin; do
    for p in evil status; do
        run --as "$who" --now $NOW rules diff $p --hooks risk
        expect_rc 0 "$who: rules diff $p"
        cat "$OUT" "$ERR" > seen
        no_text 987654 seen "$who: the id through rules diff $p"
        no_text "9.87654e" seen "$who: the id as a score through rules diff $p"
        no_text status_positive seen "$who: the status through rules diff $p"
        expect_out "the form fields the packs read \\(transition_plan, national_id, hiv_status\\), so this diff is partial" \
            "$who: the diff of $p says it is partial"
        run --as "$who" --now $NOW rules diff $p --hooks risk --json
        expect_rc 0 "$who: rules diff $p --json"
        cat "$OUT" "$ERR" > seen
        no_text 987654 seen "$who: the id through rules diff $p --json"
        no_text status_positive seen "$who: the status through rules diff $p --json"
        no_text '"score"' seen "$who: a score through rules diff $p --json"
        [ "$(json_get "$OUT" '$.outside_scope')" = 1 ] && pass ||
            failt "$who: --json says the cases are outside the scope"
        [ "$(json_get "$OUT" '$.fields_not_shown[2]')" = hiv_status ] && pass ||
            failt "$who: --json names the fields not shown"
    done
done

# Positive controls: amal, whose case it is, sees the factor; the id as a
# score is a bad result for everyone (0 to 1000).
run --as amal --now $NOW rules diff status --hooks risk
expect_rc 0 "amal: rules diff status"
expect_out "^$REF risk: .*status_positive" "amal sees the factor of her own case"
run --as amal --now $NOW rules diff evil --hooks risk
expect_rc 65 "amal: the id as a score is a bad result"
expect_out "'score' must be a number from 0 to 1000" "amal is told the bound"
no_text 987654 "$OUT" "the refusal does not echo the id"

# (c) rules apply cannot store the id as the score.
SCORE=$(sql "SELECT risk_score FROM cases WHERE ref = '$REF'")
run --as admin --now $NOW rules apply evil
expect_rc 65 "rules apply of the evil pack is refused"
expect_err "rules apply: .*$REF.*risk.lua: bad result .*nothing changed" "apply names the hook and the kind"
no_text 987654 "$ERR" "apply's refusal"
[ "$(sql "SELECT risk_score FROM cases WHERE ref = '$REF'")" = "$SCORE" ] && pass ||
    failt "the stored score changed: $(sql "SELECT risk_score FROM cases WHERE ref = '$REF'")"
[ "$(sql "SELECT count(*) FROM events WHERE data LIKE '%987654%' OR decision LIKE '%987654%'")" = 0 ] &&
    pass || failt "an event holds the id"
# A fraction is no way round: 987.654321 is refused too.
pack frac
sed -i 's/^  return { level = level, score = score, factors = factors }$/  return { level = level, score = case.form.national_id and case.form.national_id \/ 1e6 or score, factors = factors }/' \
    frac/risk.lua
run --as admin --now $NOW rules apply frac
expect_rc 65 "rules apply of a pack scoring the id / 1e6 is refused"
[ "$(sql "SELECT risk_score FROM cases WHERE ref = '$REF'")" = "$SCORE" ] && pass ||
    failt "the stored score changed to the id / 1e6"

# (d) the line is a channel: an error() on line 3 + age (only in Zedtown:
# no sample case of the pack's check is there).
rm -rf lines; cp -r "$SRC/rules/default" lines; rm -f lines/tests/risk_test.lua
{
    echo 'return function(case, ctx)'
    echo '  local age = case.child.age'
    a=0
    while [ $a -lt 18 ]; do
        echo "  if age == $a and case.location == \"Zedtown\" then error(\"no\", 0) end"
        a=$((a + 1))
    done
    echo '  return { level = "low", score = 0, factors = {} }'
    echo 'end'
} > lines/risk.lua
for who in mona admin; do
    run --as "$who" --now $NOW rules diff lines --hooks risk
    expect_rc 65 "$who: the line-leaking pack errs"
    expect_out "^rule error: $REF risk \\(new pack\\): risk\\.lua: runtime error$" \
        "$who: the error is the hook and its kind, no line"
    no_text ":15" "$OUT" "$who: the line (3 + age)"
done
run --as amal --now $NOW rules diff lines --hooks risk
expect_out "^rule error: $REF risk \\(new pack\\): no$" "amal sees the message of her own case's error"
run --as admin --now $NOW rules apply lines
expect_rc 65 "rules apply of the line-leaking pack is refused"
expect_err "rules apply: .*$REF \\(new pack\\): risk\\.lua: runtime error; nothing changed" \
    "apply names the hook and the kind, no line"
finish
