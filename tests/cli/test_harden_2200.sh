#!/bin/sh
# test_harden_2200.sh - no task falls due after 2200-01-01, the last time
# Haven takes (red-team review after issue 15, point 6): on a simulated
# database, `--now 2199-12-31T00:00:00Z register` made the comprehensive
# assessment due 2200-01-14, and import then refused the export.  Now the
# step is refused (65, naming the task), nothing changed; a case whose
# tasks fall due before 2200 exports and imports as before.
. "$(dirname "$0")/lib.sh"

init_db
before=$(fingerprint)
run --now 2199-12-31T00:00:00Z register child.name=Noor child.age=12 child.sex=female \
    source=school concerns=neglect consent.registration=caregiver location=Riverside
expect_rc 65 "a registration whose tasks would fall due after 2200"
expect_err "the comprehensive_assessment task would fall due after 2200-01-01.*nothing changed" \
    "the refusal names the task"
[ "$(fingerprint)" = "$before" ] && pass || failt "the refused registration changed the database"
[ "$(sql "SELECT count(*) FROM tasks WHERE due_at > 7258118400")" = 0 ] && pass ||
    failt "a task falls due after 2200"

run --now 2199-12-01T00:00:00Z register child.name=Noor child.age=12 child.sex=female \
    source=school concerns=neglect consent.registration=caregiver location=Riverside
expect_rc 0 "a registration a month before 2200"
REF=$(head -1 "$OUT" | cut -d' ' -f1)
run --now 2199-12-02T00:00:00Z assess "$REF" kind=initial safety=ok
expect_rc 0 "its initial assessment"

# the export imports into a fresh database
run --as sara --now 2199-12-03T00:00:00Z export --format json --override migration --out all.json
expect_rc 0 "export"
NEW="$WORK/new.db"
run --db "$NEW" --as admin --now "$T0" init --simulated --agency CP \
    --workflow "$SRC/workflows/iasc.yaml" --rules "$SRC/rules/default"
expect_rc 0 "init the new database"
add_users "$NEW"
run --db "$NEW" --as sara --now 2199-12-03T00:00:00Z import --format json all.json
expect_rc 0 "the import takes the export"
[ "$(sqlite3 "$NEW" "SELECT count(*) FROM cases")" = 1 ] && pass || failt "the case was imported"
"$HAVEN" --db "$NEW" audit verify >/dev/null 2>&1 && pass || failt "the new database verifies"
finish
