#!/bin/sh
# `rules test` case builders check a test's synthetic case as `register`
# checks its input (issue 20: "`rules test` case builders accept typos
# (`chid`, `child_labor`) that `register` refuses"): a member the case view
# does not have, a code the workflow does not list; the FAIL line names the
# test file, the test, the bad field and (for codes) the valid ones.
. "$(dirname "$0")/lib.sh"

W="$SRC/workflows/iasc.yaml"
# the shipped packs' own tests pass, against their workflow's codes too
for pw in default:iasc survivor:survivor trafficking:trafficking; do
    run rules test "$SRC/rules/${pw%%:*}" --workflow "$SRC/workflows/${pw#*:}.yaml"
    expect_rc 0 "rules test ${pw%%:*} --workflow ${pw#*:}.yaml"
    expect_out '^[1-9][0-9]* passed, 0 failed$' "${pw%%:*}: every test passes"
done

# typo PACK TESTLUA: the default pack with one extra test file
typo() {
    rm -rf "$1"; cp -r "$SRC/rules/default" "$1"
    printf '%s\n' "$2" >"$1/tests/typo_test.lua"
}

typo chid 'test("a typo in the child", function()
  local r = registration(case { chid = { age = 4, sex = "female" } })
  expect(r.eligible).to_be(true)
end)'
run rules test chid; expect_rc 65 "a case{} with chid"
expect_out "^FAIL typo_test\\.lua: a typo in the child: chid/tests/typo_test\\.lua:2: case: unknown field 'chid' \\(one of: ref, stage, status, source, location, urgency, registered_at, form, concerns, consent, child, family, " \
    "the FAIL line names the file, the test, the line, the field and the valid ones"
[ "$(grep -c '^FAIL' "$OUT")" = 1 ] && pass || failt "only the typo test fails"

typo agee 'test("a typo inside the child", function()
  expect(risk(case { child = { agee = 4 } }).level).to_be("low")
end)'
run rules test agee; expect_rc 65 "a case{} with child.agee"
expect_out "^FAIL typo_test\\.lua: a typo inside the child: .*typo_test\\.lua:2: case: unknown field 'child\\.agee' \\(one of: age, sex\\)$" \
    "a nested typo named with its path and the valid members"

typo labor 'test("a typo in a concern", function()
  expect(registration(case { concerns = { "neglect", "child_labor" } }).eligible).to_be(true)
end)'
run rules test labor --workflow "$W"; expect_rc 65 "a case{} with child_labor"
expect_out "^FAIL typo_test\\.lua: a typo in a concern: .*typo_test\\.lua:2: case: concerns\\[2\\]: unknown code 'child_labor' \\(one of: neglect, .*child_labour, .*other\\)$" \
    "the bad code and the workflow's codes"
# register refuses the same code (the same list)
init_db
run --now "$T0" register child.name=Noor child.age=12 child.sex=female source=school \
    concerns=child_labor consent.registration=caregiver location=Riverside
expect_rc 65 "register refuses child_labor"
expect_err "unknown code 'child_labor'" "register names the code"

typo sex 'test("a bad sex code", function()
  expect(registration(case { child = { age = 9, sex = "f" } }).eligible).to_be(true)
end)'
run rules test sex; expect_rc 65 "a bad sex code, without --workflow (register's own list)"
expect_out "case: child\\.sex: unknown code 'f' \\(one of: female, male, other, unknown\\)" "sexes listed"

# a hand-built table given to a hook is checked too
typo hand 'test("a hand-built case", function()
  expect(followup({ stage = "follow_up", followups = { { at = 1, metod = "phone_call" } } }).every).to_be_at_least(1)
end)'
run rules test hand; expect_rc 65 "a hand-built case with followups[1].metod"
expect_out "typo_test\\.lua:2: case: unknown field 'followups\\[1\\]\\.metod' \\(one of: at, method, safety\\)" \
    "the hook call names the test's line and the path"

# a form field pack.yaml does not declare
typo form 'test("an undeclared form field", function()
  expect(closure(case { form = { transition_plan = true, transiton = 1 } }, "death").ok).to_be(true)
end)'
run rules test form; expect_rc 65 "an undeclared form field"
expect_out "case: unknown field 'form\\.transiton' \\(one of: transition_plan\\)" "the declared fields listed"
finish
