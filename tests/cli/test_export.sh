#!/bin/sh
# haven export and haven import: a small caseload walked through the
# lifecycle, exported as CSV and JSON; the headers say what and for whom;
# the consent gate, the supervisor's override (audited), scope; a
# pseudonymous export free of canary names and places; a JSON export
# imported into a fresh database gives the same case files and a verifying
# audit chain; CSV import all-or-nothing with a report, --skip-bad;
# malformed and missing files.
. "$(dirname "$0")/lib.sh"

step() { what=$1; shift; run "$@"; expect_rc 0 "$what"; }
N="--now 2026-12-01T09:00:00Z"
init_db

# ---- a small caseload, with canary values in every identifying field -------
run --now "$T0" register child.name="Zorblaxia Quenterwick" child.dob=2014-05-02 \
    child.sex=female location="Ostrava District/Vrbkov Ward/Kvetnice Hamlet" \
    source=school concerns=emotional_distress consent.registration=caregiver \
    consent.export=caregiver family.1.relationship=mother \
    family.1.name="Plughina Quenterwick" family.1.lives_with_child=yes \
    form.referral_note="Canaryformtext"
expect_rc 0 "register A"; A=$(head -1 "$OUT")
run --now "$T0" register child.name="Wibblethorp Snagglewit" child.age=3 \
    child.sex=male location="Yzzerbrook Village" source=community \
    concerns=neglect consent.registration=caregiver
expect_rc 0 "register B"; B=$(head -1 "$OUT")
run --as bilal --now "$T0" register child.name="Bilalcase Krumpet" child.age=16 \
    child.sex=male location="Ostrava District, Hlubina" source=police \
    concerns=neglect consent.registration=caregiver consent.export=both
expect_rc 0 "register C (bilal's)"; C=$(head -1 "$OUT")

# brackets, braces, quotes and a backslash inside a text: the JSON import
# reads an export a value at a time, and must not end a case inside a string
step "note A" --now 2026-11-28T10:00:00Z note "$A" text='Canarynote Frumious visited [kitchen] {door} "back" \ }] end'
step "assess A" --now 2026-11-29T10:00:00Z assess "$A" kind=initial safety=ok \
    needs.1=psychosocial_support summary="Canarysummary Bandersnatch"
step "BIA A" --now 2026-11-30T10:00:00Z assess "$A" kind=comprehensive safety=ok \
    elements.childs_views=Canaryviews elements.family_relationships=close \
    elements.safe_environment=safe elements.development_identity=ok \
    elements.strengths_resources=school needs.1=psychosocial_support risks.1=dropout
step "plan A" --now 2026-11-30T11:00:00Z plan "$A" goal="Canarygoal Jabberwock thrives" \
    indicators.1=grades target_date=2027-06-01 addresses.1=psychosocial_support \
    actions.1.title="Canaryaction sessions" actions.1.responsible=caseworker \
    actions.1.type=direct_support actions.1.due=2027-01-10 \
    actions.2.title="Refer mother" actions.2.responsible=caseworker \
    actions.2.type=referral actions.2.due=2027-01-10
step "approve A" --as sara --now 2026-11-30T12:00:00Z approve "$A" note="agreed"
step "consent A" --now 2026-11-30T13:00:00Z consent "$A" scope=information_sharing given_by=caregiver
step "refer A" --now 2026-11-30T13:00:00Z refer "$A" service=financial \
    provider="Canaryprovider Tumtum" action=2
step "followup A" --now 2026-12-01T08:00:00Z followup "$A" method=home_visit_scheduled \
    safety=ok notes="Canaryfollowup Vorpal"
step "act A" --now 2026-12-01T08:30:00Z act "$A" action=1 status=in_progress
step "initial B" --now 2026-11-28T12:00:00Z assess "$B" kind=initial safety=concern

CANARIES="Zorblaxia Quenterwick Plughina Wibblethorp Snagglewit Vrbkov Kvetnice Yzzerbrook Hlubina Canaryformtext Canarynote Frumious Canarysummary Bandersnatch Canaryviews Canarygoal Jabberwock Canaryaction Canaryprovider Tumtum Canaryfollowup Vorpal Bilalcase 2014-05-02"

# ---- CSV export: a file per table, each saying what and for whom -----------
step "csv export" $N --purpose court_report export --format csv --out csv
for t in cases persons assessments plans actions referrals followups reviews closures; do
    [ -f "csv/$t.csv" ] && pass || failt "csv/$t.csv written"
    [ "$(stat -c %a "csv/$t.csv")" = 600 ] && pass || failt "$t.csv mode 0600"
    grep -q "^# contents: Haven export, $t.csv" "csv/$t.csv" && pass || failt "$t.csv says what it holds"
    grep -q '^# made_for: {"user":"amal","role":"caseworker","purpose":"court_report"}' "csv/$t.csv" \
        && pass || failt "$t.csv says for whom"
    grep -q '^# identifiable: true' "csv/$t.csv" && pass || failt "$t.csv identifiable"
done
ls csv | grep -q tmp && failt "a temporary file left behind" || pass
# the gate: A has export consent, B none (left out and counted), C is bilal's
grep -q "^$A," csv/cases.csv && pass || failt "A exported"
grep -q "^$B," csv/cases.csv && failt "B exported without consent" || pass
grep -q "^$C," csv/cases.csv && failt "C exported: outside amal's scope" || pass
grep -q '^# left_out_without_consent: 1' csv/cases.csv && pass || failt "header counts B left out"
grep -q "Zorblaxia Quenterwick" csv/persons.csv && pass || failt "identifiable: names"
grep -q "Canarygoal" csv/plans.csv && pass || failt "identifiable: goals"
[ "$(grep -c "^$A," csv/followups.csv)" = 1 ] && pass || failt "one follow-up row"
expect_out "exported 1 case \(identifiable\)" "summary"
expect_out "left out 1 case without export consent" "summary says left out"
# audited: one exported event and a viewed event for A, none for B
[ "$(sql "SELECT count(*) FROM events WHERE kind='exported' AND case_id IS NULL")" = 1 ] && pass || failt "export audited"
[ "$(sql "SELECT count(*) FROM events e JOIN cases c ON c.id=e.case_id WHERE kind='viewed' AND json_extract(data,'\$.action')='export' AND c.ref='$A'")" = 1 ] && pass || failt "A's read audited"
[ "$(sql "SELECT count(*) FROM events e JOIN cases c ON c.id=e.case_id WHERE kind='viewed' AND c.ref='$B'")" = 0 ] && pass || failt "B not read"
sql "SELECT data FROM events WHERE kind='exported'" >exported_event
for w in $CANARIES; do no_text "$w" exported_event "export event"; done

# ---- the override: a supervisor's, audited; a caseworker cannot -------------
before=$(fingerprint)
run $N export --format json --override court_order --out o.json
expect_rc 77 "a caseworker cannot override"; expect_err "only a supervisor" "override refusal"
[ "$(fingerprint)" = "$before" ] && pass || failt "refused override changed the database"
[ -e o.json ] && failt "refused export left a file" || pass
step "supervisor override" --as sara $N export --format json --override court_order --out o.json
[ "$(json_get o.json '$.about.consent_overridden')" = 1 ] && pass || failt "B overridden (C has consent)"
[ "$(json_get o.json '$.about.override')" = court_order ] && pass || failt "override in the header"
[ "$(json_get o.json '$.about.made_for.role')" = supervisor ] && pass || failt "made for sara"
grep -q "\"ref\":\"$C\"" o.json && pass || failt "sara's team includes C"
[ "$(sql "SELECT count(*) FROM events e JOIN cases c ON c.id=e.case_id WHERE kind='viewed' AND json_extract(data,'\$.override')='court_order' AND c.ref='$B'")" = 1 ] && pass || failt "override audited on B"
[ "$(sql "SELECT json_extract(data,'\$.override') FROM events WHERE kind='exported' ORDER BY seq DESC LIMIT 1")" = court_order ] && pass || failt "override in the export event"
run --as sara $N export --format json --override "Free text reason" --out x.json
expect_rc 64 "override must be a code"

# ---- roles ---------------------------------------------------------------------
run --as mona $N export --format json --out m.json
expect_rc 77 "a manager exports pseudonymously only"; expect_err "pseudonymously" "manager refusal"
run --as admin $N export --format json --pseudonymous --out m.json
expect_rc 77 "an administrator exports no case data"
step "manager pseudonymous" --as mona $N export --format json --pseudonymous --out m.json
[ "$(json_get m.json '$.about.cases')" = 3 ] && pass || failt "a manager's export has every case"

# ---- pseudonymous: no canaries, but age bands and districts ---------------------
step "pseudonymous csv" --as sara $N export --format csv --pseudonymous --out pcsv
step "pseudonymous json" --as sara $N export --format json --pseudonymous --out p.json
cat pcsv/*.csv p.json >pall
for w in $CANARIES; do no_text "$w" pall "pseudonymous export"; done
grep -q "12-14" pcsv/persons.csv && pass || failt "A's age band"
grep -q "0-4" pcsv/persons.csv && pass || failt "B's age band"
grep -q "15-17" pcsv/persons.csv && pass || failt "C's age band"
grep -q "Ostrava District" pcsv/cases.csv && pass || failt "district kept"
grep -q '^# identifiable: false' pcsv/cases.csv && pass || failt "header says pseudonymous"
[ "$(json_get p.json '$.cases[0].persons[0].age_band')" = 12-14 ] && pass || failt "JSON age band"
[ "$(json_get p.json '$.cases[0].case.location')" = "Ostrava District" ] && pass || failt "JSON district"
# without the data key only pseudonymous exports work
mv "$DB_KEY" keyaside
run $N export --format json --out nokey.json
expect_rc 77 "identifiable export needs the key"
step "pseudonymous without the key" $N export --format json --pseudonymous --out nokey.json
mv keyaside "$DB_KEY"

# --since
step "since" --as sara --now 2026-12-01T09:00:00Z export --format json --pseudonymous --since 2026-11-30T12:30:00Z --out since.json
[ "$(json_get since.json '$.about.cases')" = 1 ] && pass || failt "--since: only A changed since"

# ---- JSON round trip into a fresh database -------------------------------------
step "full export" --as sara $N export --format json --override migration --out all.json
grep -q '"cases": \[' all.json && pass || failt "JSON cases list"
grep -qF '[kitchen] {door} \"back\" \\ }] end' all.json && pass || failt "the note's brackets and quotes in the export"
NEW="$WORK/new.db"
run --db "$NEW" --as admin --now "$T0" init --simulated --agency CP --workflow "$SRC/workflows/iasc.yaml" --rules "$SRC/rules/default"
expect_rc 0 "init the new database"
"$HAVEN" --db "$NEW" --as admin user add sara --role supervisor >/dev/null
"$HAVEN" --db "$NEW" --as admin user add amal --role caseworker --supervisor sara >/dev/null
newfp() { sqlite3 "$NEW" .dump | sha256sum | cut -d' ' -f1; }
fp=$(newfp)
run --db "$NEW" --as sara $N import --format json all.json
expect_rc 65 "a missing assignee refuses the import"
expect_out "^row [0-9]+: case.assignee: no user 'bilal'" "the report names the missing login"
[ "$(newfp)" = "$fp" ] && pass || failt "a refused import changed the database"
"$HAVEN" --db "$NEW" --as admin user add bilal --role caseworker --supervisor sara >/dev/null
# the import reads the file a case at a time, inside one transaction: a file
# that breaks after some cases were read leaves nothing of them behind
fp=$(newfp)
refused() { # FILE ERROR WHAT: the import of FILE exits 65 saying ERROR
    run --db "$NEW" --as sara $N import --format json "$1"
    expect_rc 65 "$3"; expect_err "$2" "$3"
}
head -c $(($(wc -c <all.json) - 60)) all.json >cut.json
refused cut.json "cut.json:[0-9]+:[0-9]+: not valid JSON" "a cut file, where it breaks"
{ cat all.json; echo '{}'; } >tail.json
refused tail.json "tail.json:[0-9]+:[0-9]+: not valid JSON" "text after the export"
printf '{"about": {}, "about": {}, "cases": []}' >twice.json
refused twice.json "twice.json:1:[0-9]+: not valid JSON" "about twice"
printf '{"x": 1, "x": 2}' >twice2.json
refused twice2.json "twice2.json:1:10: not valid JSON" "any key twice, at the second key"
printf '[]' >list.json
refused list.json "not a Haven JSON export" "a list: JSON, but not an export"
printf '{"cases": [], "about": {}}' >late.json
refused late.json "not a Haven JSON export" "cases before about"
sqlite3 :memory: "SELECT json_object('about', json(json_extract(CAST(readfile('all.json') AS TEXT), '\$.about')), 'cases', json_array(1))" >notobj.json
refused notobj.json "a case must be an object" "a case that is not an object"
[ "$(newfp)" = "$fp" ] && pass || failt "a broken import file changed the database"
step "import the histories" --db "$NEW" --as sara $N import --format json all.json
expect_out "imported 3 of 3 rows" "import summary"
# every case file the same, but for the history's sequence numbers (the
# position in the new database's audit chain) and the case_imported entry
# the import adds (when the case arrived here: purge's retention runs from it)
imported_out() { # the case file without its case_imported entries, one key a line
    python3 -c 'import json, sys
d = json.load(sys.stdin)
d["history"] = [h for h in d["history"] if h["kind"] != "case_imported"]
print(json.dumps(d, indent=1, sort_keys=True))'
}
for ref in "$A" "$B" "$C"; do
    who=amal; [ "$ref" = "$C" ] && who=bilal
    "$HAVEN" --as "$who" --now 2026-12-02T09:00:00Z --json show "$ref" | imported_out | grep -v '"seq":' >old.show
    "$HAVEN" --db "$NEW" --as "$who" --now 2026-12-02T09:00:00Z --json show "$ref" >new.json
    imported_out <new.json | grep -v '"seq":' >new.show
    [ -s old.show ] && cmp -s old.show new.show && pass || failt "$ref: case files differ: $(diff old.show new.show | head -20)"
    [ "$(grep -c '"kind": "case_imported"' new.json)" = 1 ] && pass || failt "$ref: no case_imported entry"
done
run --db "$NEW" --as admin audit verify
expect_rc 0 "the new database's audit chain verifies"
run --db "$NEW" --as sara $N import --format json all.json
expect_rc 65 "importing twice is refused"; expect_out "already in this database" "why"
# the imported cases live on: search, the next reference, a step
run --db "$NEW" --as amal $N search Zorblaxia
expect_out "$A" "search finds an imported child"
run --db "$NEW" --as amal $N register child.name=Newchild child.age=6 child.sex=male \
    location=Elsewhere source=school concerns=neglect consent.registration=caregiver
expect_rc 0 "register after import"
[ "$(head -1 "$OUT")" = CP-2026-00004 ] && pass || failt "the next reference follows the imported ones: $(cat "$OUT")"
step "a step on an imported case" --db "$NEW" --as amal --now 2026-12-03T09:00:00Z followup "$A" method=phone_call safety=ok
# a pseudonymous export cannot be imported
run --db "$NEW" --as sara $N import --format json p.json
expect_rc 65 "pseudonymous import refused"; expect_err "pseudonymous" "why"

# ---- CSV import: all or nothing, a report, --skip-bad -----------------------
cat >reg.csv <<'CSV'
# registrations from the school programme (comments are skipped)
child.name,child.age,child.sex,location,source,concerns,consent.registration,family.1.relationship,family.1.name
Alphaimport Kid,10,female,"North, Town",school,"neglect;emotional_distress",caregiver,mother,Ma Kid
Betaimport Kid,abc,male,North/Town,school,neglect,caregiver,,
Gammaimport Kid,7,male,North/Town,school,neglect,caregiver,,
CSV
fp=$(fingerprint)
run --now "$T0" import --format csv reg.csv
expect_rc 65 "a bad row rejects the whole CSV"
expect_out "^row 2: child.age: must be a whole number" "the report names row and field"
expect_err "1 of 3 rows rejected" "one-line error"
no_text "Betaimport" "$OUT" "report without names"; no_text "Betaimport" "$ERR" "error without names"
[ "$(fingerprint)" = "$fp" ] && pass || failt "a rejected CSV changed the database"
step "skip bad" --now "$T0" import --format csv reg.csv --skip-bad
expect_out "imported 2 of 3 rows" "skip-bad summary"
expect_out "^row 2: child.age" "skip-bad still reports"
[ "$(sql "SELECT count(*) FROM cases")" = 5 ] && pass || failt "two rows registered"
run --now "$T0" search Alphaimport
expect_out "Alphaimport" "imported registration found"
run --now "$T0" --json import --format csv reg.csv --skip-bad
[ "$(json_get "$OUT" '$.rejected[0].field')" = child ] && pass || failt "a duplicate is rejected: $(cat "$OUT")"
[ "$(json_get "$OUT" '$.imported')" = 0 ] && pass || failt "nothing new imported"

# ---- malformed and missing files ------------------------------------------------
fp=$(fingerprint)
printf 'child.name,child.age\n"unterminated,3\n' >bad.csv
run import --format csv bad.csv; expect_rc 65 "malformed CSV"; expect_err "bad.csv:[0-9]+: not CSV" "CSV error"
printf '{"about": ' >bad.json
run --as sara import --format json bad.json; expect_rc 65 "malformed JSON"; expect_err "bad.json:1:[0-9]+: not valid JSON" "JSON error"
printf '{"cases": []}' >other.json
run --as sara import --format json other.json; expect_rc 65 "not an export"; expect_err "not a Haven JSON export" "why"
run import --format csv missing.csv; expect_rc 66 "missing file"; expect_err "missing.csv: cannot open" "missing"
run import --format xml reg.csv; expect_rc 64 "bad format"
run export --format csv; expect_rc 64 "csv needs --out"
[ "$(fingerprint)" = "$fp" ] && pass || failt "a failed import changed the database"
# a failed export leaves nothing behind
mkdir ro && chmod 500 ro
run $N export --format json --pseudonymous --out ro/x.json
[ "$RC" -ne 0 ] && pass || [ "$(id -u)" = 0 ] || failt "unwritable destination"
[ -z "$(ls ro | grep tmp)" ] && pass || failt "temporary files left in ro"

# no event of either database holds a canary
sql "SELECT data || coalesce(decision, '') FROM events" >events.txt
sqlite3 "$NEW" "SELECT data || coalesce(decision, '') FROM events" >>events.txt
for w in $CANARIES; do no_text "$w" events.txt "events"; done

finish
