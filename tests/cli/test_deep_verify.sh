#!/bin/sh
# Issue 15, point 7 (the digest half): each event records a keyed digest of
# its case's rows after the change, and `audit verify --deep` recomputes
# every case's digest and names (by reference, never by name) each case
# whose rows no longer match its last event: an assignee edited, a note
# moved to another case, a row deleted, sealed names swapped.  A read
# afterwards never blesses the edit; cases whose last event predates the
# digests are counted as not checked.
. "$(dirname "$0")/lib.sh"

init_db
for i in 1 2 3; do
    run --as amal --now "$T0" register --force child.name="Zqxchild$i" child.age=9 child.sex=male \
        location=Camp source=community concerns=neglect consent.registration=caregiver
done
run --as amal --now 2026-11-29T09:00:00Z note CP-2026-00002 text="Visited the family"
run --as amal --now 2026-11-29T09:30:00Z assess CP-2026-00003 kind=initial safety=ok
run audit verify --deep; expect_rc 0 "untouched rows match"
expect_out 'deep: the rows of 3 cases match their last event' "every case checked"
[ "$(sql "SELECT count(*) FROM events WHERE case_id IS NOT NULL AND length(digest) = 32")" = \
  "$(sql "SELECT count(*) FROM events WHERE case_id IS NOT NULL")" ] && pass || failt "every case event has a digest"

# copy NAME: the database and the files beside it.
copy() {
    cp haven.db "$1.db"
    for s in key audit-key checkpoints; do cp "haven.db.$s" "$1.db.$s"; done
}
# deep_fails NAME WANT WHAT [PLAIN]: plain verify passes (the chain is whole)
# or, given PLAIN (an ERE), fails naming it; --deep fails naming exactly the
# cases WANT (an ERE), and no name.
deep_fails() {
    run --db "$1.db" audit verify
    if [ -n "${4:-}" ]; then
        expect_rc 65 "$3: plain verify"; expect_err "$4" "$3: plain verify names it"
    else
        expect_rc 0 "$3: the chain itself is whole"
    fi
    run --db "$1.db" audit verify --deep
    expect_rc 65 "$3: detected"
    expect_err "the rows of $2 no longer match" "$3: the cases named"
    no_text 'Zqxchild' "$ERR" "$3: no name in the message"
    no_text 'ok:' "$OUT" "$3: never ok"
}

copy assignee
sqlite3 assignee.db "UPDATE cases SET assignee_id = (SELECT id FROM users WHERE login = 'bilal')
    WHERE ref = 'CP-2026-00001'"
deep_fails assignee 'CP-2026-00001' "an assignee edited"

copy moved
sqlite3 moved.db "UPDATE notes SET case_id = (SELECT id FROM cases WHERE ref = 'CP-2026-00001')"
deep_fails moved 'CP-2026-00001, CP-2026-00002' "a note moved to another case"

copy deleted
sqlite3 deleted.db "DELETE FROM tasks WHERE id = (SELECT min(id) FROM tasks WHERE case_id =
    (SELECT id FROM cases WHERE ref = 'CP-2026-00003'))"
deep_fails deleted 'CP-2026-00003' "a row deleted"

copy swapped
sqlite3 swapped.db "CREATE TEMP TABLE n AS SELECT case_id, name FROM persons WHERE role = 'child';
    UPDATE persons SET name = (SELECT name FROM n WHERE n.case_id = 3 - persons.case_id)
    WHERE role = 'child' AND case_id IN (1, 2)"
deep_fails swapped 'CP-2026-00001, CP-2026-00002' "sealed names swapped" \
    'persons.name row 1 \(case CP-2026-00001\); persons.name row 2 \(case CP-2026-00002\)'

# A whole case removed: named by its number, its reference gone with it.
copy removed
sqlite3 removed.db "PRAGMA foreign_keys = OFF; DELETE FROM case_concerns WHERE case_id = 3;
    DELETE FROM cases WHERE id = 3"
deep_fails removed 'case #3' "a case removed"

# A read after the edit (show appends a 'viewed' event) never blesses it.
run --db assignee.db --as bilal show CP-2026-00001; expect_rc 0 "the new assignee reads the case"
run --db assignee.db audit verify --deep; expect_rc 65 "still detected after a read"
expect_err 'CP-2026-00001' "still named"

# A code the engine reasons about, edited in place.
copy risk
sqlite3 risk.db "UPDATE cases SET risk_level = 'low' WHERE ref = 'CP-2026-00002'"
deep_fails risk 'CP-2026-00002' "a risk level edited"

# Cases whose last event was written before the digests are counted, not
# passed over in silence.
sqlite3 old.db < "$SRC/tests/fixtures/schema_v1.sql"
run --db old.db audit verify --deep; expect_rc 0 "an upgraded database verifies deep"
expect_out 'deep: the rows of 0 cases match their last event; 1 case could not be checked' \
    "the case with no digest yet is counted"
run --db old.db --as amal note CP-2026-00001 text="after the upgrade"
run --db old.db audit verify --deep; expect_rc 0 "after its next change"
expect_out 'deep: the rows of 1 case match their last event$' "it is checked"
run --db old.db --json audit verify --deep; cp "$OUT" deep.json
[ "$(json_get deep.json '$.deep.unchecked')" = 0 ] && pass || failt "--json says how many were not checked"

# Without the key, --deep cannot check anything either.
mv haven.db.key away.key
run audit verify --deep; expect_rc 77 "no deep check without the key"
mv away.key haven.db.key
finish
