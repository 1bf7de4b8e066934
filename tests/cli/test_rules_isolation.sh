#!/bin/sh
# test_rules_isolation.sh - `rules diff` and `rules apply` show each hook
# call its own fresh tables (issue 21: the case view is plain Lua tables
# instead of read-only proxies), so what a rule writes into what it is
# given never reaches another case's evaluation.  The "scribbler" pack
# scores exactly as the pack in force, then writes into everything it was
# given: the root, the concerns, the child, the (empty) follow-up and
# assessment lists, an assessment row, its own chunk-level table.  Before
# it scores it looks for what an earlier call would have left there; if it
# finds any, it adds 100 to the score.  So the diff of the scribbler
# against the pack in force changes no case, with no rule error.
. "$(dirname "$0")/lib.sh"
init_db
reg() { # NAME AGE CONCERNS
    run --as amal --now "$T0" register child.name="$1" child.age="$2" child.sex=female \
        source=school concerns="$3" consent.registration=caregiver location=Town
    [ "$RC" -eq 0 ] || { failt "register $1: $(cat "$ERR")"; return; }
    REF=$(head -1 "$OUT" | cut -d' ' -f1)
}
reg Aya 9 child_labour;                A1=$REF
reg Bea 3 neglect,school_decline;      A2=$REF
reg Cem 10 emotional_distress;         A3=$REF
reg Dia 15 trafficking;                A4=$REF
run --as amal --now 2026-11-29T09:00:00Z assess "$A1" kind=initial safety=concern
expect_rc 0 "an assessment (a row to scribble on)"
run --as amal --now 2026-11-29T09:00:00Z assess "$A3" kind=initial safety=ok
expect_rc 0 "another"
NOW=2026-12-05T09:00:00Z

rm -rf scribbler; cp -r "$SRC/rules/default" scribbler
rm -rf scribbler/tests
# the pack's own scoring, renamed; the hook wraps it
sed 's/^return function(case, ctx)$/local function score_of(case, ctx)/' \
    "$SRC/rules/default/risk.lua" > scribbler/risk.lua
grep -q '^local function score_of' scribbler/risk.lua && pass || failt "risk.lua wrapped"
cat >> scribbler/risk.lua <<'LUA'

return function(case, ctx)
  -- anything an earlier call left behind?
  local left = case.scribbled or case.concerns.scribbled
    or (case.child and case.child.scribbled) or case.followups.scribbled
    or case.assessments.scribbled or #case.followups > 0
    or (case.assessments[1] and case.assessments[1].scribbled)
    or WEIGHTS.scribbled
  local r = score_of(case, ctx)
  -- now write into everything it was given
  case.scribbled = true
  case.concerns.scribbled = true
  case.concerns[#case.concerns + 1] = "sexual_abuse"
  if case.child then case.child.scribbled = true; case.child.age = 1 end
  case.followups.scribbled = true
  case.followups[1] = { safety = "urgent", at = 0 }
  case.assessments.scribbled = true
  if case.assessments[1] then
    case.assessments[1].scribbled = true
    case.assessments[1].safety = "urgent"
  end
  WEIGHTS.scribbled = true
  WEIGHTS.child_labour = 100
  if left then r.score = r.score + 100; r.level = "critical" end
  return r
end
LUA

run --as sara --now $NOW rules diff scribbler --hooks risk --json
expect_rc 0 "diff of the scribbler"
[ "$(json_get "$OUT" '$.cases_evaluated')" = 4 ] && pass || failt "four cases evaluated: $(head -c 300 "$OUT")"
[ "$(json_get "$OUT" '$.errors_total')" = 0 ] && pass ||
    failt "no rule error (writing into its own tables is allowed): $(head -c 400 "$OUT")"
[ "$(json_get "$OUT" '$.cases_changed')" = 0 ] && pass ||
    failt "no case changed (nothing leaked between calls): $(head -c 600 "$OUT")"

# Applying it is refused: apply first runs the pack's checks through the
# step path, whose view stays read-only, so a pack that writes into its
# view never comes into force.
run --as admin --now $NOW rules apply scribbler
expect_rc 65 "apply refuses the scribbler"
expect_err "read-only" "because it writes into its view"

# A hook that reads a field by a computed key (its source does not name
# it) still gets it: built when reached.
mkdir -p computed; cp -r "$SRC/rules/default/." computed/; rm -rf computed/tests
cat > computed/risk.lua <<'LUA'
return function(case, ctx)
  local n = 0
  for _ in pairs(case[string.char(99, 111, 110, 99, 101, 114, 110, 115)]) do n = n + 1 end
  local keys = 0
  for k in pairs(case) do keys = keys + 1 end
  return { level = "low", score = n * 100 + keys, factors = {} }
end
LUA
run --as sara --now $NOW rules diff computed --hooks risk --json
expect_rc 0 "diff of the computed-key pack"
[ "$(json_get "$OUT" '$.errors_total')" = 0 ] && pass || failt "computed key: $(json_get "$OUT" "\$.errors[0].message")"
# Bea has two concerns; pairs() sees every field the case has
got=$(sqlite3 :memory: "SELECT json_extract(value, '\$.risk.new.score') FROM
      json_each(json_extract(readfile('$OUT'), '\$.changed')) WHERE
      json_extract(value, '\$.ref') = '$A2'")
case "$got" in 2[0-9][0-9]) pass ;; *) failt "Bea's computed score: '$got'" ;; esac
finish
