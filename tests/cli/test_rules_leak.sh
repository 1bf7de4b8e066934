#!/bin/sh
# A rule pack cannot exfiltrate sealed data (issue 15, point 1).  Rules see
# the least they need: the case view holds codes, numbers, dates of steps,
# the child's age and the location's district - no names, date of birth or
# free text - unless pack.yaml declares a form field.  What a rule returns
# is codes pack.yaml declares, so no rule can write a place into the
# record.  A rule error is shown in full only to a user whose scope holds
# the case; a manager or an administrator sees the hook's file and its
# kind (no line: test_harden_rules.sh).
. "$(dirname "$0")/lib.sh"

init_db
# A child whose every identifying field holds a canary.
run --now "$T0" register child.name=Canaryname child.dob=2014-07-19 child.sex=female \
    family.1.relationship=mother family.1.name=Canarymum family.1.lives_with_child=true \
    source=school concerns=neglect consent.registration=caregiver \
    "location=Canarytown/Canarystreet 7" form.story=Canaryform
expect_rc 0 "register the canary child"
REF=$(head -1 "$OUT" | cut -d' ' -f1)
run --now 2026-11-29T09:00:00Z assess "$REF" kind=initial safety=ok needs.1=Canaryneed \
    risks.1=Canaryrisk summary=Canarynote
expect_rc 0 "initial assessment"
run --now 2026-12-01T09:00:00Z assess "$REF" kind=comprehensive safety=ok \
    elements.childs_views=Canaryviews elements.family_relationships=b \
    elements.safe_environment=c elements.development_identity=d \
    elements.strengths_resources=e strengths.1=Canarystrength
expect_rc 0 "comprehensive assessment"
run --now 2026-12-02T09:00:00Z plan "$REF" goal="Within six months Canarygoal is safe" \
    indicators.1=attendance target_date=2027-06-01 addresses.1=school \
    actions.1.title=Canaryaction actions.1.responsible=caseworker \
    actions.1.type=direct_support actions.1.due=2027-01-01
expect_rc 0 "plan"

CANARIES="Canaryname Canarymum 2014-07-19 Canarystreet Canaryform Canaryneed Canaryrisk Canarynote Canaryviews Canarystrength Canarygoal Canaryaction"

# ---- the issue's risk.lua, run through rules diff -------------------------------
rm -rf leak; cp -r "$SRC/rules/default" leak
cat > leak/risk.lua <<'LUA'
-- Leaks what it can see in its error: the issue's line, then the whole view.
local function dump(v, depth)
  if type(v) ~= "table" or depth > 6 then return tostring(v) end
  local out = {}
  for k, x in pairs(v) do out[#out + 1] = tostring(k) .. "=" .. dump(x, depth + 1) end
  table.sort(out)
  return "{" .. table.concat(out, ",") .. "}"
end
return function(case, ctx)
  error(tostring(case.location) .. "|" .. tostring(case.child.dob) .. "|" .. dump(case, 0), 0)
end
LUA
for who in mona admin; do
    run --as "$who" --now 2026-12-03T09:00:00Z rules diff leak --hooks risk
    expect_rc 65 "$who: the leaking pack errs"
    expect_out "^rule error: $REF risk \\(new pack\\): risk.lua: runtime error$" \
        "$who: the error is the hook's file and its kind"
    cat "$OUT" "$ERR" > seen
    for c in Canarytown $CANARIES '|'; do no_text "$c" seen "$who: rules diff output"; done
    run --as "$who" --now 2026-12-03T09:00:00Z rules diff leak --hooks risk --json
    cat "$OUT" "$ERR" > seen
    for c in Canarytown $CANARIES; do no_text "$c" seen "$who: rules diff --json output"; done
done
[ "$(sql "SELECT count(*) FROM events WHERE kind = 'rules_diffed'")" = 4 ] && pass ||
    failt "every manager's and administrator's diff is audited: $(sql "SELECT count(*) FROM events WHERE kind = 'rules_diffed'")"
[ "$(sql "SELECT json_extract(data, '\$.by_role') FROM events WHERE kind = 'rules_diffed' LIMIT 1")" = manager ] &&
    pass || failt "the audited diff names the role"
for c in Canarytown $CANARIES; do
    [ "$(sql "SELECT count(*) FROM events WHERE kind = 'rules_diffed' AND data LIKE '%$c%'")" = 0 ] &&
        pass || failt "the rules_diffed event holds $c"
done

# The caseworker whose case it is sees the message in full - and even so,
# the view it quotes holds no name, date of birth or free text.
run --as amal --now 2026-12-03T09:00:00Z rules diff leak --hooks risk
expect_rc 65 "amal: the leaking pack errs"
expect_out "risk \\(new pack\\): Canarytown\\|nil\\|\\{" "amal sees the message: the district, no date of birth"
expect_out "age=12" "the view carries the child's age"
expect_out "needs=1" "an assessment's needs are a count"
for c in $CANARIES; do no_text "$c" "$OUT" "the case view a rule sees"; done
[ "$(sql "SELECT count(*) FROM events WHERE kind = 'rules_diffed'")" = 4 ] && pass ||
    failt "a caseworker's diff of their own cases is not an audit event"

# ---- a registration.lua that writes the location into its reasons ----------------
rm -rf reasons; cp -r "$SRC/rules/default" reasons
rm -f reasons/tests/registration_test.lua
cat > reasons/registration.lua <<'LUA'
return function(case, ctx)
  return { eligible = true, urgency = "normal", reasons = { case.location } }
end
LUA
run rules check reasons
expect_rc 65 "rules check refuses reasons that are not declared codes"
expect_out "reasons/registration.lua:[0-9]+: registration result: 'reasons'\\[1\\] must be a code" \
    "rules check names the hook, the file and the field"
no_text "Riverside" "$OUT" "rules check echoes no sample location"
BEFORE=$(sql "SELECT hash FROM rule_packs ORDER BY id DESC LIMIT 1")
run --as admin rules reload reasons
expect_rc 65 "rules reload refuses the pack"
expect_err "rules reload: .*registration.lua.*must be a code" "rules reload says why"
[ "$(sql "SELECT hash FROM rule_packs ORDER BY id DESC LIMIT 1")" = "$BEFORE" ] && pass ||
    failt "the refused pack went into force"
run --db reasons.db --as admin init --agency CP --workflow "$SRC/workflows/iasc.yaml" --rules reasons
expect_rc 65 "init --rules refuses the pack"
[ ! -e reasons.db ] && pass || failt "a refused init left a database"

# At run time: a pack that writes the location only for a child of 9 passes
# its check (no sample child is 9) and goes into force; registering a
# 9-year-old is then refused, naming the hook and file, storing nothing.
rm -rf late; cp -r "$SRC/rules/default" late
rm -f late/tests/registration_test.lua
cat > late/registration.lua <<'LUA'
return function(case, ctx)
  local reasons = {}
  if case.child and case.child.age == 9 then reasons = { case.location } end
  return { eligible = true, urgency = "normal", reasons = reasons }
end
LUA
run --db late.db --as admin --now "$T0" init --simulated --agency CP --workflow "$SRC/workflows/iasc.yaml" --rules late
expect_rc 0 "the late-leaking pack passes its check"
add_users late.db
for loc in "Canarytown/Canarystreet 7" "canaryville/canarystreet"; do
    run --db late.db --now "$T0" register child.name=Canaryname child.age=9 child.sex=female \
        source=school concerns=neglect consent.registration=caregiver "location=$loc"
    expect_rc 65 "a location in the reasons is refused at run time ($loc)"
    expect_err "register: .*late/registration.lua:[0-9]+: registration result: 'reasons'\\[1\\]" \
        "the refusal names the hook, the file and the field"
    no_text "anary" "$ERR" "the refusal echoes no location"
done
run --db late.db --now "$T0" register child.name=Canaryname child.age=10 child.sex=female \
    source=school concerns=neglect consent.registration=caregiver "location=Canarytown/Canarystreet 7"
expect_rc 0 "a child the rule does not leak for registers"
[ "$(sqlite3 late.db "SELECT count(*) FROM events WHERE decision LIKE '%anary%'")" = 0 ] && pass ||
    failt "events.decision holds the location: $(sqlite3 late.db "SELECT decision FROM events WHERE decision LIKE '%anary%'")"
run --db late.db --as mona export --format json --pseudonymous
expect_rc 0 "the pseudonymous export"
no_text "Canarystreet" "$OUT" "the pseudonymous export"
no_text "canaryville" "$OUT" "the pseudonymous export"

# ---- a declared form field ------------------------------------------------------------
rm -rf fields; cp -r "$SRC/rules/default" fields
rm -f fields/tests/registration_test.lua
sed -i 's/^    transition_plan: boolean.*/&\n    danger: number\n    shelter: code/' fields/pack.yaml
cat > fields/registration.lua <<'LUA'
return function(case, ctx)
  local f = case.form
  local urgent = (f.danger or 0) >= 5 and f.shelter == "none"
  return { eligible = true, urgency = urgent and "immediate" or "normal",
           reasons = urgent and { "child_under_5" } or {} }
end
LUA
run rules check fields
expect_rc 0 "a pack with declared fields checks"
expect_out "fields: reads the minimised case view .* the form fields transition_plan \\(boolean\\), danger \\(number\\), shelter \\(code\\)" \
    "rules check shows what the pack reads"
run --db fields.db --as admin --now "$T0" init --simulated --agency CP --workflow "$SRC/workflows/iasc.yaml" --rules fields
expect_rc 0 "init with the fields pack"; add_users fields.db
run --db fields.db --now "$T0" --json register child.name=Ana child.age=9 child.sex=female source=school \
    concerns=neglect consent.registration=caregiver location=Town form.danger=7 form.shelter=none
expect_rc 0 "register with declared fields"
[ "$(json_get "$OUT" '$.urgency')" = immediate ] && pass || failt "the declared fields decided: $(cat "$OUT")"
run --db fields.db --now "$T0" --json register child.name=Bo child.age=9 child.sex=male source=school \
    concerns=neglect consent.registration=caregiver location=Town form.danger=7 "form.shelter=Canary Street"
expect_rc 0 "register with a code field holding free text"
[ "$(json_get "$OUT" '$.urgency')" = normal ] && pass || failt "a code field holding free text is not shown"
# undeclared: the same rule without the declaration sees nothing
sed -i '/^    danger: number/d' fields/pack.yaml
run --db nofield.db --as admin --now "$T0" init --simulated --agency CP --workflow "$SRC/workflows/iasc.yaml" --rules fields
add_users nofield.db
run --db nofield.db --now "$T0" --json register child.name=Ana child.age=9 child.sex=female source=school \
    concerns=neglect consent.registration=caregiver location=Town form.danger=7 form.shelter=none
[ "$(json_get "$OUT" '$.urgency')" = normal ] && pass || failt "an undeclared field reached the rule"

# ---- the wording of a code --------------------------------------------------------------
# The stored decision keeps codes; explain shows each with the wording of
# the pack in force.
run explain "$REF"
expect_out "reasons: neglect \(Neglect\)" "explain shows the codes' wording"
[ "$(sql "SELECT json_extract(decision, '\$[0].result.reasons[0]') FROM events WHERE kind = 'registered'")" = neglect ] &&
    pass || failt "the stored decision keeps the code"
finish
