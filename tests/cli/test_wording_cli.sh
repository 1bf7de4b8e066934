#!/bin/sh
# test_wording_cli.sh - issue 20 (caseworkers, supervisors, administrators):
# the CLI's wording.  Counts agree with their nouns ("every 1 day", "1 open
# case", "1 entry", "1 action"); an unknown option names itself and a
# mistyped command gets a "did you mean"; register lists the valid codes of
# a bad code and names every missing required field in its one line; the
# exit-code lists name 74.
. "$(dirname "$0")/lib.sh"

# ---- 1. grammar ---------------------------------------------------------------
# A pack copy whose follow-ups are daily (as the default pack's are for a
# critical risk) so that the approval's confirmation prints "every 1 day".
cp -R "$SRC/rules/default" "$WORK/daily"
sed -i 's/^local EVERY = .*/local EVERY = { critical = days(1), high = days(1), medium = days(1), low = days(1) }/' \
    "$WORK/daily/followup.lua"
rm -rf "$WORK/daily/tests"
run --as admin --now "$T0" init --simulated --agency CP --workflow "$SRC/workflows/iasc.yaml" \
    --rules "$WORK/daily"
expect_rc 0 "init with a daily follow-up pack"
add_users

run --as admin user list
expect_out '^amal .*active, 0 open cases(,|$)' "0 open cases (plural)"
register_noor
expect_rc 0 "register"; REF=$(head -1 "$OUT")
run --as admin user list
expect_out '^amal .*active, 1 open case(,|$)' "user list: 1 open case (seed: the caseworker's caseload)"
no_text "1 open cases" "$OUT" "no '1 open cases' in user list"
expect_out '^bilal .*active, 0 open cases(,|$)' "user list: 0 open cases"

run --now 2026-11-29T15:00:00Z assess "$REF" kind=initial safety=ok needs.1=psychosocial_support
expect_rc 0 "initial assessment"
run --now 2026-12-08T10:00:00Z assess "$REF" kind=comprehensive safety=ok \
    elements.childs_views=wants_help elements.family_relationships=close_to_mother \
    elements.safe_environment=no_harm_seen elements.development_identity=withdrawn \
    elements.strengths_resources=school_counsellor needs.1=psychosocial_support \
    risks.1=emotional_neglect strengths.1=mother_present sources.1=noor
expect_rc 0 "the BIA"
run --now 2026-12-09T10:00:00Z plan "$REF" goal="feel safe at school" indicators.1=anxiety \
    target_date=2027-06-09 addresses.1=psychosocial_support actions.1.title=PSS \
    actions.1.responsible=caseworker actions.1.type=direct_support actions.1.due=2027-01-09
expect_rc 0 "the plan"
run --as sara --now 2026-12-10T09:00:00Z approve "$REF" note=agreed
expect_rc 0 "sara approves"
expect_out 'next follow-up: 2026-12-11T09:00:00Z .*every 1 day$' "step confirmation: every 1 day"
no_text "every 1 days" "$OUT" "no 'every 1 days' in the step confirmation"
run show "$REF"
no_text "every 1 days" "$OUT" "no 'every 1 days' in show"

# rules apply: "of 1 open case" (the default pack back in force)
run --as admin --now 2026-12-10T10:00:00Z rules apply "$SRC/rules/default"
expect_rc 0 "rules apply"
expect_out 'of 1 open case changed' "rules apply: of 1 open case"

# ---- 2. unknown options and commands -----------------------------------------
before=$(fingerprint)
run --now "$T0" register --frce child.name=Noor
expect_rc 64 "register --frce"
expect_err '^haven: register: unknown option --frce \(see haven register --help\)$' \
    "register names the unknown option"
run --now "$T0" register --name=Noor
expect_rc 64 "register --name=VALUE"
expect_err 'unknown option --name \(see haven register --help\)$' "only the option's name"
no_text Noor "$ERR" "the value of an unknown option is not echoed"
run --now "$T0" assess "$REF" --expct-version 3
expect_rc 64 "assess --expct-version"
expect_err '^haven: assess: unknown option --expct-version \(see haven assess --help\)$' \
    "a step names the unknown option"
run list --stag registration
expect_rc 64 "list --stag"
expect_err '^haven: list: unknown option --stag \(see haven list --help\)$' "list names it"
run due --overdu
expect_rc 64 "due --overdu"
expect_err '^haven: due: unknown option --overdu ' "due names it"
run regster child.name=Noor
expect_rc 64 "regster"
expect_err '^haven: regster: unknown command; did you mean register\? \(see haven --help\)$' \
    "did you mean register"
run hsitory "$REF"
expect_rc 64 "hsitory (two letters swapped)"
expect_err 'did you mean history\?' "did you mean history"
run frobnicate
expect_rc 64 "frobnicate"
expect_err '^haven: frobnicate: unknown command \(see haven --help\)$' "no suggestion when nothing is near"
run help regster
expect_rc 64 "help regster"
expect_err 'did you mean register\?' "help suggests too"
run --frce list
expect_rc 64 "--frce before the command"
expect_err '^haven: unknown option --frce \(see haven --help\)$' "a global option named"
[ "$(fingerprint)" = "$before" ] && pass || failt "a refused command changed the database"

# ---- 3. registration errors ---------------------------------------------------
run --now "$T0" register child.name=Noor child.age=12 child.sex=m source=school \
    concerns=emotional_distress consent.registration=caregiver location=Riverside
expect_rc 65 "child.sex=m"
expect_err "^haven: register: child.sex: unknown code 'm' \(one of: female, male, other, unknown\)$" \
    "the valid codes of the sexes lookup"
run --now "$T0" register child.name=Noor child.age=12 child.sex=female source=skool \
    concerns=emotional_distress consent.registration=caregiver location=Riverside
expect_rc 65 "source=skool"
expect_err "source: unknown code 'skool' \(one of: [a-z_]+(, [a-z_]+)*\)$" "source lists its codes"
expect_err "one of: .*school" "the referral_sources lookup's codes"
run --now "$T0" register child.name=Noor child.sex=female
expect_rc 65 "several fields missing"
expect_err "^haven: register: missing required fields 'child.age', 'location', 'source', 'concerns', 'consent.registration' \(workflow iasc, stage registration\)$" \
    "every missing field named in one line"
no_text Noor "$ERR" "no name echoed"
run --now "$T0" register child.name=Noor child.age=12 child.sex=female source=school \
    concerns=emotional_distress location=Riverside
expect_rc 65 "consent missing"
expect_err "^haven: register: missing required field 'consent.registration' \(" \
    "one missing field: the singular"
[ "$(fingerprint)" = "$before" ] && pass || failt "a refused registration changed the database"

# ---- 3b. more counts (issue 20: "1 open cases" and the like) ------------------
# An agency made without a rules pack has one audit entry: "1 entry" (through
# havend the test's wrapper adds its own entries: then "N entries").
run --db one.db --as admin init --agency CP --workflow "$SRC/workflows/iasc.yaml"
expect_rc 0 "init without rules"
run --db one.db --as admin audit verify
n=$(sed -n 's/^audit: ok: \([0-9]*\) entr.*/\1/p' "$OUT")
if [ "$n" = 1 ]; then
    expect_out '^audit: ok: 1 entry chained up to entry 1; 1 checkpoint matches ' "audit verify: 1 entry"
else
    expect_out "^audit: ok: $n entries chained up to entry $n; " "audit verify: $n entries"
fi
no_text "1 entries" "$OUT" "no '1 entries'"
# The plan has one action: the history says "1 action".
run history "$REF"
expect_out ' plan submitted: version 1; 1 action; ' "history: 1 action"
no_text "1 actions" "$OUT" "no '1 actions'"
no_text "every 1 days" "$OUT" "no 'every 1 days' in the history"
expect_out 'follow-up every 1 day by ' "history: follow-up every 1 day"
run explain "$REF"
expect_out '^    follow-up every 1 day$' "explain: every 1 day"

# ---- 4. exit code 74 listed -------------------------------------------------
run --help
expect_out '74 input/output error' "haven --help lists 74"
grep -q '^| 74 | input/output error' "$SRC/README.md" && pass || failt "README's exit-code table lacks 74"
grep -q '74 input/output error' "$SRC/doc/haven.1" && pass || failt "haven.1 EXIT STATUS lacks 74"

finish
