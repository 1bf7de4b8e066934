#!/bin/sh
# Agency rules: rules check/test for the shipped packs, broken packs refused
# with FILE:LINE, the same child under two packs, explain, hostile rules
# during registration changing nothing, and reloading.
. "$(dirname "$0")/lib.sh"

for pack in default trafficking survivor; do
    run rules check "$SRC/rules/$pack"; expect_rc 0 "rules check $pack"; expect_out ': ok:' "rules check $pack"
    run rules test "$SRC/rules/$pack"; expect_rc 0 "rules test $pack"
    expect_out '^[1-9][0-9]* passed, 0 failed$' "rules test $pack closing line"
    for hook in registration risk followup closure assessment review; do
        grep -q "^ok   ${hook}_test.lua" "$OUT" && pass || failt "$pack has passing tests for $hook"
    done
done

# A pack assembled from the default pack with one hook replaced.
make_pack() { # NAME HOOKFILE LUA
    rm -rf "$1"; cp -r "$SRC/rules/default" "$1"
    printf '%s\n' "$3" > "$1/$2"
}

make_pack broken registration.lua 'return function(c)
  local x =
  return { eligible = true }
end'
run rules check broken; expect_rc 65 "broken pack"; expect_err "broken/registration.lua:[0-9]+:" "broken pack names file:line"
run rules test broken; expect_rc 65 "rules test on a broken pack"

make_pack shape risk.lua '-- a wrong shape
return function(c)
  return { level = "severe", score = 3, factors = {} }
end'
run rules check shape; expect_rc 65 "wrong shape"
expect_out 'shape/risk.lua:3: risk result:.*level' "wrong shape named with the line of its return"
mkdir -p shape/tests && printf 'test("fails", function() expect(1).to_be(2) end)\n' > shape/tests/extra_test.lua
run rules test shape; expect_rc 65 "a failing pack test"; expect_out 'FAIL extra_test.lua: fails' "failing test line"
expect_out '[0-9]+ passed, [1-9][0-9]* failed' "failing closing line"

# The same child under the default and the survivor pack.
# Noor's mother consents and Noor assents (the survivor pack wants both
# under 15: "Informed consent", "Involving parents / caregivers", seed 004).
NOOR="child.name=Noor child.age=12 child.sex=female source=school concerns=emotional_distress,school_decline consent.registration=both location=Riverside"
for pack in default survivor; do
    run --db "$pack.db" --as admin --now "$T0" init --simulated --agency CP --workflow "$SRC/workflows/iasc.yaml" --rules "$SRC/rules/$pack"
    expect_rc 0 "init with $pack"; add_users "$pack.db"
    # shellcheck disable=SC2086
    run --db "$pack.db" --now "$T0" --json register $NOOR
    expect_rc 0 "register under $pack"; cp "$OUT" "$pack.json"
done
[ "$(json_get default.json '$.urgency')" = normal ] && pass || failt "default: normal urgency"
[ "$(json_get survivor.json '$.urgency')" = immediate ] && pass || failt "survivor: immediate urgency"
due() { sqlite3 "$1" "SELECT due_at - created_at FROM tasks WHERE kind='initial_assessment'"; }
[ "$(due default.db)" = 172800 ] && pass || failt "default: initial assessment within 48 hours ($(due default.db))"
[ "$(due survivor.db)" = 86400 ] && pass || failt "survivor: initial assessment within 24 hours ($(due survivor.db))"
run --db survivor.db explain CP-2026-00001; expect_rc 0 "explain"
expect_out 'registration.lua, pack survivor 1\.1\.0 \(sha256 [0-9a-f]{12}\)' "explain names hook, pack, version, hash"
expect_out 'mandatory_reporting' "explain shows the reasons"
expect_out 'assessment.lua' "explain shows the assessment decision"
run --db survivor.db --json explain CP-2026-00001; cp "$OUT" explain.json
[ "$(json_get explain.json '$[0].decisions[0].pack')" = survivor ] && pass || failt "--json explain"
[ "$(json_get explain.json '$[0].decisions[0].hash')" = "$(sqlite3 survivor.db 'SELECT hash FROM rule_packs')" ] && pass || failt "explain hash is the stored pack's"

# Not eligible under the trafficking pack: recorded, not registered, no tasks.
run --db traf.db --as admin --now "$T0" init --simulated --agency CP --workflow "$SRC/workflows/iasc.yaml" --rules "$SRC/rules/trafficking"
add_users traf.db
# shellcheck disable=SC2086
run --db traf.db --now "$T0" register $NOOR; expect_rc 0 "register under trafficking"
expect_out 'not registered' "not eligible is said"
[ "$(sqlite3 traf.db "SELECT status || ' ' || stage FROM cases")" = "not_registered not_eligible" ] && pass || failt "not eligible recorded"
[ "$(sqlite3 traf.db 'SELECT count(*) FROM tasks')" = 0 ] && pass || failt "no tasks for a child not registered"

# Hostile rules during registration: exit 65 naming the file, nothing written.
hostile() { # NAME LUA WANT
    make_pack "$1" registration.lua "$2"
    # Its own registration.lua, so not the shipped pack's registration
    # tests (a pack goes into force only if its tests pass).
    rm -f "$1/tests/registration_test.lua"
    # it reads the form field attack: declared in pack.yaml
    sed -i 's/^    transition_plan: boolean.*/&\n    attack: code/' "$1/pack.yaml"
    rm -f "$1.db"
    run --db "$1.db" --as admin --now "$T0" init --simulated --agency CP --workflow "$SRC/workflows/iasc.yaml" --rules "$1"
    expect_rc 0 "init with $1 (the hostile branch is off by default)"; add_users "$1.db"
    BEFORE=$(sqlite3 "$1.db" .dump | sha256sum)
    # shellcheck disable=SC2086
    run --db "$1.db" --now "$T0" register $NOOR form.attack=yes
    expect_rc 65 "$1 rule"; expect_err "$1/registration.lua:[0-9]+: .*$3" "$1 rule message"
    [ "$(sqlite3 "$1.db" .dump | sha256sum)" = "$BEFORE" ] && pass || failt "$1: database changed"
    # shellcheck disable=SC2086
    run --db "$1.db" --now "$T0" register $NOOR; expect_rc 0 "after $1, the next registration works"
}
OK='return { eligible = true, urgency = "normal", reasons = {} }'
hostile looping "return function(c) if c.form.attack then while true do end end $OK end" "instruction budget"
hostile erring "return function(c) if c.form.attack then error('no such field') end $OK end" "no such field"
hostile shaped "return function(c) if c.form.attack then return { eligible = 'yes' } end $OK end" "registration result"

# Reloading: a new version comes into force; a broken one leaves it.
make_pack live registration.lua "$(cat "$SRC/rules/default/registration.lua")"
run --db live.db --as admin init --simulated --agency CP --workflow "$SRC/workflows/iasc.yaml" --rules live
add_users live.db
run --db live.db --as bilal rules reload; expect_rc 77 "a caseworker cannot change the rule pack"
run --db live.db --as admin rules reload; expect_rc 0 "reload unchanged"; expect_out 'unchanged' "reload unchanged"
sed -i 's/^version: .*/version: "1.2.0"/' live/pack.yaml
run --db live.db --as admin rules reload; expect_rc 0 "reload a new version"; expect_out 'default 1\.2\.0' "new version in force"
[ "$(sqlite3 live.db "SELECT count(*) FROM events WHERE kind='rules_loaded'")" = 1 ] && pass || failt "reload recorded"
printf 'return function(c) return {\n' > live/risk.lua
BEFORE=$(sqlite3 live.db .dump | sha256sum)
run --db live.db --as admin rules reload; expect_rc 65 "reload a broken pack"
expect_err 'live/risk.lua:[0-9]+:.*still default 1\.2\.0' "broken reload keeps the pack in force"
[ "$(sqlite3 live.db .dump | sha256sum)" = "$BEFORE" ] && pass || failt "broken reload changed the database"
# shellcheck disable=SC2086
run --db live.db --now "$T0" register $NOOR; expect_rc 0 "register after a failed reload"
run --db live.db explain CP-2026-00001; expect_out 'pack default 1\.2\.0' "the pack in force decided"

# init refuses a pack that does not load, and creates nothing.
run --db bad.db init --agency CP --workflow "$SRC/workflows/iasc.yaml" --rules broken
expect_rc 65 "init with a broken pack"; [ ! -e bad.db ] && pass || failt "init with a broken pack left a file"
run --db bad.db init --agency CP --workflow "$SRC/workflows/iasc.yaml" --rules nowhere
expect_rc 66 "init with a missing pack"
finish
