#!/bin/sh
# The canary sweep (issue 15): one child whose every identifying field and
# every narrative holds a canary, then every command as every role - case
# file, history, explain, search, list, due, report, exports, audit log,
# rules diff with a pack that tries to leak, error messages, the REPL's
# history file, the events table - and no canary appears where that role may
# not see it.  The caseworker who holds the case is the positive control:
# the canaries are there to be found when the role may see them.
. "$(dirname "$0")/lib.sh"

init_db
# A second team: tariq supervises yusuf; neither may see amal's child.
for u in "tariq --role supervisor" "yusuf --role caseworker --supervisor tariq"; do
    # shellcheck disable=SC2086
    run --as admin user add $u; expect_rc 0 "user add $u"
done

CN=Zqxcanaryname        # the child's name
CF=Zqxcanarymother      # a family member's name
CL=Zqxcanaryloc         # the part of the location after the first
CD=2014-03-17           # the date of birth
CFORM=Zqxcanaryform     # free text in the agency form
CNOTE=Zqxcanarynote
CNEED=Zqxcanaryneeds
CRISK=Zqxcanaryrisks
CGOAL=Zqxcanarygoal
CPROV=Zqxcanaryprovider
CFU=Zqxcanaryfollowup
ALL="$CN $CF $CL $CD $CFORM $CNOTE $CNEED $CRISK $CGOAL $CPROV $CFU"

run --now "$T0" register "child.name=$CN Amina" child.dob=$CD child.sex=female \
    source=school concerns=emotional_distress,school_decline \
    consent.registration=caregiver consent.information_sharing=caregiver \
    "location=Kasba, $CL lane 5" "form.referral_note=$CFORM said" \
    family.1.relationship=mother "family.1.name=$CF" family.1.lives_with_child=yes
expect_rc 0 "register the canary child"
REF=$(cat "$OUT")
run --now 2026-11-28T10:00:00Z assess "$REF" kind=initial safety=concern \
    "needs=$CNEED support" "risks=$CRISK dropout"
expect_rc 0 "initial assessment with canaries"
run --now 2026-11-28T11:00:00Z note "$REF" "text=$CNOTE called"
expect_rc 0 "note with a canary"
run --now 2026-11-28T12:00:00Z followup "$REF" method=home_visit_scheduled safety=concern \
    "notes=$CFU worse"
[ "$RC" -eq 0 ] || [ "$RC" -eq 65 ] && pass || failt "followup: exit $RC"

# the record changed later: a new location and form text, a family member
CU=Zqxcanaryupdate
ALL="$ALL $CU"
run --now 2026-11-28T13:00:00Z update "$REF" "location=Kasba, $CU road" \
    "form.referral_note=$CU again" family.2.relationship=sibling "family.2.name=$CU Sami"
expect_rc 0 "update with canaries"

# ---- the positive control: amal, who holds the case, sees the canaries -----
run show "$REF"
expect_rc 0 "amal show"
for c in "$CN" "$CF" "$CD" "$CNOTE" "$CNEED" "$CU"; do
    grep -q -- "$c" "$OUT" && pass || failt "amal's case file lacks canary $c"
done
run search "$CN"
expect_out "$REF" "amal finds the child by name"

# sweep FILE... WHAT: no canary in any of the files.
sweep() {
    what=$1; shift
    for f in "$@"; do
        for c in $ALL; do no_text "$c" "$f" "$what ($f)"; done
    done
}
# sweep_run WHAT ARGS...: runs haven, sweeps its stdout and stderr.
sweep_run() {
    what=$1; shift
    run "$@"
    sweep "$what" "$OUT" "$ERR"
}

# ---- outsiders: another team's caseworker and supervisor -------------------
for u in bilal yusuf tariq; do
    for cmd in show history explain; do
        sweep_run "$u $cmd" --as $u $cmd "$REF"
        expect_rc 69 "$u $cmd is not found"
    done
    sweep_run "$u search" --as $u search "$CN"
    sweep_run "$u list" --as $u list
    sweep_run "$u due" --as $u due
    sweep_run "$u note" --as $u note "$REF" "text=$CNOTE probing"
    sweep_run "$u report" --as $u report
    sweep_run "$u export" --as $u export --format json --out "$WORK/x-$u.json"
    [ -f "$WORK/x-$u.json" ] && sweep "$u export file" "$WORK/x-$u.json"
done
# bilal registers the same child: the duplicate warning names references only.
sweep_run "duplicate warning" --as bilal --now "$T0" register "child.name=$CN Amina" \
    child.age=12 child.sex=female source=school concerns=emotional_distress \
    consent.registration=caregiver "location=Kasba, $CU road"
expect_rc 65 "bilal's duplicate is refused"
# bad input echoes no value
sweep_run "bad code" --now "$T0" register "child.name=$CN" child.age=12 \
    "child.sex=$CL" source=school concerns=emotional_distress \
    consent.registration=caregiver location=Kasba
expect_rc 65 "a bad sex code is refused"

# ---- the manager and the administrator: no case content ----------------------
for u in mona admin; do
    sweep_run "$u list" --as $u list
    sweep_run "$u due" --as $u due --agency
    sweep_run "$u report" --as $u report
    sweep_run "$u audit log" --as $u audit log
    sweep_run "$u show" --as $u show "$REF"
    sweep_run "$u search" --as $u search "$CN"
done
sweep_run "mona pseudonymous export" --as mona export --format json --pseudonymous \
    --out "$WORK/pseudo.json"
expect_rc 0 "mona's pseudonymous export"
sweep "pseudonymous export file" "$WORK/pseudo.json"
sweep_run "mona pseudonymous csv" --as mona export --format csv --pseudonymous \
    --out "$WORK/pseudo-csv"
sweep "pseudonymous csv" "$WORK"/pseudo-csv/*.csv
sweep_run "sara audit log" --as sara audit log

# ---- a rule pack that tries to leak everything it is handed ------------------
mkdir -p "$WORK/leak"
cp "$SRC"/rules/default/*.lua "$SRC"/rules/default/pack.yaml "$WORK/leak/"
cat >"$WORK/leak/risk.lua" <<'EOF'
local function dump(t, seen)
  if type(t) ~= "table" then return tostring(t) end
  local parts = {}
  for k, v in pairs(t) do parts[#parts + 1] = tostring(k) .. "=" .. dump(v) end
  return "{" .. table.concat(parts, ",") .. "}"
end
return function(case, ctx)
  error(dump(case) .. "|" .. tostring(case.location) .. "|" .. tostring(case.child and case.child.dob), 0)
end
EOF
for u in mona admin sara amal; do
    sweep_run "$u rules diff with a leaking pack" --as $u rules diff "$WORK/leak" --hooks risk
done
run --as admin rules check "$WORK/leak"
sweep "rules check of the leaking pack" "$OUT" "$ERR"
HAVEN_RULES_LOG=1 sweep_run "rules log" --now 2026-11-29T09:00:00Z note "$REF" text=plain

# ---- the permanent record: events, checkpoints, the audit log ---------------
sqlite3 "$HAVEN_DB" "SELECT * FROM events" >"$WORK/events.txt"
sweep "events table" "$WORK/events.txt"
sweep "the checkpoints file" "$DB_CHECKPOINTS"
sweep_run "admin audit log as JSON" --as admin --json audit log
sweep_run "audit verify --deep" --as admin audit verify --deep
grep -q registered "$WORK/events.txt" && pass || failt "events table dump is empty"

# ---- the REPL's history file -------------------------------------------------
export HOME="$WORK/home"
mkdir -p "$HOME"
printf 'show "%s"\nnote("%s", "%s")\nx = 1 -- %s lives at %s\nlist\n.quit\n' \
    "$REF" "$REF" "$CNOTE" "$CN" "$CL" >"$WORK/repl.in"
script -qec "$HAVEN repl" /dev/null <"$WORK/repl.in" >"$WORK/repl.out" 2>&1
if [ -f "$HOME/.haven_history" ]; then
    sweep "REPL history file" "$HOME/.haven_history"
    grep -q '^list' "$HOME/.haven_history" && pass ||
        failt "the history file lacks the plain 'list' line"
else
    failt "the REPL wrote no history file"
fi

finish
