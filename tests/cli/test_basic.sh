#!/bin/sh
# The first tour: init, register, show, --json, list, search, note, history.
. "$(dirname "$0")/lib.sh"

run --version; expect_rc 0 "--version"; expect_out '^haven [0-9]+\.[0-9]+' "--version"
run --help; expect_rc 0 "--help"; expect_out 'register' "--help lists commands"
run register --help; expect_rc 0 "register --help"; expect_out 'child.name' "register --help"
run; expect_rc 64 "no command"

init_db
[ "$(sql 'PRAGMA user_version')" -ge 2 ] && pass || failt "schema version"
# (a file's journal; a PostgreSQL store has PostgreSQL's WAL)
[ -n "${HAVEN_TEST_PG:-}" ] || { [ "$(sql 'PRAGMA journal_mode')" = wal ] && pass || failt "WAL"; }
[ "$(sql "SELECT role FROM users WHERE login='admin'")" = administrator ] && pass || failt "init admin"
[ "$(sql "SELECT role FROM users WHERE login='amal'")" = caseworker ] && pass || failt "amal is a caseworker"

register_noor family.1.relationship=mother family.1.name=Amal \
    family.1.lives_with_child=yes family.2.relationship=sibling family.2.age=8
expect_rc 0 "register Noor"
expect_out '^CP-2026-00001$' "register prints the reference"
REF=$(cat "$OUT")
[ "$(sql "SELECT count(*) FROM persons WHERE case_id=(SELECT id FROM cases WHERE ref='$REF')")" = 3 ] \
    && pass || failt "child and two family members"
[ "$(sql "SELECT due_at - registered_at FROM tasks JOIN cases ON cases.id=tasks.case_id WHERE kind='initial_assessment'")" = 172800 ] \
    && pass || failt "initial assessment due 48h after registration"

run --now 2026-11-29T09:00:00Z show "$REF"
expect_rc 0 "show"
expect_out "^Case $REF" "show heading"
expect_out 'Name: +Noor' "show child name"
expect_out 'mother: Amal' "show family"
expect_out 'emotional_distress, school_decline' "show concerns"
expect_out 'registration: given by caregiver' "show consent"
expect_out 'Initial assessment, due 2026-11-30T09:00:00Z' "show task"
expect_out 'registered' "show history"

run --now 2026-12-01T09:00:00Z show "$REF"
expect_out 'OVERDUE' "an initial assessment past 48h is overdue"

run --json show "$REF"
expect_rc 0 "--json show"
cp "$OUT" show.json
[ "$(json_ok show.json)" = 1 ] && pass || failt "--json show is valid JSON"
[ "$(json_get show.json '$.ref')" = "$REF" ] && pass || failt "json ref"
[ "$(json_get show.json '$.child.age')" = 12 ] && pass || failt "json child.age"
[ "$(json_get show.json '$.stage.id')" = initial_assessment ] && pass || failt "json stage"
[ "$(json_get show.json '$.family[1].age')" = 8 ] && pass || failt "json family"
[ "$(json_get show.json '$.tasks[0].kind')" = initial_assessment ] && pass || failt "json task"

# --json-in, from a file and from stdin.
cat > omar.json <<'JSON'
{"source": "police", "location": "Hilltop", "concerns": ["physical_abuse"],
 "child": {"name": "Omar", "dob": "2016-05-02", "sex": "male"},
 "consent": {"registration": "both", "information_sharing": "caregiver"}}
JSON
run --now "$T0" --as bilal register --json-in omar.json
expect_rc 0 "register --json-in FILE"; expect_out '^CP-2026-00002$' "second reference"
sed 's/Omar/Yusuf/; s/Hilltop/Lakeside/' omar.json | "$HAVEN" --now "$T0" --json register --json-in - >reg.json 2>"$WORK/err"
RC=$?; expect_rc 0 "register --json-in -"
[ "$(json_get reg.json '$.ref')" = CP-2026-00003 ] && pass || failt "--json register"

run list; expect_rc 0 "list"; expect_out 'CP-2026-00003' "list shows cases"
run --as sara list --source police; expect_rc 0 "list --source (sara supervises both)"
[ "$(grep -c CP-2026 "$OUT")" = 2 ] && pass || failt "list --source police: 2 cases"
run --json list --concern school_decline
cp "$OUT" list.json
[ "$(json_get list.json '$[0].ref')" = "$REF" ] && pass || failt "list --concern"
run --as sara list --assignee bilal; expect_out 'CP-2026-00002' "list --assignee"
no_text 'CP-2026-00001' "$OUT" "list --assignee excludes others"
run list --stage closed; expect_out 'no cases' "list --stage closed"
no_text 'Noor' "$WORK/out" "list shows no names"

run search Nour; expect_rc 0 "search"; expect_out "$REF.*Noor" "search Nour finds Noor"
run --json search nur; cp "$OUT" s.json
[ "$(json_get s.json '$[0].ref')" = "$REF" ] && pass || failt "search --json"

run note "$REF" "text=Called the school counsellor" --expect-version 1
expect_rc 0 "note"; expect_out 'version 2' "note bumps the version"
run history "$REF"; expect_rc 0 "history"; expect_out 'note [0-9]+ added' "history has the note"
no_text 'counsellor' "$OUT" "events hold no narrative"
# The case file's notes and consents: each field by name, times as ISO 8601.
"$HAVEN" --json show "$REF" >"$WORK/c.json"
[ "$(json_get c.json '$.notes[0].text')" = "Called the school counsellor" ] \
    && pass || failt "show --json: note text"
[ "$(json_get c.json '$.notes[0].by')" = "$HAVEN_USER" ] && pass || failt "show --json: note by"
json_get c.json '$.notes[0].at' | grep -Eq '^20[0-9-]+T[0-9:]+Z$' && pass || failt "show --json: note at"
[ "$(json_get c.json '$.consent[0].scope')" = "registration" ] && pass || failt "show --json: consent scope"
[ "$(json_get c.json '$.consent[0].recorded_by')" = "$HAVEN_USER" ] && pass || failt "show --json: consent recorded_by"
json_get c.json '$.consent[0].given_at' | grep -Eq '^20[0-9-]+T[0-9:]+Z$' && pass || failt "show --json: consent given_at"

# The events never hold names or places.
[ "$(sql "SELECT count(*) FROM events WHERE data LIKE '%Noor%' OR data LIKE '%Riverside%' OR data LIKE '%Omar%'")" = 0 ] \
    && pass || failt "events carry no identifying data"
[ "$(sql 'PRAGMA integrity_check')" = ok ] && pass || failt "integrity"

finish
