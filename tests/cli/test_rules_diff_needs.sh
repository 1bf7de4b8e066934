#!/bin/sh
# test_rules_diff_needs.sh - a diff runs two packs on each case, and each
# pack is shown only the form fields its own pack.yaml declares (`needs:
# fields:`), never the other pack's: the pack in force here reads `danger`,
# the new one `shelter`, and their risk.lua scores which of the two it can
# see (1 for danger, 10 for shelter).  A diff by someone outside the case's
# scope (an administrator) shows neither pack a form field and says so.
. "$(dirname "$0")/lib.sh"

# pack DIR FIELD...: the default pack declaring FIELD... (number or code)
# with a risk.lua that scores the declared fields it is shown.
pack() {
    dir=$1; shift
    rm -rf "$dir"; cp -r "$SRC/rules/default" "$dir"
    rm -f "$dir"/tests/*_test.lua
    for f in "$@"; do
        sed -i "s/^    transition_plan: boolean.*/&\n    $f/" "$dir/pack.yaml"
    done
    cat > "$dir/risk.lua" <<'LUA'
return function(case, ctx)
  local f = case.form
  local score = (f.danger ~= nil and 1 or 0) + (f.shelter ~= nil and 10 or 0)
  return { level = "low", score = score, factors = {} }
end
LUA
}
pack old "danger: number"
pack new "shelter: code"
pack both "danger: number" "shelter: code"

run --as admin --now "$T0" init --simulated --agency CP --workflow "$SRC/workflows/iasc.yaml" --rules old
expect_rc 0 "init with the pack that reads danger"
add_users
run --now "$T0" --json register child.name=Ana child.age=9 child.sex=female source=school \
    concerns=neglect consent.registration=caregiver location=Town form.danger=7 form.shelter=none
expect_rc 0 "register with both fields in the form"

# each side its own fields: the old pack danger (1), the new shelter (10)
run --as amal --now "$T0" --json rules diff new --hooks risk
expect_rc 0 "the caseworker's diff"
[ "$(json_get "$OUT" '$.changed[0].risk.old.score')" = 1 ] && pass ||
    failt "the old pack saw other fields than danger: $(cat "$OUT")"
[ "$(json_get "$OUT" '$.changed[0].risk.new.score')" = 10 ] && pass ||
    failt "the new pack saw other fields than shelter: $(cat "$OUT")"
# the same the other way round, and a pack declaring both sees both
run --as amal --now "$T0" --json rules diff both --hooks risk --full
expect_rc 0 "the diff against the pack reading both"
[ "$(json_get "$OUT" '$.changed[0].risk.old.score')/$(json_get "$OUT" '$.changed[0].risk.new.score')" = 1/11 ] &&
    pass || failt "the pack declaring both fields did not see both: $(cat "$OUT")"
# the pack in force against itself, run: the same fields on both sides
run --as amal --now "$T0" --json rules diff old --hooks risk --full
expect_rc 0 "the pack in force against itself"
[ "$(json_get "$OUT" '$.cases_changed')" = 0 ] && pass || failt "the same pack changed a case: $(cat "$OUT")"

# outside the scope: no form field on either side, and the summary says
# which fields were left out (both packs')
run --as admin --now "$T0" --json rules diff new --hooks risk
expect_rc 0 "the administrator's diff"
[ "$(json_get "$OUT" '$.cases_changed')" = 0 ] && pass ||
    failt "a form field reached a rule outside the scope: $(cat "$OUT")"
[ "$(json_get "$OUT" '$.fields_not_shown')" = '["transition_plan","danger","shelter"]' ] && pass ||
    failt "fields_not_shown: $(json_get "$OUT" '$.fields_not_shown')"
finish
