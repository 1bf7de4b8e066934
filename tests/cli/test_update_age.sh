#!/bin/sh
# Issue 19, points 3 and 4: ages that grow, and records that can change.
#
# Seed 001, "Criteria for Case Closure": "The child reaches the age of
# majority (with an appropriate transition plan if needed)."  A child's age
# is derived at each read and rule call (from the date of birth when it is
# known), so a child who turns 18 in care can close for it, after a
# transition plan is recorded with `update`.
#
# Seed 004: "Re-assessment of safety and risk"; influencing factors
# "Perpetrator ... Family dynamics".  `update` changes the child's details,
# the family, the location and the form fields; an alleged perpetrator who
# has left the household lowers the risk at once.
. "$(dirname "$0")/lib.sh"

init_db
T1=2026-11-28T10:00:00Z

# Sami: born 2009-03-01, 17 at registration, 18 on 2027-03-01 (three months
# later: the age given plus the whole years since registration would still
# say 17).  Noor: the child whose record changes.
run --now "$T0" register child.name=Sami child.dob=2009-03-01 child.sex=male \
    source=school concerns=emotional_distress consent.registration=caregiver \
    location=Riverside family.1.relationship=mother family.1.age=40
expect_rc 0 "register Sami"
SAMI=$(cat "$OUT")
register_noor family.1.relationship=father family.1.name=Karim \
    family.1.lives_with_child=yes
expect_rc 0 "register Noor"
NOOR=$(cat "$OUT")

# ---- point 4: an audited update --------------------------------------------

PLAN_TEXT="Handover to the youth service in Hillside"
run --now "$T1" update "$NOOR" child.name=Zainab "location=Hillside/Block 9" \
    family.1.lives_with_child=no family.2.relationship=mother \
    family.2.name=Huda family.2.age=35 "form.transition_plan=$PLAN_TEXT"
expect_rc 0 "update the child's name, location, family and a form field"
expect_out "updated" "update says what happened"
run --now "$T1" --json show "$NOOR"
cp "$OUT" noor.json
[ "$(json_get noor.json '$.child.name')" = Zainab ] && pass || failt "show: the new name"
[ "$(json_get noor.json '$.location')" = "Hillside/Block 9" ] && pass || failt "show: the new location"
[ "$(json_get noor.json '$.family[0].lives_with_child')" = 0 ] && pass ||
    failt "show: the father no longer lives with the child"
[ "$(json_get noor.json '$.family[1].relationship')" = mother ] && pass || failt "show: the mother added"
[ "$(json_get noor.json '$.family[1].name')" = Huda ] && pass || failt "show: the mother's name"
[ "$(json_get noor.json '$.form.transition_plan')" = "$PLAN_TEXT" ] && pass ||
    failt "show: the transition plan recorded"
[ "$(json_get noor.json '$.version')" = 2 ] && pass || failt "update bumps the version"
run --now "$T1" show "$NOOR"
expect_out "^  2\. mother: Huda" "the case file numbers family members as update names them"

# The event names the fields; old -> new only for codes, numbers, yes/no.
sql "SELECT data FROM events WHERE kind = 'updated'" >event.txt
for secret in Zainab Noor Hillside Riverside Huda Karim "$PLAN_TEXT"; do
    no_text "$secret" event.txt "the update's event holds no identifying value"
done
grep -q '"family.1.lives_with_child":{"from":true,"to":false}' event.txt && pass ||
    failt "the event records lives_with_child old -> new: $(cat event.txt)"
grep -q '"child.name":"changed"' event.txt && pass || failt "the event names child.name"
grep -q '"form.transition_plan":"set"' event.txt && pass || failt "the event names the form field"
[ "$(sql "SELECT count(*) FROM persons WHERE name LIKE '%Zainab%' OR name LIKE '%Huda%'")" = 0 ] &&
    pass || failt "names are sealed, not stored as text"
[ "$(sql "SELECT count(*) FROM cases WHERE location LIKE '%Hillside%' OR form LIKE '%youth%'")" = 0 ] &&
    pass || failt "location and form are sealed"

# The name index follows the name.
run --now "$T1" search Zainab
expect_rc 0 "search the new name"
expect_out "$NOOR" "search finds the new name"
run --now "$T1" search Noor
if grep -q "$NOOR" "$OUT"; then failt "search still finds the old name"; else pass; fi

# Need-to-know, stale copies, bad input: refused, nothing changed.
run --now "$T1" --as bilal update "$NOOR" location=Elsewhere
expect_rc 69 "update out of the caseworker's scope"
run --now "$T1" --json show "$NOOR"
[ "$(json_get "$OUT" '$.location')" = "Hillside/Block 9" ] &&
    [ "$(json_get "$OUT" '$.version')" = 2 ] && pass ||
    failt "the refused update out of scope changed the case"
[ "$(sql "SELECT count(*) FROM events WHERE kind = 'updated'")" = 1 ] && pass ||
    failt "the refused update out of scope left an update event"
before=$(fingerprint)
run --now "$T1" update "$NOOR" location=Elsewhere --expect-version 1
expect_rc 65 "update from a stale version"
expect_err "stale version" "stale version says so"
run --now "$T1" update "$NOOR" child.colour=blue
expect_rc 65 "update of an unknown field"
expect_err "unknown field 'child.colour'" "the bad field is named"
run --now "$T1" update "$NOOR" child.sex=purple
expect_rc 65 "update with an unknown code"
run --now "$T1" update "$NOOR" family.5.relationship=mother
expect_rc 65 "update of a family member that does not exist"
expect_err "family.5: no such member" "the missing member is named"
run --now "$T1" update "$NOOR" family.3.name=Omar
expect_rc 65 "a new family member needs a relationship"
run --now "$T1" update "$NOOR" child.dob=2031-01-01
expect_rc 65 "a date of birth in the future"
run --now "$T1" update "$NOOR" child.name=Zainab
expect_rc 65 "an update that changes nothing"
no_text Zainab "$ERR" "errors never echo a name"
[ "$(fingerprint)" = "$before" ] && pass || failt "refused updates changed the database"

# ---- point 3: ages that grow -----------------------------------------------

run --now "$T0" --json show "$SAMI"
[ "$(json_get "$OUT" '$.child.age')" = 17 ] && pass || failt "Sami is 17 at registration"
BIRTHDAY=2027-03-01T09:00:00Z
run --now 2027-02-28T09:00:00Z close "$SAMI" reason=age_of_majority
expect_rc 65 "the day before the 18th birthday: not yet of age"
expect_err "child_under_18|under 18" "the refusal says why"
run --now "$BIRTHDAY" --json show "$SAMI"
cp "$OUT" sami.json
[ "$(json_get sami.json '$.child.age')" = 18 ] && pass ||
    failt "show: 18 on the 18th birthday, got $(json_get sami.json '$.child.age')"
[ "$(json_get sami.json '$.family[0].age')" = 40 ] && pass || failt "show: the mother is still 40"
run --now 2028-12-01T09:00:00Z --json show "$SAMI"
[ "$(json_get "$OUT" '$.family[0].age')" = 42 ] && pass || failt "the mother's age grows too"

# The rules' bulk view (rules diff) sees the age today: a pack whose risk
# score is the child's age.
cp -r "$SRC/rules/default" agepack && rm -rf agepack/tests
printf 'return function(case, ctx)\n  return { level = "low", score = case.child.age, factors = {} }\nend\n' \
    >agepack/risk.lua
run --as sara --now "$BIRTHDAY" --json rules diff agepack --hooks risk
expect_rc 0 "rules diff with the age pack"
grep -q "\"ref\":\"$SAMI\",\"risk\":{[^}]*},\"new\":{\"level\":\"low\",\"score\":18" "$OUT" && pass ||
    failt "the rules' case view: 18 on the birthday: $(head -c 400 "$OUT")"

# "with an appropriate transition plan if needed": recorded, then closed.
run --now "$BIRTHDAY" update "$SAMI" "form.transition_plan=Adult services in Riverside"
expect_rc 0 "record the transition plan after registration"
run --now "$BIRTHDAY" close "$SAMI" reason=age_of_majority
expect_rc 0 "an 18-year-old closes for the age of majority"
run --as sara --now "$BIRTHDAY" approve "$SAMI"
expect_rc 0 "the supervisor approves the closure"
run --now "$BIRTHDAY" --json show "$SAMI"
[ "$(json_get "$OUT" '$.status')" = closed ] && pass || failt "Sami's case is closed"
before=$(fingerprint)
run --now "$BIRTHDAY" update "$SAMI" location=Elsewhere
expect_rc 65 "a closed case is not updated"
expect_err "reopen it first" "the refusal says what to do"
[ "$(fingerprint)" = "$before" ] && pass || failt "the refused update changed nothing"

# ---- seed 004: the perpetrator leaves the household; risk falls -----------

SV="$WORK/survivor.db"
"$HAVEN" --db "$SV" --as admin --now "$T0" init --simulated --agency SV \
    --workflow "$SRC/workflows/survivor.yaml" --rules "$SRC/rules/survivor" >/dev/null 2>&1
add_users "$SV"
run --db "$SV" --now "$T0" register child.name=Maya child.age=14 child.sex=female \
    source=health concerns=sexual_abuse consent.registration=both location=Riverside \
    form.perpetrator_in_household=true family.1.relationship=step_parent \
    family.1.lives_with_child=yes
expect_rc 0 "register a survivor"
MAYA=$(cat "$OUT")
run --db "$SV" --now "$T1" assess "$MAYA" kind=initial safety=ok
expect_rc 0 "initial assessment"
expect_out "risk: critical" "the alleged perpetrator in the household: critical"
run --db "$SV" --now "$T1" update "$MAYA" form.perpetrator_in_household=false \
    family.1.lives_with_child=no
expect_rc 0 "update: the alleged perpetrator has left the household"
expect_out "risk: medium" "risk is re-scored after the update"
run --db "$SV" --now "$T1" --json history "$MAYA"
grep -q '"form.perpetrator_in_household"' "$OUT" && pass || failt "the event names the form field"
grep -q "alleged_perpetrator_in_household" "$OUT" && pass || failt "history has the risk decisions"

for db in "$HAVEN_DB" "$SV"; do
    run --db "$db" audit verify --deep
    expect_rc 0 "audit verify --deep after updates"
done
finish
